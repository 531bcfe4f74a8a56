"""Sweep: queue again the documents whose task never ran.

A service queues a document's rendering after its commit, once (`on_commit(...,
robust=True)`): with the broker down, the event is saved and the task is not. The
e-mails (segur_portal.services.emails_requeue) and the file checks
(preuves.services.fichier_requeue_stale) have their own sweeper; the documents are found
here by what they lack. Each task is idempotent, so one queued twice does its work once.
"""

import logging
from datetime import datetime, timedelta

from django.db import transaction
from kombu.exceptions import OperationalError

from candidatures.enums import CandidatureState
from candidatures.models import Candidature
from college import tasks as college_tasks
from college.enums import SeanceStatus
from college.models import Attestation, Seance
from preuves import tasks as preuves_tasks
from preuves.models import DossierSoumission
from segur_portal.models import PeriodicRun

logger = logging.getLogger(__name__)

# Left to the task queued by the service first; then queued again at most this often, so a
# document whose rendering fails for good costs one attempt per period, not per minute.
DOCUMENT_REQUEUE_AFTER = timedelta(minutes=10)


def _due(now: datetime) -> bool:
    """Whether this sweeper's period has passed; one concurrent sweep wins the period."""
    run, _ = PeriodicRun.objects.get_or_create(name="documents_requeue")
    with transaction.atomic():
        locked = PeriodicRun.objects.select_for_update().get(pk=run.pk)
        if locked.last_started_at and now - locked.last_started_at < DOCUMENT_REQUEUE_AFTER:
            return False
        locked.last_started_at = now
        locked.save(update_fields=["last_started_at"])
    return True


def documents_requeue(*, now: datetime) -> int:
    if not _due(now):
        return 0
    before = now - DOCUMENT_REQUEUE_AFTER
    queued = []
    conventions = Candidature.objects.filter(
        state=CandidatureState.PREUVES_VALIDEES,
        conventions__isnull=True,
        instruction_closed_at__lt=before,
        instructeur__isnull=False,
    ).values_list("pk", "instructeur_id")
    for pk, instructeur_id in conventions:
        queued.append((college_tasks.convention_issue, (pk, instructeur_id)))
    receipts = DossierSoumission.objects.filter(receipt__isnull=True, submitted_at__lt=before)
    for pk in receipts.values_list("pk", flat=True):
        queued.append((preuves_tasks.dossier_receipt_render, (pk,)))
    minutes = Seance.objects.filter(
        status=SeanceStatus.CLOSE, minutes__isnull=True, closed_at__lt=before
    )
    for pk in minutes.values_list("pk", flat=True):
        queued.append((college_tasks.seance_minutes_render, (pk,)))
    attestations = Attestation.objects.filter(fichier__isnull=True, issued_at__lt=before)
    for pk in attestations.values_list("pk", flat=True):
        queued.append((college_tasks.attestation_render, (pk,)))
    for task, args in queued:
        logger.info("%s%s queued again by the sweep", task.name, args)
        try:
            task.delay(*args)
        except OperationalError:
            # The broker is down: everything waits for the next period.
            raise
        except Exception:
            # The embedded portal runs the task right here: one document that fails to
            # render must not keep the others from being made.
            logger.exception("%s%s failed", task.name, args)
    return len(queued)
