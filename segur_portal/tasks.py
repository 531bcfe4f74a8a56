import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from segur_portal import services
from segur_portal.models import PeriodicRun

logger = logging.getLogger(__name__)


@shared_task(
    acks_late=True,
    autoretry_for=(OSError,),
    retry_backoff=30,
    retry_backoff_max=1800,
    max_retries=services.EMAIL_MAX_ATTEMPTS,
)
def email_deliver(email_id: int) -> bool:
    return services.email_deliver(email_id=email_id)


@shared_task(acks_late=True)
def sweep() -> dict[str, int]:
    """Run every sweeper of settings.SWEEPERS. Each one is idempotent, so a late,
    repeated or concurrent run enforces each deadline once."""
    now = timezone.now()
    run, _ = PeriodicRun.objects.get_or_create(name="sweep")
    PeriodicRun.objects.filter(pk=run.pk).update(last_started_at=now)
    results, errors = {}, []
    for path in settings.SWEEPERS:
        try:
            results[path] = import_string(path)(now=now)
        except Exception as error:
            # One failing sweeper must not stop the clocks of the others.
            logger.exception("sweeper %s failed", path)
            errors.append(f"{path}: {type(error).__name__}: {error}")
    PeriodicRun.objects.filter(pk=run.pk).update(
        last_finished_at=timezone.now(), last_error="\n".join(errors)
    )
    return results
