import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from candidatures.enums import ProofKind
from preuves import services
from preuves.enums import FichierStatus
from preuves.models import Fichier
from preuves.tasks import fichier_check
from tests.factories import UserFactory
from tests.preuves import samples
from tests.preuves.factories import FichierFactory
from tests.worker import wait_for


@pytest.mark.django_db
def test_fichier_check_task_returns_the_decision():
    fichier = FichierFactory()
    assert fichier_check.delay(str(fichier.pk)).get() == FichierStatus.ACCEPTEE


@pytest.mark.django_db
def test_fichier_check_task_ignores_a_deleted_file():
    fichier = FichierFactory()
    Fichier.objects.filter(pk=fichier.pk).delete()
    assert fichier_check.delay(str(fichier.pk)).get() is None


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_worker_accepts_an_uploaded_png(celery_worker):
    user = UserFactory(salarie=True)
    with transaction.atomic():
        fichier = services.fichier_receive(
            upload=SimpleUploadedFile("capture.png", samples.png_bytes()),
            rule=services.rule_for_kind(ProofKind.VIDEO_CAPTURE),
            editeur=user.editeur,
            actor=user,
        )
    try:
        wait_for(
            lambda: (
                Fichier.objects.filter(pk=fichier.pk)
                .exclude(status=FichierStatus.EN_VERIFICATION)
                .exists()
            )
        )
        fichier.refresh_from_db()
        assert (fichier.status, fichier.detected_mime, fichier.check_attempts) == (
            FichierStatus.ACCEPTEE,
            "image/png",
            1,
        )
    finally:
        # The worker's storage is the project's test folder, shared across runs.
        default_storage.delete(fichier.storage_name)
