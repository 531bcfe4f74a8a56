"""The sweep costs what is due, not what is open (issue 12, item 1).

Each sweeper of settings.SWEEPERS runs a fixed number of queries, at most 10, whether
2 or 8 clocks of its kind are open and none due; the sollicitations' sweep runs the
same number of queries for the same clocks due among 3 or 12 open. Two sweeps at once
on PostgreSQL apply each clock once.
"""

import logging
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.module_loading import import_string

from candidatures.enums import CandidatureState, SollicitationStatus
from candidatures.models import Candidature, Sollicitation
from candidatures.services import sollicitation as sollicitation_services
from candidatures.services.sollicitation import due_clocks, sollicitation_open, sollicitations_sweep
from college.enums import DecisionKind, ReserveStatus
from college.models import Decision, Inscription, Reserve, Seance
from preuves.models import VisiteConformite
from preuves.services import _orphan_shard
from segur_portal.enums import JournalKind
from segur_portal.models import JournalEntry, Notification, OutboundEmail
from tests.candidatures.test_concurrency import _race
from tests.factories import CampagneFactory, CandidatureFactory, UserFactory, company_user
from tests.preuves.factories import FichierFactory

S = CandidatureState
MAX_QUERIES = 10
# Monday 7 December 2026, 11:00 in Paris. A sollicitation opened on Thursday 3 December
# at 16:00 (Paris) is due on Thursday 10 December (5 working days): its half-time
# reminder is due now, its last-day reminder is not; one opened a week before that has
# expired.
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
HALF_DUE = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
EXPIRED = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)


@pytest.fixture
def campagne():
    """Jalons far enough that only the 5-working-day clock matters."""
    return CampagneFactory(
        j1=datetime(2026, 11, 2, 8, tzinfo=UTC),
        j2=datetime(2026, 11, 30, 13, tzinfo=UTC),
        j3=datetime(2027, 1, 29, 22, 59, tzinfo=UTC),
    )


def _queries(path: str, now) -> int:
    with CaptureQueriesContext(connection) as queries:
        import_string(path)(now=now)
    return len(queries)


def _sollicitation(opened_at, campagne):
    """An administrative sollicitation opened at `opened_at`, on a company with one member."""
    candidature = CandidatureFactory(admin_soumise=True, campagne=campagne)
    company_user(candidature.editeur)
    return sollicitation_open(
        candidature=candidature,
        actor=UserFactory(instructeur=True),
        text="Précisez le NIL du composant.",
        now=opened_at,
    )


def _open_clocks(count: int, now, campagne) -> None:
    """`count` open clocks of every sweeper's kind, none of them due at `now`."""
    instructeur = UserFactory(instructeur=True)
    for _ in range(count):
        _sollicitation(now - timedelta(minutes=1), campagne)
        CandidatureFactory()  # a draft before J2
        CandidatureFactory(eligible=True)  # eligible before J6
        OutboundEmail.objects.create(to="x@exemple.fr", subject="Objet", body="Texte")
        FichierFactory(content=b"%PDF-1.4")  # its check queued just now
        visited = CandidatureFactory(eligible=True, state=S.EN_INSTRUCTION)
        VisiteConformite.objects.create(
            candidature=visited,
            scheduled_for=now + timedelta(days=10),
            scheduled_by=instructeur,
            recording_due_at=now + timedelta(days=14),
        )
        for state, reserve_status in [
            (S.RESERVES_NON_BLOQUANTES, ReserveStatus.A_LEVER),
            (S.LEVEE_SOUMISE, ReserveStatus.REPONSE_SOUMISE),
        ]:
            _decision(CandidatureFactory(eligible=True, state=state), reserve_status, now)
    # Stored objects with their rows in the shard the storage sweep lists at `now`.
    shard = _orphan_shard(now)
    for index in range(count):
        fichier = FichierFactory(content=b"%PDF-1.4")
        name = f"fichiers/{shard}/{index:02x}/{fichier.pk.hex}"
        default_storage.save(name, ContentFile(b"%PDF-1.4"))
        type(fichier).objects.filter(pk=fichier.pk).update(storage_name=name)


def _decision(candidature, reserve_status, now) -> Decision:
    seance, _ = Seance.objects.get_or_create(
        date=timezone.localdate(now) - timedelta(days=1),
        defaults={"starts_at": now - timedelta(days=1), "status": "close"},
    )
    inscription = Inscription.objects.create(
        seance=seance, candidature=candidature, signed_at=now - timedelta(days=5)
    )
    decision = Decision.objects.create(
        inscription=inscription,
        kind=DecisionKind.RESERVES_NON_BLOQUANTES,
        text="Réserves.",
        recorded_by=UserFactory(college=True),
        notified_at=now - timedelta(days=1),
        reserves_due_at=now + timedelta(days=27),
    )
    Reserve.objects.create(decision=decision, position=1, text="À lever", status=reserve_status)
    return decision


