"""The data migration that references the liftings a lost race left in « levée soumise »."""

import importlib
from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

from candidatures.enums import CandidatureState
from college.enums import ReserveStatus
from college.models import Attestation
from segur_portal.models import Notification, OutboundEmail
from tests.college.test_services import _stuck

pytestmark = pytest.mark.django_db
S = CandidatureState
MIGRATION = ("college", "0004_repair_stuck_levees")


def _run_migration():
    """The migration's function with the models as they stand at that migration."""
    module = importlib.import_module(f"college.migrations.{MIGRATION[1]}")
    apps = MigrationLoader(connection).project_state(MIGRATION).apps
    module.repair(apps, None)


def test_the_migration_references_the_stuck_liftings_once(django_capture_on_commit_callbacks):
    # One séance a day: three days, three séances.
    day = timedelta(days=1)
    stuck, _decision = _stuck(django_capture_on_commit_callbacks)
    pending, _ = _stuck(
        django_capture_on_commit_callbacks, cnda_pending=True, now=timezone.now() - day
    )
    waiting, decision = _stuck(
        django_capture_on_commit_callbacks, count=2, now=timezone.now() - 2 * day
    )
    decision.reserves.filter(position=2).update(status=ReserveStatus.REPONSE_SOUMISE)
    before = timezone.now()
    _run_migration()
    _run_migration()
    for candidature in (stuck, pending, waiting):
        candidature.refresh_from_db()
    assert (stuck.state, pending.state, waiting.state) == (
        S.REFERENCEE, S.LEVEE_SOUMISE, S.LEVEE_SOUMISE,
    )  # fmt: skip
    attestation = Attestation.objects.get(candidature=stuck)
    assert attestation.numero.endswith("-00001") and not attestation.fichier_id
    assert stuck.closed_at >= before and stuck.closed_reason == "Réserves non bloquantes levées"
    grant = stuck.transitions.get(name="grant_referencing")
    assert (grant.from_state, grant.actor) == (S.LEVEE_SOUMISE, stuck.instructeur)
    members = stuck.editeur.members.filter(is_active=True)
    told = Notification.objects.filter(title__startswith="Réserves levées", recipient__in=members)
    assert told.count() == members.count() > 0
    emails = OutboundEmail.objects.filter(subject__startswith="Réserves levées")
    assert {e.to for e in emails} >= {m.email for m in members}
    assert all(attestation.numero in e.body and e.sent_at is None for e in emails)
