from celery import shared_task

from preuves import services
from preuves.models import Fichier


@shared_task(
    acks_late=True,
    autoretry_for=(OSError,),
    retry_backoff=10,
    retry_backoff_max=300,
    max_retries=5,
)
def fichier_check(fichier_id: str) -> str | None:
    try:
        return services.fichier_check(fichier_id=fichier_id).status
    except Fichier.DoesNotExist:
        # Deleted by its owner before a worker got to it: nothing left to check.
        return None


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=10, max_retries=5)
def dossier_receipt_render(soumission_id: int) -> str | None:
    from preuves.receipts import receipt_render

    fichier = receipt_render(soumission_id=soumission_id)
    return str(fichier.pk) if fichier else None