@pytest.mark.django_db
def test_each_sweeper_with_nothing_due_runs_the_same_few_queries_however_many_are_open(
    media_root,
):
    now = timezone.now()
    campagne = CampagneFactory()
    _open_clocks(2, now, campagne)
    for path in settings.SWEEPERS:
        import_string(path)(now=now)  # a first run does what a first run does (séances)
    few = {path: _queries(path, now + timedelta(seconds=1)) for path in settings.SWEEPERS}
    _open_clocks(6, now, campagne)
    many = {path: _queries(path, now + timedelta(seconds=2)) for path in settings.SWEEPERS}
    assert few == many
    assert max(many.values()) <= MAX_QUERIES, many


@pytest.mark.django_db
def test_due_clocks_are_only_those_due(campagne):
    due = [_sollicitation(HALF_DUE - timedelta(hours=n), campagne) for n in range(2)]
    due.append(_sollicitation(EXPIRED, campagne))
    _sollicitation(NOW - timedelta(minutes=5), campagne)
    assert set(Sollicitation.objects.filter(due_clocks(NOW))) == set(due)
    # The sweep reads them through one UNION of the partial indexes, in id order.
    ids = sorted(s.pk for s in due)
    assert sollicitation_services._next_ids(sollicitation_services.due_arms(NOW), 0) == ids
    assert sollicitation_services._next_ids(sollicitation_services.due_arms(NOW), ids[0]) == ids[1:]


@pytest.mark.django_db
def test_the_sollicitations_sweep_costs_what_is_due_not_what_is_open(campagne):
    """Two reminders due among 3, then among 12 open clocks: the same queries."""

    def run(open_count):
        due = [_sollicitation(HALF_DUE - timedelta(hours=n), campagne) for n in range(2)]
        for _ in range(open_count):
            _sollicitation(NOW - timedelta(minutes=1), campagne)
        with CaptureQueriesContext(connection) as queries:
            assert sollicitations_sweep(now=NOW) == 2
        for sollicitation in due:
            sollicitation.refresh_from_db()
            assert sollicitation.reminder_half_sent_at == NOW
        return len(queries)

    assert run(1) == run(10)


@pytest.mark.django_db
def test_a_clock_stores_its_instants_and_an_open_row_cannot_lack_them(campagne):
    sollicitation = _sollicitation(HALF_DUE, campagne)
    stored = {name: getattr(sollicitation, name) for name in sollicitation.clock_instants()}
    assert stored == sollicitation.clock_instants()
    # Half-time on Monday 7 December; the last day, Thursday 10 December from 00:00 Paris.
    assert stored["reminder_half_at"] == HALF_DUE + (sollicitation.due_at - HALF_DUE) / 2
    assert stored["reminder_last_at"] == datetime(2026, 12, 9, 23, 0, tzinfo=UTC)
    with pytest.raises(IntegrityError, match="sollicitation_open_has_clock"):
        Sollicitation.objects.filter(pk=sollicitation.pk).update(reminder_half_at=None)


@pytest.mark.django_db
def test_an_expiry_in_a_batch_leaves_the_other_clocks_of_its_candidature_alone(caplog, campagne):
    """Two expired clocks of one candidature in the same batch: the first rejects it and
    closes the second, which the batch then skips instead of rejecting it again."""
    first = _sollicitation(EXPIRED, campagne)
    candidature = first.candidature
    second = Sollicitation.objects.create(
        candidature=candidature,
        phase=first.phase,
        opened_by=first.opened_by,
        opened_at=first.opened_at + timedelta(minutes=1),
        due_at=first.due_at,
        closes_at=first.closes_at,
    )
    with caplog.at_level(logging.ERROR):
        sollicitations_sweep(now=NOW)
    candidature.refresh_from_db()
    second.refresh_from_db()
    assert candidature.state == S.REJETEE
    assert candidature.transitions.filter(to_state=S.REJETEE).count() == 1
    assert second.status == SollicitationStatus.CLOSE
    assert not caplog.records


@pytest.mark.django_db
def test_a_clock_that_fails_stays_due_and_the_others_are_applied(monkeypatch, caplog, campagne):
    failing, _other = (_sollicitation(HALF_DUE - timedelta(hours=n), campagne) for n in range(2))
    apply = sollicitation_services._sweep_one

    def sweep_one(sollicitation, now):
        if sollicitation.pk == failing.pk:
            raise RuntimeError("panne")
        return apply(sollicitation, now)

    monkeypatch.setattr(sollicitation_services, "_sweep_one", sweep_one)
    with caplog.at_level(logging.ERROR):
        assert sollicitations_sweep(now=NOW) == 1
    assert f"sollicitation {failing.pk}" in caplog.text
    assert list(Sollicitation.objects.filter(due_clocks(NOW))) == [failing]


