"""The deadlines that reject or abandon a candidature are applied together (issue 12,
item 1): the queries of a sweep do not grow with the candidatures it ends, it writes
what one deadline at a time writes (states, transition log, journal, notifications,
e-mails, webhooks, public pages), and a batch that fails is applied one at a time."""

import json
import logging
import threading
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from candidatures.enums import CandidatureState, SollicitationPhase, SollicitationStatus
from candidatures.models import Candidature, CandidatureTransition, Sollicitation
from candidatures.services import candidature as candidature_services
from candidatures.services import sollicitation as sollicitation_services
from candidatures.services.sollicitation import due_clocks, sollicitation_open, sollicitations_sweep
from segur_portal.enums import JournalKind, WebhookEvent
from segur_portal.journal import journal_verify
from segur_portal.models import JournalEntry, Notification, OutboundEmail
from segur_portal.models_api import WebhookDelivery, WebhookEndpoint
from tests.candidatures.test_concurrency import _race
from tests.candidatures.test_sollicitations import _campaign
from tests.factories import CandidatureFactory, UserFactory, company_user
from tests.segur_portal import test_sweep_scale as scale

S = CandidatureState
NOW, EXPIRED = scale.NOW, scale.EXPIRED
# An instruction sollicitation opened then has run out its 30 days at NOW.
UNANSWERED_30_DAYS = NOW - timedelta(days=40)
ENDED = {S.REJETEE, S.ABANDONNEE}


@pytest.fixture
def campagne():
    """Jalons far enough that only the sollicitations' own deadlines matter."""
    return _campaign()


def _open(candidature, opened_at) -> Sollicitation:
    """A sollicitation on a company with one member and one endpoint for state changes."""
    member = company_user(candidature.editeur)
    WebhookEndpoint.objects.create(
        editeur=candidature.editeur,
        url="https://recepteur.exemple.fr/segur",
        events=[WebhookEvent.CANDIDATURE_ETAT],
        secret="s" * 64,
        created_by=member,
    )
    return sollicitation_open(
        candidature=candidature,
        actor=UserFactory(instructeur=True),
        text="Précisez le NIL du composant.",
        now=opened_at,
    )


def _in_instruction(campagne) -> Candidature:
    candidature = CandidatureFactory(eligible=True, campagne=campagne)
    Candidature.objects.filter(pk=candidature.pk).update(state=S.EN_INSTRUCTION)
    candidature.refresh_from_db()
    return candidature


def _abandoned(campagne, n: int) -> Sollicitation:
    return _open(_in_instruction(campagne), UNANSWERED_30_DAYS - timedelta(minutes=n))


def _rejected_admin(campagne, n: int) -> Sollicitation:
    candidature = CandidatureFactory(admin_soumise=True, campagne=campagne)
    return _open(candidature, EXPIRED - timedelta(minutes=n))


def _rejected_eligibility(campagne, n: int) -> Sollicitation:
    """Leaves the public lists: its rejection also writes the registry's entry."""
    candidature = CandidatureFactory(eligibilite_soumise=True, campagne=campagne)
    return _open(candidature, EXPIRED - timedelta(minutes=n))


KINDS = [_abandoned, _rejected_admin, _rejected_eligibility]


def _ending(count: int, campagne) -> list[Sollicitation]:
    return [KINDS[n % len(KINDS)](campagne, n) for n in range(count)]


def _sweep_queries(count: int, campagne) -> int:
    due = _ending(count, campagne)
    with CaptureQueriesContext(connection) as queries:
        assert sollicitations_sweep(now=NOW) == count
    assert not Sollicitation.objects.filter(due_clocks(NOW)).exists()
    for sollicitation in due:
        candidature = Candidature.objects.get(pk=sollicitation.candidature_id)
        expected = (
            S.ABANDONNEE if sollicitation.phase == SollicitationPhase.INSTRUCTION else S.REJETEE
        )
        assert candidature.state == expected
        assert candidature.closed_at == NOW
        assert candidature.transitions.get().to_state == expected
        assert WebhookDelivery.objects.filter(endpoint__editeur=candidature.editeur_id).count() == 1
    return len(queries)


@pytest.mark.django_db
def test_the_queries_of_a_sweep_do_not_grow_with_the_candidatures_it_ends(campagne):
    """1 abandon and 1 rejection, then 3 abandons and 6 rejections (3 of them leaving the
    public lists): the same queries."""
    few = _sweep_queries(2, campagne)
    many = _sweep_queries(9, campagne)
    assert few == many
    assert many <= 25


def _second(first: Sollicitation, minutes: int) -> Sollicitation:
    """Another unanswered sollicitation of the same candidature, as old."""
    return Sollicitation.objects.create(
        candidature=first.candidature,
        phase=first.phase,
        opened_by=first.opened_by,
        opened_at=first.opened_at + timedelta(minutes=minutes),
        due_at=first.due_at,
        closes_at=first.closes_at,
    )


