"""The roots of each day's runs of 64 entries, kept with the digest; the digest's guard
(migration 0006) now covers them too: set when the day closes, never changed."""

from django.db import migrations, models

DIGEST = "segur_portal_journaldigest"
FIELDS = [
    "id", "day", "first_seq", "last_seq", "size", "root", "chain_head", "prev_digest",
    "digest", "closed_at", "subtrees",
]  # fmt: skip
PREVIOUS = FIELDS[:-1]


def _postgresql(fields):
    return f"""
    CREATE OR REPLACE FUNCTION segur_journal_digest_guard() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF OLD.timestamp_token IS NOT NULL
           OR ({", ".join("NEW." + f for f in fields)})
              IS DISTINCT FROM ({", ".join("OLD." + f for f in fields)}) THEN
            RAISE EXCEPTION 'journal en ajout seul : seul le jeton d’horodatage s’ajoute';
        END IF;
        RETURN NEW;
    END $$
    """


def _sqlite(fields):
    return [
        "DROP TRIGGER IF EXISTS journal_digest_guard",
        f"""
        CREATE TRIGGER journal_digest_guard BEFORE UPDATE ON {DIGEST}
        WHEN OLD.timestamp_token IS NOT NULL
          OR {" OR ".join(f"NEW.{f} IS NOT OLD.{f}" for f in fields)}
        BEGIN SELECT RAISE(ABORT, 'journal en ajout seul : seul le jeton d’horodatage s’ajoute'); END
        """,
    ]


def _guard(fields):
    def run(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        statements = {"postgresql": [_postgresql(fields)], "sqlite": _sqlite(fields)}
        for statement in statements.get(vendor, []):
            schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("segur_portal", "0008_email_outbox_pending"),
    ]

    operations = [
        # Nullable: SQLite adds the column in place (a default would remake the table and
        # drop its triggers).
        migrations.AddField(
            model_name="journaldigest",
            name="subtrees",
            field=models.BinaryField(null=True, verbose_name="racines des tranches de 64 entrées"),
        ),
        migrations.RunPython(_guard(FIELDS), _guard(PREVIOUS)),
    ]
