"""Two requests or two sweeps at the same instant, on real PostgreSQL connections."""

import threading
from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from candidatures.enums import CandidatureState
from candidatures.models import CandidatureTransition
from candidatures.services import candidature as services
from candidatures.services.sollicitation import sollicitation_open, sollicitations_sweep
from segur_portal.models import Notification
from tests.factories import CampagneFactory, CandidatureFactory, UserFactory, company_user

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks need PostgreSQL, not SQLite"
    ),
]


def _race(*calls):
    """Run the calls in threads released together; return what each returned or raised."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except Exception as error:
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_two_decisions_at_once_one_wins_the_other_is_told():
    candidature = CandidatureFactory(admin_soumise=True)
    first, second = UserFactory(instructeur=True), UserFactory(instructeur=True)
    results = _race(
        lambda: services.candidature_validate_admin(candidature=candidature, actor=first),
        lambda: services.candidature_reject(
            candidature=candidature, actor=second, reason="Dossier incomplet"
        ),
    )
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1
    assert isinstance(errors[0], ValidationError)
    assert "Rechargez la page" in errors[0].messages[0]
    assert CandidatureTransition.objects.filter(candidature=candidature).count() == 1


def test_the_same_submission_twice_at_once_is_recorded_once():
    candidature = CandidatureFactory()
    member = company_user(candidature.editeur)
    results = _race(
        lambda: services.candidature_submit_admin(candidature=candidature, actor=member),
        lambda: services.candidature_submit_admin(candidature=candidature, actor=member),
    )
    assert sum(isinstance(r, ValidationError) for r in results) == 1
    assert CandidatureTransition.objects.filter(candidature=candidature).count() == 1


def test_two_sweeps_at_once_reject_once_and_notify_once():
    campagne = CampagneFactory(
        j1=datetime(2026, 11, 2, 8, tzinfo=UTC),
        j2=datetime(2026, 11, 30, 13, tzinfo=UTC),
        j3=datetime(2027, 1, 29, 22, 59, tzinfo=UTC),
    )
    candidature = CandidatureFactory(admin_soumise=True, campagne=campagne)
    member = company_user(candidature.editeur)
    sollicitation_open(
        candidature=candidature,
        actor=UserFactory(instructeur=True),
        text="Précisez le NIL.",
        now=datetime(2026, 12, 4, 15, 0, tzinfo=UTC),
    )
    due = datetime(2026, 12, 11, 23, 0, tzinfo=UTC)
    results = _race(
        lambda: sollicitations_sweep(now=due),
        lambda: sollicitations_sweep(now=due),
    )
    assert sorted(results) == [0, 1]
    candidature.refresh_from_db()
    assert candidature.state == CandidatureState.REJETEE
    assert candidature.transitions.count() == 1
    assert (
        Notification.objects.filter(
            recipient=member, title__startswith="Candidature rejetée"
        ).count()
        == 1
    )