def _written(candidature_ids, sollicitation_ids, since: dict) -> dict:
    """What a sweep wrote, without the ids and instants of the writing itself."""
    deliveries = WebhookDelivery.objects.order_by("endpoint_id").values_list(
        "endpoint_id", "event", "body"
    )
    return {
        "candidatures": list(
            Candidature.objects.filter(pk__in=candidature_ids)
            .order_by("pk")
            .values_list("pk", "state", "closed_at", "closed_reason")
        ),
        "sollicitations": list(
            Sollicitation.objects.filter(pk__in=sollicitation_ids)
            .order_by("pk")
            .values_list("pk", "status", "expired_at", "closed_at")
        ),
        "transitions": list(
            CandidatureTransition.objects.filter(candidature__in=candidature_ids)
            .order_by("pk")
            .values_list(
                "candidature_id", "name", "from_state", "to_state", "actor", "at", "reason"
            )
        ),
        "journal": list(
            JournalEntry.objects.filter(seq__gt=since["seq"])
            .order_by("seq")
            .values_list("seq", "kind", "candidature_id", "editeur_id", "actor_id", "at", "data")
        ),
        "notifications": list(
            Notification.objects.filter(pk__gt=since["notification"])
            .order_by("pk")
            .values_list("recipient_id", "title", "body", "url")
        ),
        "emails": list(
            OutboundEmail.objects.filter(pk__gt=since["email"])
            .order_by("pk")
            .values_list("to", "subject", "body", "notification__recipient_id")
        ),
        "webhooks": [
            (endpoint, event, {k: v for k, v in json.loads(body).items() if k != "id"})
            for endpoint, event, body in deliveries
        ],
    }


class _Undo(Exception):
    pass


def _sweep_then_undo(candidature_ids, sollicitation_ids, since, bumps) -> tuple[int, dict, int]:
    """A sweep, what it wrote, and how often it renewed the public pages; then undone."""
    bumps.clear()
    try:
        with transaction.atomic():
            handled = sollicitations_sweep(now=NOW)
            written = _written(candidature_ids, sollicitation_ids, since)
            raise _Undo
    except _Undo:
        pass
    return handled, written, len(bumps)


@pytest.mark.django_db
def test_ending_deadlines_together_write_what_one_at_a_time_writes(monkeypatch, campagne):
    """The same sweep, once together and once one deadline at a time (undone in between):
    the same states, transitions, journal entries, notifications, e-mails and webhooks,
    and the public pages renewed. Among them, a rejected candidature with a second
    unanswered sollicitation (closed with it, not applied again) and an abandoned one
    with a second (expired after it, without moving it again), and two reminders in the
    same batch."""
    due = _ending(6, campagne)
    rejected = next(s for s in due if s.phase == SollicitationPhase.ADMINISTRATIVE)
    abandoned = next(s for s in due if s.phase == SollicitationPhase.INSTRUCTION)
    due += [_second(rejected, 1), _second(abandoned, 1)]
    # In the same batch, two reminders that move nothing.
    due += [scale._sollicitation(scale.HALF_DUE - timedelta(minutes=n), campagne) for n in range(2)]
    candidature_ids = {s.candidature_id for s in due}
    sollicitation_ids = {s.pk for s in due}
    since = {
        "seq": JournalEntry.objects.order_by("-seq").values_list("seq", flat=True).first(),
        "notification": Notification.objects.order_by("-pk").values_list("pk", flat=True)[0],
        "email": OutboundEmail.objects.order_by("-pk").values_list("pk", flat=True)[0],
    }
    bumps = []
    renew = candidature_services.public_pages_changed
    monkeypatch.setattr(
        candidature_services, "public_pages_changed", lambda: bumps.append(1) or renew()
    )

    handled, together, renewed = _sweep_then_undo(candidature_ids, sollicitation_ids, since, bumps)
    assert handled == 9  # the rejected candidature's second sollicitation is closed with it
    assert renewed == 1
    states = {pk: state for pk, state, _at, _reason in together["candidatures"]}
    assert set(states.values()) == ENDED | {S.ADMIN_SOUMISE}
    statuses = {pk: status for pk, status, _e, _c in together["sollicitations"]}
    assert statuses[rejected.pk] == SollicitationStatus.EXPIREE
    assert statuses[due[-4].pk] == SollicitationStatus.CLOSE
    assert statuses[due[-3].pk] == SollicitationStatus.EXPIREE
    assert len(together["transitions"]) == 6
    kinds = [entry[1] for entry in together["journal"]]
    assert kinds.count(JournalKind.TRANSITION) == 6
    assert kinds.count(JournalKind.REGISTRE) == 4  # 2 abandons, 2 eligibility rejections
    assert kinds.count(JournalKind.SOLLICITATION_EXPIREE) == 7
    assert kinds.count(JournalKind.SOLLICITATION_RAPPEL) == 2
    assert len(together["webhooks"]) == 6

    monkeypatch.setattr(
        sollicitation_services, "_sweep_together", sollicitation_services._sweep_one_by_one
    )
    handled, one_at_a_time, renewed = _sweep_then_undo(
        candidature_ids, sollicitation_ids, since, bumps
    )
    assert handled == 9
    assert renewed == 6
    assert one_at_a_time == together


