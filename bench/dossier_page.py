"""Benchmark: the editor's dossier page on the real DRIMbox REM (202 expected proofs).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/segur_bench .venv/bin/python bench/dossier_page.py

PostgreSQL only (the production database). The database named in DATABASE_URL is the
prefix of a throwaway test database, created and dropped here. The dossier is the one
the issue measured: the Général profile of RAD-DRIMBOX-Va2, 189 requirements, 202
expected proofs, 82 of them provided, a few refused and a few still being checked.

Each page is requested through Django's test client, in this process (the server's
work: middleware, session, queries, template; no network), after a warm-up, and the
table gives p50 and p95 of the wall time, the HTML size and the SQL query count.

Then a bulk deposit of 120 proofs, three times on a fresh dossier: the request that
receives one ZIP of 120 small files (stored, hashed, read by libmagic, matched), and the
one that confirms the proposed mapping (each file received by fichier_receive, its
check queued, 120 deposits). Prints Markdown tables for docs/BENCHMARKS.md.
"""

import io
import os
import statistics
import sys
import time
import zipfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "segur_portal.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only")
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
os.environ.setdefault("SEGUR_VAR_DIR", "var/bench")
os.environ.setdefault("SITE_URL", "https://127.0.0.1")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("COOKIE_SECURE", "0")
os.environ.setdefault("STATIC_MANIFEST", "0")
# Production-shaped settings refuse to start without a scanner and a seal; the page
# measured here uses neither.
os.environ.setdefault("CLAMD_SOCKET", "var/bench/clamd.sock")
os.environ.setdefault("SEAL_DEMO", "1")
# The checks are queued (in memory, never run), as a web worker does in production.
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "0")

if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
    sys.exit(
        "bench/dossier_page.py mesure la forme de production : DATABASE_URL=postgres://… requis."
    )

import django

django.setup()

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from candidatures.models import CguAcceptance
from candidatures.services.onboarding import current_cgu
from preuves.depot import dossier
from preuves.enums import FichierStatus
from preuves.matching import words
from preuves.models import Depot, DepotLot, Fichier
from tests.factories import company_user
from tests.preuves import samples
from tests.preuves.dossiers import drimbox_candidature
from tests.preuves.factories import FichierFactory

WARM_UP = 5
RUNS = 60
PROVIDED, REFUSED, PENDING = 82, 6, 4


def _deposit(candidature, user) -> None:
    """82 proofs provided, 6 refused, 4 being checked: the issue's « 82 / 202 »."""
    items = [item for item in dossier(candidature).items if not item.accepts_url]
    statuses = (
        [FichierStatus.ACCEPTEE] * PROVIDED
        + [FichierStatus.REFUSEE] * REFUSED
        + [FichierStatus.EN_VERIFICATION] * PENDING
    )
    for item, status in zip(items, statuses, strict=False):
        traits = {"accepted": True} if status == FichierStatus.ACCEPTEE else {}
        if status == FichierStatus.REFUSEE:
            traits = {"refused": True}
        Depot.objects.create(
            candidature=candidature,
            exigence=item.exigence,
            preuve_attendue=item.preuve,
            fichier=FichierFactory(editeur=candidature.editeur, **traits),
            deposited_by=user,
        )


def measure(client: Client, url: str) -> tuple[list[float], list[float], float, int, int]:
    """Wall time and this process's CPU time of each request (on a shared machine the
    CPU time says what the request costs when other processes take the cores), the
    median time spent waiting for PostgreSQL, the HTML size and the query count."""
    for _ in range(WARM_UP):
        client.get(url)
    seconds, cpu = [], []
    for _ in range(RUNS):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        seconds.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        assert response.status_code == 200, response.status_code
    sql = []
    for _ in range(10):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        sql.append(sum(float(query["time"]) for query in queries.captured_queries))
    return seconds, cpu, statistics.median(sql), len(response.content), len(queries)


