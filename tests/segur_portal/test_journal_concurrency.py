"""Appends from many connections at once never fork the chain (real PostgreSQL)."""

import threading

import pytest
from django.db import connection, connections, transaction

from segur_portal.enums import JournalKind
from segur_portal.journal import journal_append, journal_close_day, journal_verify
from segur_portal.models import JournalEntry

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks need PostgreSQL, not SQLite"
    ),
]

THREADS = 8
APPENDS = 15


def _in_threads(work):
    barrier = threading.Barrier(THREADS)
    errors = []

    def run(index):
        try:
            barrier.wait()
            work(index)
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def test_concurrent_appends_make_one_unbroken_chain():
    def work(index):
        for n in range(APPENDS):
            # Each in a transaction of its own that does a little more after the append,
            # as a service does.
            with transaction.atomic():
                journal_append(kind=JournalKind.COMPTE, data={"thread": index, "n": n})
                JournalEntry.objects.count()

    assert _in_threads(work) == []
    entries = list(JournalEntry.objects.order_by("seq").values("seq", "prev_hash", "hash", "data"))
    assert [e["seq"] for e in entries] == list(range(1, THREADS * APPENDS + 1))
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(entries, entries[1:], strict=False))
    assert len({e["prev_hash"] for e in entries}) == len(entries)
    per_thread = {
        i: [e["data"]["n"] for e in entries if e["data"]["thread"] == i] for i in range(THREADS)
    }
    assert all(values == list(range(APPENDS)) for values in per_thread.values())
    assert journal_verify().ok


def test_a_day_closed_while_others_append_keeps_every_entry_in_one_day():
    from datetime import timedelta

    from django.utils import timezone

    journal_append(kind=JournalKind.COMPTE)

    def work(index):
        if index == 0:
            journal_close_day(now=timezone.now() + timedelta(days=1))
        else:
            for _ in range(5):
                journal_append(kind=JournalKind.COMPTE, data={"thread": index})

    assert _in_threads(work) == []
    check = journal_verify(check_timestamps=False)
    assert check.ok, check.problem
    assert check.entries == 1 + (THREADS - 1) * 5
