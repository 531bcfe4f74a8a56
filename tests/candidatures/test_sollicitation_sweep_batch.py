"""The sweep applies the clocks of a batch together (issue 12, item 1): its queries do
not grow with the clocks due, it writes the same rows as one clock at a time, and a
batch that fails is applied one clock at a time."""

import logging
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from candidatures.models import Sollicitation
from candidatures.services import sollicitation as sollicitation_services
from candidatures.services.sollicitation import due_clocks, sollicitations_sweep
from segur_portal.enums import JournalKind
from segur_portal.journal import journal_append, journal_append_many, journal_verify
from segur_portal.models import JournalEntry, Notification, OutboundEmail
from tests.segur_portal import test_sweep_scale as scale

NOW, HALF_DUE = scale.NOW, scale.HALF_DUE
# The jalons of the scale tests: only the 5-working-day clock matters.
campagne = scale.campagne


def _due(count: int, campagne) -> list[Sollicitation]:
    """`count` half-time reminders due at NOW, each on a company with one member and
    two declared contacts."""
    return [scale._sollicitation(HALF_DUE - timedelta(minutes=n), campagne) for n in range(count)]


def _sweep_queries(count: int, campagne) -> int:
    due = _due(count, campagne)
    with CaptureQueriesContext(connection) as queries:
        assert sollicitations_sweep(now=NOW) == count
    assert not Sollicitation.objects.filter(due_clocks(NOW)).exists()
    assert (
        JournalEntry.objects.filter(
            kind=JournalKind.SOLLICITATION_RAPPEL, candidature__in=[s.candidature for s in due]
        ).count()
        == count
    )
    for sollicitation in due:
        sollicitation.refresh_from_db()
        assert sollicitation.reminder_half_sent_at == NOW
    return len(queries)


@pytest.mark.django_db
def test_the_queries_of_a_sweep_do_not_grow_with_the_clocks_due(campagne):
    few = _sweep_queries(2, campagne)
    many = _sweep_queries(9, campagne)
    assert few == many
    assert many <= 20


@pytest.mark.django_db
def test_a_batch_writes_what_one_clock_at_a_time_writes(monkeypatch, campagne):
    """The same sweep, once together and once forced one clock at a time: the same
    notifications, e-mails and journal entries, and a chain that verifies."""

    def written():
        notifications = list(
            Notification.objects.order_by("pk").values_list("recipient_id", "title", "body", "url")
        )
        emails = list(OutboundEmail.objects.order_by("pk").values_list("to", "subject", "body"))
        entries = list(
            JournalEntry.objects.filter(kind=JournalKind.SOLLICITATION_RAPPEL)
            .order_by("seq")
            .values_list("kind", "candidature_id", "editeur_id", "actor_id", "at", "data")
        )
        return notifications, emails, entries

    due = _due(3, campagne)
    Notification.objects.all().delete()
    OutboundEmail.objects.all().delete()
    sollicitations_sweep(now=NOW)
    together = written()
    assert len(together[0]) == 3  # one member per company
    assert len(together[1]) == 9  # the member, the contact and the representative

    Sollicitation.objects.filter(pk__in=[s.pk for s in due]).update(reminder_half_sent_at=None)
    Notification.objects.all().delete()
    OutboundEmail.objects.all().delete()

    def one_at_a_time(clocks, now):
        return sum(sollicitation_services._sweep_guarded(s, now) for s in clocks)

    monkeypatch.setattr(sollicitation_services, "_sweep_together", one_at_a_time)
    assert sollicitations_sweep(now=NOW) == 3
    notifications, emails, entries = written()
    assert notifications == together[0]
    assert emails == together[1]
    assert entries == together[2] * 2
    assert journal_verify(check_timestamps=False).ok


@pytest.mark.django_db
def test_a_batch_that_fails_to_write_is_applied_one_clock_at_a_time(monkeypatch, caplog, campagne):
    due = _due(3, campagne)
    failing = sollicitation_services._GatheredEffects.write

    def write(self):
        failing(self)
        raise RuntimeError("panne au milieu du lot")

    monkeypatch.setattr(sollicitation_services._GatheredEffects, "write", write)
    with caplog.at_level(logging.WARNING):
        assert sollicitations_sweep(now=NOW) == 3
    assert "appliqués un par un" in caplog.text
    # The batch's rows were undone: each clock is written once, by the fallback.
    assert JournalEntry.objects.filter(kind=JournalKind.SOLLICITATION_RAPPEL).count() == 3
    assert Notification.objects.filter(title__startswith="Rappel").count() == 3
    for sollicitation in due:
        sollicitation.refresh_from_db()
        assert sollicitation.reminder_half_sent_at == NOW
    assert journal_verify(check_timestamps=False).ok


@pytest.mark.django_db
def test_journal_append_many_chains_as_one_at_a_time():
    first = journal_append(kind=JournalKind.COMPTE, data={"n": 0})
    entries = journal_append_many(
        [{"kind": JournalKind.COMPTE, "data": {"n": n}} for n in range(1, 4)]
    )
    assert [entry.seq for entry in entries] == [first.seq + n for n in range(1, 4)]
    assert [entry.prev_hash for entry in entries] == [first.hash] + [e.hash for e in entries[:-1]]
    after = journal_append(kind=JournalKind.COMPTE, data={"n": 4})
    assert after.prev_hash == entries[-1].hash
    assert journal_append_many([]) == []
    assert journal_verify(check_timestamps=False).ok


@pytest.mark.django_db
def test_journal_append_many_refuses_data_the_database_would_not_keep():
    before = JournalEntry.objects.count()
    with pytest.raises(TypeError):
        journal_append_many(
            [
                {"kind": JournalKind.COMPTE, "data": {"n": 1}},
                {"kind": JournalKind.COMPTE, "data": {"objet": object()}},
            ]
        )
    assert JournalEntry.objects.count() == before


@pytest.mark.django_db
def test_the_sweep_reads_the_due_ids_several_batches_at_a_time(monkeypatch, campagne):
    """Batches of 2 read 4 ids at a time: 9 clocks due are read in 3 queries (4, 4, 1),
    then the answered exchanges in one, and applied in 5 batches."""
    monkeypatch.setattr(sollicitation_services, "SWEEP_BATCH", 2)
    monkeypatch.setattr(sollicitation_services, "SWEEP_READ_BATCHES", 2)
    due = _due(9, campagne)
    with CaptureQueriesContext(connection) as queries:
        assert sollicitations_sweep(now=NOW) == 9
    sql = [query["sql"] for query in queries]
    assert len([s for s in sql if s.startswith("(SELECT")]) == 4
    assert len([s for s in sql if "SKIP LOCKED" in s]) == 5
    assert not Sollicitation.objects.filter(due_clocks(NOW)).exists()
    for sollicitation in due:
        sollicitation.refresh_from_db()
        assert sollicitation.reminder_half_sent_at == NOW
