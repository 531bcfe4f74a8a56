"""Benchmark: the journal at scale (docs/JOURNAL.md §7).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/segur_bench .venv/bin/python bench/journal.py [ENTRIES]

On a throwaway test database (created and dropped here): ENTRIES chained entries
(1,000,000 by default) written in bulk over one day, one candidature holding 2,000 of
them; then timed: appends one by one through journal_append, the close of the day
(root streamed from the day's hashes), the candidature's history page (queries and
time), its inclusion proofs, and verifier_journal over the whole chain. Prints a
Markdown table for docs/BENCHMARKS.md; "pic RSS" is the process's high-water mark.
"""

import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "segur_portal.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only")
os.environ.setdefault("SEGUR_VAR_DIR", "var/bench")
os.environ.setdefault("SITE_URL", "https://127.0.0.1")
os.environ.setdefault("SEAL_DEMO", "1")
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("COOKIE_SECURE", "0")
os.environ.setdefault("STATIC_MANIFEST", "0")
# No file is checked here: the setting only lets the production settings load.
os.environ.setdefault("CLAMD_SOCKET", "var/bench/clamd.sock")

import django

django.setup()

from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from segur_portal.enums import JournalKind
from segur_portal.journal import journal_append, journal_close_day, journal_verify
from segur_portal.journal_format import GENESIS, entry_canonical, plain, sha256_hex
from segur_portal.journal_selectors import inclusion_proofs
from segur_portal.models import JournalEntry, JournalHead
from tests.college.phase3 import mandataire
from tests.factories import CandidatureFactory

DAY = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
BATCH = 10_000


def peak_mib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return 0


def fill(count: int, candidature, every: int) -> None:
    """`count` chained entries over DAY, one in `every` for the candidature."""
    prev, batch = GENESIS, []
    step = timedelta(seconds=80_000 / count)
    for seq in range(1, count + 1):
        at = DAY + step * seq
        own = seq % every == 0
        data = plain({"transition": "x", "from": "eligible", "to": "eligible", "reason": str(seq)})
        entry_hash = sha256_hex(
            entry_canonical(
                seq=seq,
                prev_hash=prev,
                recorded_at=at,
                at=at,
                kind=JournalKind.TRANSITION,
                actor_id=None,
                candidature_id=candidature.pk if own else None,
                editeur_id=candidature.editeur_id if own else None,
                data=data,
            )
        )
        batch.append(
            JournalEntry(
                seq=seq,
                recorded_at=at,
                at=at,
                kind=JournalKind.TRANSITION,
                candidature_id=candidature.pk if own else None,
                editeur_id=candidature.editeur_id if own else None,
                data=data,
                prev_hash=prev,
                hash=entry_hash,
            )
        )
        prev = entry_hash
        if len(batch) == BATCH:
            JournalEntry.objects.bulk_create(batch)
            batch = []
    JournalEntry.objects.bulk_create(batch)
    JournalHead.objects.update_or_create(
        pk=1, defaults={"seq": count, "hash": prev, "recorded_at": DAY + step * count}
    )


def number(value: int) -> str:
    return f"{value:,}".replace(",", "\u202f")


def timed(function):
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


def run(count: int) -> list[tuple[str, str, str]]:
    candidature = CandidatureFactory(admin_validee=True)
    every = max(count // 2_000, 1)
    _, seconds = timed(lambda: fill(count, candidature, every))
    rows = [(f"écrire {number(count)} entrées chaînées (en masse, hors service)",
             f"{seconds:.1f}", "")]  # fmt: skip
    connection.cursor().execute("ANALYZE segur_portal_journalentry")

    _, seconds = timed(
        lambda: [journal_append(kind=JournalKind.COMPTE, data={"n": n}) for n in range(1_000)]
    )
    rows.append(("1 000 journal_append, chacun sa transaction (commit compris)",
                 f"{seconds:.2f}", f"{1_000 / seconds:.0f} par seconde"))  # fmt: skip

    def by_service():
        # A service appends a few entries in its transaction: 100 of 10.
        for _transaction in range(100):
            with transaction.atomic():
                for n in range(10):
                    journal_append(kind=JournalKind.COMPTE, data={"n": n})

    _, seconds = timed(by_service)
    rows.append(("1 000 journal_append, 10 par transaction (commit compris)",
                 f"{seconds:.2f}", f"{seconds:.2f} ms l’un"))  # fmt: skip

    digest, seconds = timed(lambda: journal_close_day(now=DAY + timedelta(days=1, hours=8)))
    rows.append((f"clore le jour ({number(digest.size)} entrées, racine en flux)",
                 f"{seconds:.1f}", f"pic RSS {peak_mib()} Mio"))  # fmt: skip

    client = Client()
    client.force_login(mandataire(candidature))
    url = reverse("historique:page", args=[candidature.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        response, seconds = timed(lambda: client.get(url + "?page=20"))
    assert response.status_code == 200
    rows.append(("historique d’une candidature de 2 000 événements, page 20",
                 f"{seconds * 1000:.0f} ms", f"{len(queries)} requêtes"))  # fmt: skip

    proofs, seconds = timed(lambda: inclusion_proofs(candidature, full_content=False))
    rows.append((f"preuves d’inclusion de ses {len(proofs['proofs'])} événements",
                 f"{seconds:.1f}", f"pic RSS {peak_mib()} Mio"))  # fmt: skip

    check, seconds = timed(lambda: journal_verify(check_timestamps=False))
    assert check.ok, check.problem
    rows.append((f"verifier_journal ({number(check.entries)} entrées, 1 jour clos)",
                 f"{seconds:.1f}", f"pic RSS {peak_mib()} Mio"))  # fmt: skip
    return rows


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    test_db = connection.creation.create_test_db(verbosity=0, keepdb=False)
    try:
        rows = run(count)
    finally:
        connection.creation.destroy_test_db(test_db, verbosity=0)
    print("| cas | durée (s) | note |\n|---|---:|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
