"""The documents a service queued while the broker was down are made by the sweep."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from candidatures.models import CandidatureTransition
from college.enums import SeanceStatus
from college.models import Attestation, Seance
from preuves.models import DossierSoumission
from segur_portal.requeue import DOCUMENT_REQUEUE_AFTER, documents_requeue
from tests.college.phase3 import validated_candidature
from tests.factories import UserFactory, company_user

pytestmark = pytest.mark.django_db


def _missing_documents(at):
    """A convention, a receipt, minutes and an attestation whose task never ran."""
    candidature = validated_candidature()
    candidature.__class__.objects.filter(pk=candidature.pk).update(instruction_closed_at=at)
    CandidatureTransition.objects.create(
        candidature=candidature, name="close_instruction", from_state="en_instruction",
        to_state="preuves_validees", actor=candidature.instructeur, at=at,
    )  # fmt: skip
    soumission = DossierSoumission.objects.create(
        candidature=candidature,
        submitted_by=company_user(candidature.editeur),
        submitted_at=at,
        manifest=[],
    )
    seance = Seance.objects.create(
        date=timezone.localdate(at), starts_at=at, status=SeanceStatus.CLOSE, closed_at=at,
        closed_by=UserFactory(college=True),
    )  # fmt: skip
    attestation = Attestation.objects.create(
        candidature=candidature, numero="SEGUR-T-2026-00001", referenced_on=date.today(),
        issued_at=at,
    )  # fmt: skip
    return candidature, soumission, seance, attestation


def test_the_sweep_makes_the_documents_whose_task_never_ran():
    now = timezone.now()
    candidature, soumission, seance, attestation = _missing_documents(
        now - DOCUMENT_REQUEUE_AFTER - timedelta(minutes=1)
    )

    assert documents_requeue(now=now) == 4

    assert candidature.conventions.count() == 1
    soumission.refresh_from_db()
    seance.refresh_from_db()
    attestation.refresh_from_db()
    assert soumission.receipt_id and seance.minutes_id and attestation.fichier_id
    # Nothing is left to make, and the next run within the period does not look.
    assert documents_requeue(now=now + DOCUMENT_REQUEUE_AFTER) == 0


def test_the_sweep_leaves_a_recent_document_to_the_task_queued_by_its_service():
    now = timezone.now()
    candidature, soumission, seance, attestation = _missing_documents(now - timedelta(minutes=2))

    assert documents_requeue(now=now) == 0
    assert not candidature.conventions.exists()
    soumission.refresh_from_db()
    assert soumission.receipt_id is None


def test_a_document_that_fails_is_tried_again_once_a_period_and_spares_the_others():
    now = timezone.now()
    _, soumission, _, attestation = _missing_documents(
        now - DOCUMENT_REQUEUE_AFTER - timedelta(minutes=1)
    )
    # A manifest entry without its size: the receipt cannot be rendered.
    DossierSoumission.objects.filter(pk=soumission.pk).update(manifest=[{"fichier": "x"}])

    assert documents_requeue(now=now) == 4
    attestation.refresh_from_db()
    soumission.refresh_from_db()
    assert soumission.receipt_id is None
    assert attestation.fichier_id is not None
    assert documents_requeue(now=now + timedelta(minutes=1)) == 0
    assert documents_requeue(now=now + DOCUMENT_REQUEUE_AFTER) == 1
