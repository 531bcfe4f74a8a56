"""Benchmark: the instructor's review of the real DRIMbox dossier (202 expected proofs).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/segur_bench .venv/bin/python bench/review.py

PostgreSQL only (the production database). The database named in DATABASE_URL is the
prefix of a throwaway test database, created and dropped here. The dossier is the
Général profile of RAD-DRIMBOX-Va2: 189 requirements, 202 expected proofs, each with
an accepted file (tests.preuves.reviews.drimbox_instructing), taken in instruction.

Every request goes through Django's test client in this process (the server's work:
middleware, session, queries, template, the journal's entry; no network). Cases:
- the verdict as it was: the dossier page's form posts, is redirected, and the whole
  page comes back (POST + GET, timed together), on 30 requirements;
- the review workspace's page, opened (p50, p95 over 30 requests after a warm-up);
- a verdict recorded in place (htmx): one per requirement, the 189 of the dossier,
  alternately conforme and non conforme with a comment;
- one bulk verdict on 60 requirements.
Prints a Markdown table for docs/BENCHMARKS.md.
"""

import os
import statistics
import sys
import time
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
# Production-shaped settings refuse to start without a scanner and a seal; the pages
# measured here use neither.
os.environ.setdefault("CLAMD_SOCKET", "var/bench/clamd.sock")
os.environ.setdefault("SEAL_DEMO", "1")

if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
    sys.exit("bench/review.py mesure la forme de production : DATABASE_URL=postgres://… requis.")

import django

django.setup()

from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from preuves.depot import _applicable
from preuves.models import ExigenceVerdict
from tests.preuves.reviews import drimbox_instructing

WARM_UP = 5
RUNS = 30
OLD_VERDICTS = 30
BULK = 60


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def row(
    label: str,
    seconds: list[float],
    size: int,
    queries: int | str,
    cpu: list[float] | None = None,
    sql: list[float] | None = None,
) -> str:
    """A line of the table; CPU (this process's time) and SQL (the time spent waiting for
    PostgreSQL) say what a request costs when other processes take the machine's cores."""

    def ms(values, quantile):
        return f"{quantile(values) * 1000:.0f}" if values else "—"

    return (
        f"| {label} | {ms(seconds, statistics.median)} | {ms(seconds, p95)} | "
        f"{ms(cpu, statistics.median)} | {ms(cpu, p95)} | {ms(sql, statistics.median)} | "
        f"{ms(sql, p95)} | {size / 1000:.1f} | {queries} |"
    )


def old_verdicts(client, candidature, exigences) -> tuple[list[float], int, int]:
    """The dossier page's verdict form: POST, redirect, the whole page again."""
    url = reverse("dossier:verdict", args=[candidature.pk])
    seconds, size = [], 0
    for exigence in exigences:
        started = time.perf_counter()
        response = client.post(url, {"exigence": exigence.pk, "verdict": "conforme", "comment": ""})
        page = client.get(response["Location"])
        seconds.append(time.perf_counter() - started)
        assert page.status_code == 200, page.status_code
        size = max(size, len(page.content))
    with CaptureQueriesContext(connection) as queries:
        response = client.post(
            url, {"exigence": exigences[0].pk, "verdict": "conforme", "comment": ""}
        )
        client.get(response["Location"])
    return seconds, size, len(queries)


def review_page(client, candidature) -> tuple[list[float], int, int]:
    url = reverse("dossier:review", args=[candidature.pk])
    for _ in range(WARM_UP):
        client.get(url)
    seconds = []
    for _ in range(RUNS):
        started = time.perf_counter()
        response = client.get(url)
        seconds.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    return seconds, len(response.content), len(queries)


def htmx_verdicts(client, candidature, exigences):
    seconds, cpu, sql, size, queries = [], [], [], 0, 0
    for n, exigence in enumerate(exigences):
        data = (
            {"verdict": "conforme", "comment": ""}
            if n % 2
            else {"verdict": "non_conforme", "comment": "La vidéo ne montre pas le scénario."}
        )
        url = reverse("dossier:review_verdict", args=[candidature.pk, exigence.pk])
        with CaptureQueriesContext(connection) as captured:
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.post(url, data, HTTP_HX_REQUEST="true")
            seconds.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        sql.append(sum(float(query["time"]) for query in captured.captured_queries))
        assert response.status_code == 200, response.status_code
        assert b"data-focus-now" in response.content
        size = max(size, len(response.content))
        queries = max(queries, len(captured))
    return seconds, size, queries, cpu, sql


def bulk_verdict(client, candidature, exigences) -> tuple[list[float], int, int]:
    url = reverse("dossier:review_bulk", args=[candidature.pk])
    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        response = client.post(
            url, {"exigences": [e.pk for e in exigences], "verdict": "conforme", "comment": ""}
        )
        elapsed = time.perf_counter() - started
    assert response.status_code == 302, response.status_code
    return [elapsed, elapsed], 0, len(captured)


def baseline() -> list[float]:
    """A trivial query, timed alongside: the machine's load shows in it."""
    seconds = []
    with connection.cursor() as cursor:
        for _ in range(200):
            started = time.perf_counter()
            cursor.execute("SELECT 1")
            cursor.fetchone()
            seconds.append(time.perf_counter() - started)
    return seconds


def main() -> None:
    test_db = connection.creation.create_test_db(verbosity=0, keepdb=False)
    settings.DEBUG = False
    try:
        candidature, instructeur = drimbox_instructing()
        client = Client()
        client.force_login(instructeur)
        exigences = list(_applicable(candidature).order_by("position"))
        # The journal's first entry creates its head: not part of any measure.
        client.post(
            reverse("dossier:review_verdict", args=[candidature.pk, exigences[0].pk]),
            {"verdict": "conforme"},
            HTTP_HX_REQUEST="true",
        )
        rows = [
            row(
                "avant : verdict sur la page du dossier (POST, redirection, page entière)",
                *old_verdicts(client, candidature, exigences[:OLD_VERDICTS]),
            ),
            row("revue : ouverture de la page (189 exigences)", *review_page(client, candidature)),
        ]
        ExigenceVerdict.objects.filter(candidature=candidature).delete()
        rows.append(
            row(
                "revue : un verdict en place (htmx), chacune des 189 exigences",
                *htmx_verdicts(client, candidature, exigences),
            )
        )
        trivial = baseline()
        rows.append(
            f"| référence : une requête SQL triviale (SELECT 1), au même moment | "
            f"{statistics.median(trivial) * 1000:.1f} | {p95(trivial) * 1000:.1f} | — | — | — | — "
            f"| — | 1 |"
        )
        seconds, _size, queries = bulk_verdict(client, candidature, exigences[:BULK])
        rows.append(
            f"| revue : un verdict groupé sur {BULK} exigences (une requête) | "
            f"{seconds[0] * 1000:.0f} | — | — | — | — | — | — | {queries} |"
        )
    finally:
        connection.creation.destroy_test_db(test_db, verbosity=0)

    print(f"Python {sys.version.split()[0]} · {os.cpu_count()} cœurs · PostgreSQL")
    print(f"Charge moyenne de la machine : {os.getloadavg()[0]:.1f}")
    print("REM DRIMbox (profil Général) : 189 exigences, 202 preuves attendues, toutes fournies.\n")
    print(
        "| cas | p50 (ms) | p95 (ms) | CPU p50 (ms) | CPU p95 (ms) | SQL p50 (ms) | SQL p95 (ms) "
        "| réponse (ko, la plus grande) | requêtes SQL |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for line in rows:
        print(line)


if __name__ == "__main__":
    main()
