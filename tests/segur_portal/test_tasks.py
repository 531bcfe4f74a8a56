"""Tasks on a real Celery worker process, over the real Redis broker."""

import pytest
from django.conf import settings
from django.db import transaction

from college.models import Seance
from segur_portal import services
from segur_portal.models import OutboundEmail, PeriodicRun
from segur_portal.tasks import sweep
from tests.factories import UserFactory
from tests.worker import wait_for

pytestmark = pytest.mark.worker


def test_notification_email_is_sent_by_the_worker(celery_worker):
    user = UserFactory(email="destinataire@exemple.fr")
    with transaction.atomic():
        services.notification_send(
            recipients=[user], title="Éligibilité validée", body="Votre espace de dépôt est ouvert."
        )
    email = OutboundEmail.objects.get()
    wait_for(lambda: OutboundEmail.objects.filter(pk=email.pk, sent_at__isnull=False).exists())
    (mail_file,) = list(celery_worker.mail_dir.iterdir())
    content = mail_file.read_text()
    assert "To: destinataire@exemple.fr" in content
    assert "Votre espace de d" in content


def test_sweep_runs_on_the_worker(celery_worker):
    # Tasks keep no result (no result backend): the sweep's trace is its PeriodicRun row.
    sweep.delay()
    run = wait_for(
        lambda: PeriodicRun.objects.filter(name="sweep", last_finished_at__isnull=False).first()
    )
    assert run.last_error == ""
    # On an empty database only the collège's séances are to be planned.
    assert Seance.objects.count() == settings.COLLEGE_WEEKS_AHEAD