@pytest.mark.django_db
def test_a_batch_of_ending_deadlines_that_fails_is_applied_one_at_a_time(
    monkeypatch, caplog, campagne
):
    due = _ending(3, campagne)
    failing = sollicitation_services._GatheredEffects.write

    def write(self):
        failing(self)
        if self.moves:
            raise RuntimeError("panne au milieu du lot")

    monkeypatch.setattr(sollicitation_services._GatheredEffects, "write", write)
    with caplog.at_level(logging.WARNING):
        assert sollicitations_sweep(now=NOW) == 3
    assert "appliqués un par un" in caplog.text
    # The batch's rows were undone: each deadline is written once, by the fallback.
    for sollicitation in due:
        candidature = Candidature.objects.get(pk=sollicitation.candidature_id)
        assert candidature.state in ENDED
        assert candidature.transitions.count() == 1
        assert WebhookDelivery.objects.filter(endpoint__editeur=candidature.editeur_id).count() == 1
    assert JournalEntry.objects.filter(kind=JournalKind.TRANSITION).count() == 3
    assert journal_verify(check_timestamps=False).ok


@pytest.mark.django_db
def test_a_candidature_moved_before_its_lock_is_read_after_it(monkeypatch, campagne):
    """The sweep read the candidature in its phase; it was withdrawn before the sweep
    locked it: the deadline expires the sollicitation and moves nothing."""
    sollicitation = _rejected_admin(campagne, 0)
    together = sollicitation_services._sweep_together

    def withdrawn_meanwhile(clocks, now):
        Candidature.objects.filter(pk=sollicitation.candidature_id).update(state=S.RETIREE)
        return together(clocks, now)

    monkeypatch.setattr(sollicitation_services, "_sweep_together", withdrawn_meanwhile)
    assert sollicitations_sweep(now=NOW) == 1
    sollicitation.refresh_from_db()
    assert sollicitation.status == SollicitationStatus.EXPIREE
    assert Candidature.objects.get(pk=sollicitation.candidature_id).state == S.RETIREE
    assert not CandidatureTransition.objects.filter(candidature=sollicitation.candidature_id)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_two_sweeps_at_once_end_each_candidature_once(monkeypatch, campagne):
    """Rejections and abandons, one of them with a second unanswered sollicitation, in
    small batches so that the sweeps meet: each candidature moves once, with one log
    row, one webhook and one notice to its company."""
    monkeypatch.setattr(sollicitation_services, "SWEEP_BATCH", 3)
    due = _ending(9, campagne)
    _second(due[1], 1)
    results = _race(lambda: sollicitations_sweep(now=NOW), lambda: sollicitations_sweep(now=NOW))
    assert all(isinstance(result, int) for result in results), results
    assert sum(results) == 9
    assert not Sollicitation.objects.filter(due_clocks(NOW)).exists()
    for sollicitation in due:
        candidature = Candidature.objects.get(pk=sollicitation.candidature_id)
        assert candidature.state in ENDED
        assert candidature.transitions.count() == 1
        assert WebhookDelivery.objects.filter(endpoint__editeur=candidature.editeur_id).count() == 1
        member = candidature.editeur.members.get()
        assert (
            Notification.objects.filter(recipient=member)
            .exclude(title__startswith="L’ANS vous sollicite")
            .count()
            == 1
        )
    assert JournalEntry.objects.filter(kind=JournalKind.TRANSITION).count() == 9
    assert journal_verify(check_timestamps=False).ok


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_a_rejection_leaves_alone_the_sollicitation_another_sweep_holds(campagne):
    """Another sweep holds the candidature's second sollicitation (and would wait for
    the candidature): the rejection does not wait for it, which could deadlock; that
    sweep then expires it without moving the candidature again."""
    first = _rejected_admin(campagne, 0)
    second = _second(first, 1)
    held, release = threading.Event(), threading.Event()

    def other_sweep():
        try:
            with transaction.atomic():
                Sollicitation.objects.select_for_update().get(pk=second.pk)
                held.set()
                release.wait(timeout=5)
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_sweep)
    thread.start()
    try:
        assert held.wait(timeout=5)
        assert sollicitations_sweep(now=NOW) == 1
        second.refresh_from_db()
        # Not waited for: still the other sweep's to apply.
        assert second.status == SollicitationStatus.OUVERTE
    finally:
        release.set()
        thread.join()
    assert sollicitations_sweep(now=NOW) == 1
    second.refresh_from_db()
    assert second.status == SollicitationStatus.EXPIREE
    candidature = Candidature.objects.get(pk=first.candidature_id)
    assert candidature.state == S.REJETEE
    assert candidature.transitions.count() == 1
