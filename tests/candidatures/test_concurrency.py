"""Two requests or two sweeps at the same instant, on real PostgreSQL connections."""

import threading
from datetime import UTC, date, datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from candidatures.enums import CandidatureState
from candidatures.models import Candidature, CandidatureTransition, CguAcceptance
from candidatures.services import candidature as services
from candidatures.services.onboarding import current_cgu
from candidatures.services.sollicitation import sollicitation_open, sollicitations_sweep
from segur_portal.models import Notification
from tests.factories import (
    CampagneFactory,
    CandidatureFactory,
    EditeurFactory,
    RemVersionFactory,
    UserFactory,
    company_user,
)

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


def test_two_candidatures_for_one_version_at_once_one_is_created():
    campagne = CampagneFactory()
    RemVersionFactory(dsr=campagne.dsr)
    first = company_user(EditeurFactory())
    second = company_user(first.editeur)
    for member in (first, second):
        CguAcceptance.objects.create(user=member, cgu=current_cgu())
    data = {
        "nom_commercial": "MédiLog",
        "version_technique": "4.2.1",
        "date_depot_preuves_prevue": date(2027, 3, 1),
    }
    results = _race(
        lambda: services.candidature_create(actor=first, campagne=campagne, data=data),
        lambda: services.candidature_create(
            actor=second, campagne=campagne, data=data | {"version_technique": "4.2.1 "}
        ),
    )
    assert sum(isinstance(r, services.VersionTaken) for r in results) == 1, results
    assert Candidature.objects.filter(campagne=campagne).count() == 1


def test_renaming_a_draft_while_another_is_created_leaves_one_per_version():
    draft = CandidatureFactory(version_technique="1.0")
    RemVersionFactory(dsr=draft.campagne.dsr)
    member = company_user(draft.editeur)
    CguAcceptance.objects.create(user=member, cgu=current_cgu())
    results = _race(
        lambda: services.candidature_update_admin(
            candidature=draft, actor=member, data={"version_technique": "2.0"}
        ),
        lambda: services.candidature_create(
            actor=member,
            campagne=draft.campagne,
            data={"nom_commercial": "MédiLog", "version_technique": "2.0"},
        ),
    )
    assert sum(isinstance(r, services.VersionTaken) for r in results) == 1, results
    versions = list(
        Candidature.objects.filter(campagne=draft.campagne).values_list(
            "version_technique", flat=True
        )
    )
    assert versions.count("2.0") == 1
