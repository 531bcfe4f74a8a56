"""Tests on a transactional database empty every table after each test ("flush").
PostgreSQL does it with TRUNCATE, which the journal's row triggers leave alone; SQLite
with DELETE, which they refuse. On SQLite only, the flush drops the journal's triggers
first and makes them again after, as they are in the database."""

import pytest

JOURNAL_TABLES = ("segur_portal_journalentry", "segur_portal_journaldigest")


@pytest.fixture(autouse=True, scope="session")
def _sqlite_flush_keeps_the_journal_triggers():
    from django.db import connection

    if connection.vendor != "sqlite":
        yield
        return
    # Imported here: a plugin module loads before Django is set up.
    from django.db.backends.sqlite3.base import DatabaseOperations

    original = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        statements = original(
            self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
        )
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN "
                f"({', '.join('%s' for _ in JOURNAL_TABLES)})",
                JOURNAL_TABLES,
            )
            triggers = cursor.fetchall()
        return [
            *(f'DROP TRIGGER "{name}"' for name, _sql in triggers),
            *statements,
            *(sql for _name, sql in triggers),
        ]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DatabaseOperations, "sql_flush", sql_flush)
        yield
