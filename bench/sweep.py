"""Benchmark: the periodic sweep on a generated wave (bench/generate_wave.py).

    .venv/bin/python bench/generate_wave.py segur_wave          # once (minutes)
    .venv/bin/python bench/sweep.py segur_wave                  # each measure

The wave's database is copied (CREATE DATABASE … TEMPLATE) to `<wave>_sweep_<pid>`, measured
there and dropped, so the wave stays as generated and the bench can be run again. Every
sweeper of settings.SWEEPERS runs at the wave's instant (table bench_wave): a first run
applies what is due (about 1 % of the 100,000 open sollicitations, plus the other
sweepers' work), then steady runs a second later find nothing due. Tasks are queued on
Redis (REDIS_URL, queue segur-bench-sweep, emptied afterwards) as in production; no
worker takes them. Prints one Markdown table: per sweeper, the first run's and the
steady state's time and queries, beside a one-query floor (SELECT 1) in the same run.
The URL resolver is built first, as a worker does when it starts, and timed apart.
"""

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("wave", help="the database bench/generate_wave.py made")
parser.add_argument("--steady-runs", type=int, default=5)
parser.add_argument("--keep", action="store_true", help="keep the copy after the run")
ARGS = parser.parse_args()

SERVER_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
COPY = f"{ARGS.wave}_sweep_{os.getpid()}"


def _url(name: str) -> str:
    return urlunsplit(urlsplit(SERVER_URL)._replace(path=f"/{name}"))


def _admin(sql: str) -> None:
    import psycopg2

    connection = psycopg2.connect(_url("postgres"))
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(sql)
    connection.close()


_admin(f'DROP DATABASE IF EXISTS "{COPY}" WITH (FORCE)')
started = time.perf_counter()
_admin(f'CREATE DATABASE "{COPY}" TEMPLATE "{ARGS.wave}"')
COPY_SECONDS = time.perf_counter() - started

os.environ["DATABASE_URL"] = _url(COPY)
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
os.environ["CELERY_QUEUE"] = "segur-bench-sweep"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "segur_portal.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only")
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
os.environ.setdefault("SEGUR_VAR_DIR", "var/bench")
os.environ.setdefault("SITE_URL", "https://127.0.0.1")
os.environ.setdefault("CLAMD_SOCKET", "var/bench/clamd.sock")
os.environ.setdefault("SEAL_DEMO", "1")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django

django.setup()

from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections
from django.utils.module_loading import import_string

from candidatures.enums import SollicitationStatus
from candidatures.models import Sollicitation
from segur_portal.celery import warm_up


def _floor() -> float:
    """One trivial query, the same connection: what a sweeper that does nothing costs."""
    runs = []
    with connection.cursor() as cursor:
        for _ in range(50):
            began = time.perf_counter()
            cursor.execute("SELECT 1")
            cursor.fetchone()
            runs.append(time.perf_counter() - began)
    return statistics.median(runs)


class _Counter:
    """Counts the queries sent, however many (Django's query log keeps 9,000)."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def _run(path: str, now) -> tuple[float, int, object]:
    sweeper = import_string(path)
    counter = _Counter()
    with connection.execute_wrapper(counter):
        began = time.perf_counter()
        result = sweeper(now=now)
        seconds = time.perf_counter() - began
    return seconds, counter.count, result


def _purge_queue() -> None:
    from celery import current_app

    with current_app.connection_for_write() as conn:
        conn.default_channel.queue_purge(settings.CELERY_TASK_DEFAULT_QUEUE)


def main() -> None:
    # The wave may predate the code measured: bring the copy to its migrations.
    began = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"Migrations de la copie : {time.perf_counter() - began:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("SELECT generated_at FROM bench_wave")
        (now,) = cursor.fetchone()
    open_clocks = Sollicitation.objects.filter(status=SollicitationStatus.OUVERTE).count()
    floor = _floor()
    # As a worker starts (segur_portal.celery.warm_up, and Celery's Django fixup runs
    # the checks that import every URL module): not the sweep's work, timed apart.
    print(f"Démarrage du worker (résolveur d’URL construit) : {warm_up():.2f} s")
    first, steady = {}, {path: [] for path in settings.SWEEPERS}
    for path in settings.SWEEPERS:
        first[path] = _run(path, now)
    for run in range(ARGS.steady_runs):
        for path in settings.SWEEPERS:
            steady[path].append(_run(path, now + timedelta(seconds=1 + run)))
    still_open = Sollicitation.objects.filter(status=SollicitationStatus.OUVERTE).count()
    _purge_queue()
    print(
        f"Vague {ARGS.wave} (copie en {COPY_SECONDS:.1f} s), instant {now:%Y-%m-%d %H:%M} UTC : "
        f"{open_clocks} sollicitations ouvertes avant, {still_open} après le premier passage. "
        f"Plancher (SELECT 1) : {floor * 1000:.2f} ms.\n"
    )
    print(
        "| balayeur | 1er passage (ms) | requêtes | traités | régime établi, médiane (ms) "
        "| requêtes |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for path in settings.SWEEPERS:
        seconds, queries, result = first[path]
        steady_ms = statistics.median(s for s, _q, _r in steady[path]) * 1000
        steady_queries = max(q for _s, q, _r in steady[path])
        print(
            f"| {path.rsplit('.', 1)[1]} | {seconds * 1000:.0f} | {queries} | {result} | "
            f"{steady_ms:.1f} | {steady_queries} |"
        )
    total_first = sum(seconds for seconds, _q, _r in first.values())
    total_steady = sum(statistics.median(s for s, _q, _r in runs) for runs in steady.values())
    print(f"| **total** | {total_first * 1000:.0f} | | | {total_steady * 1000:.1f} | |")


try:
    main()
finally:
    connections.close_all()
    if not ARGS.keep:
        _admin(f'DROP DATABASE IF EXISTS "{COPY}" WITH (FORCE)')