@pytest.mark.django_db
def test_the_sweep_goes_through_batches(monkeypatch, campagne):
    monkeypatch.setattr(sollicitation_services, "SWEEP_BATCH", 2)
    due = [_sollicitation(HALF_DUE - timedelta(hours=n % 3), campagne) for n in range(5)]
    assert sollicitations_sweep(now=NOW) == 5
    assert not Sollicitation.objects.filter(due_clocks(NOW)).exists()
    assert {s.pk for s in due} == set(
        JournalEntry.objects.filter(kind=JournalKind.SOLLICITATION_RAPPEL).values_list(
            "data__sollicitation", flat=True
        )
    )


@pytest.mark.django_db
def test_the_sweep_closes_ended_exchanges_in_batches(monkeypatch, campagne):
    """Answered exchanges past their jalon or whose candidature left the phase, more
    than a batch of them: each closed once, the exchanges still running left alone."""
    monkeypatch.setattr(sollicitation_services, "SWEEP_BATCH", 2)
    answered = []
    for _ in range(7):
        sollicitation = _sollicitation(NOW - timedelta(hours=2), campagne)
        sollicitation_services.sollicitation_answer(
            sollicitation=sollicitation,
            actor=sollicitation.candidature.editeur.members.get(),
            text="Le NIL est 4242.",
            now=NOW - timedelta(hours=1),
        )
        answered.append(sollicitation)
    past_jalon, left_phase, running = answered[:3], answered[3:5], answered[5:]
    Sollicitation.objects.filter(pk__in=[s.pk for s in past_jalon]).update(
        closes_at=NOW - timedelta(minutes=30)
    )
    Candidature.objects.filter(pk__in=[s.candidature_id for s in left_phase]).update(
        state=S.ELIGIBILITE_SOUMISE
    )
    assert sollicitations_sweep(now=NOW) == 5
    assert sollicitations_sweep(now=NOW) == 0
    closed = Sollicitation.objects.filter(status=SollicitationStatus.CLOSE)
    assert {s.pk for s in closed} == {s.pk for s in past_jalon + left_phase}
    assert all(s.closed_at == NOW - timedelta(minutes=30) for s in closed if s in past_jalon)
    assert sorted(
        JournalEntry.objects.filter(kind=JournalKind.SOLLICITATION_CLOSE).values_list(
            "data__sollicitation", flat=True
        )
    ) == sorted(s.pk for s in past_jalon + left_phase)
    assert not closed.filter(pk__in=[s.pk for s in running]).exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_two_sweeps_at_once_apply_each_clock_exactly_once(monkeypatch, campagne):
    """Twelve reminders and two expiries due, small batches so that the sweeps meet."""
    monkeypatch.setattr(sollicitation_services, "SWEEP_BATCH", 3)
    reminded = [_sollicitation(HALF_DUE - timedelta(hours=n % 5), campagne) for n in range(12)]
    expired = [_sollicitation(EXPIRED - timedelta(hours=n), campagne) for n in range(2)]
    results = _race(lambda: sollicitations_sweep(now=NOW), lambda: sollicitations_sweep(now=NOW))
    assert all(isinstance(result, int) for result in results), results
    assert sum(results) == 14
    reminders = list(
        JournalEntry.objects.filter(kind=JournalKind.SOLLICITATION_RAPPEL).values_list(
            "data__sollicitation", flat=True
        )
    )
    assert sorted(reminders) == sorted(s.pk for s in reminded)
    for sollicitation in expired:
        candidature = Candidature.objects.get(pk=sollicitation.candidature_id)
        assert candidature.state == S.REJETEE
        assert candidature.transitions.count() == 1
        member = candidature.editeur.members.get()
        assert (
            Notification.objects.filter(
                recipient=member, title__startswith="Candidature rejetée"
            ).count()
            == 1
        )
    for sollicitation in reminded:
        member = sollicitation.candidature.editeur.members.get()
        assert (
            Notification.objects.filter(recipient=member, title__startswith="Rappel").count() == 1
        )


@pytest.mark.django_db(transaction=True)
def test_the_migration_stores_the_instants_of_the_clocks_already_running(campagne):
    """Sollicitations opened before migration 0011 get their instants, as the model
    computes them, so that the sweep finds them."""
    from django.db.migrations.executor import MigrationExecutor

    before = [("candidatures", "0010_candidature_assignment")]
    after = [("candidatures", "0011_sollicitation_clock_instants")]
    sollicitation = _sollicitation(HALF_DUE, campagne)
    expected = sollicitation.clock_instants()
    executor = MigrationExecutor(connection)
    try:
        executor.migrate(before)
        executor = MigrationExecutor(connection)
        executor.migrate(after)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    sollicitation.refresh_from_db()
    assert {name: getattr(sollicitation, name) for name in expected} == expected
    assert list(Sollicitation.objects.filter(due_clocks(NOW))) == [sollicitation]
