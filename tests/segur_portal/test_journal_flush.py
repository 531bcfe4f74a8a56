"""A transactional test empties the journal after it, on SQLite as on PostgreSQL, and
the triggers are still there for the next test."""

import pytest
from django.db import DatabaseError, transaction

from segur_portal.enums import JournalKind
from segur_portal.journal import journal_append
from segur_portal.models import JournalEntry

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("run", [1, 2])
def test_each_transactional_test_starts_from_an_empty_journal_still_append_only(run):
    assert not JournalEntry.objects.exists()
    entry = journal_append(kind=JournalKind.COMPTE, data={"run": run})
    assert entry.seq == 1
    with pytest.raises(DatabaseError), transaction.atomic():
        JournalEntry.objects.filter(pk=entry.pk).delete()