def _archive(candidature, count: int = 120) -> bytes:
    """`count` small real files, each named after one expected proof."""
    items = dossier(candidature).items
    spelled = Counter(words(item.identifier) for item in items)
    chosen = [i for i in items if spelled[words(i.identifier)] == 1 and not i.accepts_url]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in chosen[:count]:
            allowed = item.rule.allowed_mime_types
            if allowed is None:
                name, content = "log", b"appel reussi\n"
            elif "image/png" in allowed:
                name, content = "png", samples.png_bytes()
            else:
                name, content = "pdf", samples.pdf_bytes()
            archive.writestr(f"SC.{item.identifier.replace('/', '-')}_preuve.{name}", content)
    return buffer.getvalue()


def bulk_case(runs: int = 3) -> tuple[list[float], list[float]]:
    staged, confirmed = [], []
    for _ in range(runs):
        candidature = drimbox_candidature()
        user = company_user(candidature.editeur)
        CguAcceptance.objects.create(user=user, cgu=current_cgu())
        client = Client()
        client.force_login(user)
        upload = SimpleUploadedFile("preuves.zip", _archive(candidature))
        started = time.perf_counter()
        response = client.post(
            reverse("dossier:lot_new", args=[candidature.pk]), {"files": [upload]}
        )
        staged.append(time.perf_counter() - started)
        assert response.status_code == 302, response.status_code
        lot = DepotLot.objects.get(candidature=candidature)
        data = {f"cible-{row.pk}": row.proposed for row in lot.fichiers.all()}
        started = time.perf_counter()
        response = client.post(reverse("dossier:lot_confirm", args=[candidature.pk, lot.pk]), data)
        confirmed.append(time.perf_counter() - started)
        assert response.status_code == 302, response.status_code
        assert Depot.objects.filter(candidature=candidature).count() == 120
    return staged, confirmed


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def main() -> None:
    test_db = connection.creation.create_test_db(verbosity=0, keepdb=False, serialize=False)
    settings.DEBUG = False
    try:
        candidature = drimbox_candidature()
        user = company_user(candidature.editeur)
        CguAcceptance.objects.create(user=user, cgu=current_cgu())
        _deposit(candidature, user)
        expected = len(dossier(candidature).items)
        client = Client()
        client.force_login(user)
        page = reverse("dossier:page", args=[candidature.pk])
        cases = [
            ("page du dossier, à l’ouverture (120 lignes à traiter)", page),
            (
                "page du dossier, toutes les preuves (?statut=toutes, 202 lignes)",
                page + "?statut=toutes",
            ),
        ]
        rows = [(label, *measure(client, url)) for label, url in cases]
        # BENCH_BULK=0: the page only (to measure a version without bulk deposit).
        staged, confirmed = bulk_case() if os.environ.get("BENCH_BULK", "1") == "1" else ([], [])
    finally:
        for fichier in Fichier.objects.all():  # the files stored under var/bench
            default_storage.delete(fichier.storage_name)
        connection.creation.destroy_test_db(test_db, verbosity=0)

    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"Python {sys.version.split()[0]} · {os.cpu_count()} cœurs · PostgreSQL · charge {load}")
    print(
        f"REM DRIMbox, {expected} preuves attendues ; {RUNS} requêtes après {WARM_UP} d’échauffement.\n"
    )
    print(
        "| page | p50 (ms) | p95 (ms) | CPU p50 (ms) | CPU p95 (ms) | SQL p50 (ms) | HTML (ko) | requêtes SQL |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, seconds, cpu, sql, size, queries in rows:
        print(f"| {label} | {statistics.median(seconds) * 1000:.0f} | {p95(seconds) * 1000:.0f} | "
              f"{statistics.median(cpu) * 1000:.0f} | {p95(cpu) * 1000:.0f} | {sql * 1000:.0f} | "
              f"{size / 1000:.0f} | {queries} |")  # fmt: skip

    if not staged:
        return
    print(
        f"\nDépôt groupé de 120 preuves (ZIP de 120 petits fichiers), médiane de {len(staged)} :\n"
    )
    print("| requête | durée (s) |")
    print("|---|---:|")
    print(
        f"| envoi de l’archive : lecture, empreintes, types, correspondance | {statistics.median(staged):.2f} |"
    )
    print(
        f"| confirmation : 120 fichiers reçus, 120 dépôts, vérifications en file | {statistics.median(confirmed):.2f} |"
    )


if __name__ == "__main__":
    main()
