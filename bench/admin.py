"""Benchmark: Django admin's changelists on a generated wave (a million files).

    .venv/bin/python bench/generate_wave.py segur_wave          # once (minutes)
    .venv/bin/python bench/admin.py segur_wave

The wave's database is copied and migrated (its indexes made), then each list and
search is requested through Django's test client in this process, signed in as the
wave's administrator: median and worst of 5 requests after a warm-up, and the queries
of one. Prints a Markdown table; the copy is dropped.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("wave", help="the database bench/generate_wave.py made")
parser.add_argument("--runs", type=int, default=5)
ARGS = parser.parse_args()

SERVER_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
COPY = f"{ARGS.wave}_admin_{os.getpid()}"


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
_admin(f'CREATE DATABASE "{COPY}" TEMPLATE "{ARGS.wave}"')
os.environ["DATABASE_URL"] = _url(COPY)
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "segur_portal.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only")
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
os.environ.setdefault("SEGUR_VAR_DIR", "var/bench")
os.environ.setdefault("SITE_URL", "https://127.0.0.1")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("COOKIE_SECURE", "0")
os.environ.setdefault("STATIC_MANIFEST", "0")
os.environ.setdefault("CLAMD_SOCKET", "var/bench/clamd.sock")
os.environ.setdefault("SEAL_DEMO", "1")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django

django.setup()

from django.core.management import call_command
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from preuves.models import Fichier
from segur_portal.enums import Role
from segur_portal.models import User


def _measure(client, path: str) -> tuple[float, float, int, int]:
    client.get(path)  # warm-up
    seconds = []
    for _ in range(ARGS.runs):
        began = time.perf_counter()
        response = client.get(path)
        seconds.append(time.perf_counter() - began)
        assert response.status_code == 200, (path, response.status_code)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    return statistics.median(seconds), max(seconds), len(queries), len(response.content)


def main() -> None:
    began = time.perf_counter()
    call_command("migrate", verbosity=0)
    migrated = time.perf_counter() - began
    client = Client()
    client.force_login(User.objects.filter(role=Role.ADMIN).order_by("pk").first())
    sample = Fichier.objects.filter(original_name__startswith="piece").order_by("pk").first()
    cases = [
        ("fichiers, liste", "/admin/preuves/fichier/"),
        ("fichiers, recherche d’une partie du nom", "/admin/preuves/fichier/?q=jointe_4242"),
        (
            "fichiers, recherche d’une empreinte SHA-256",
            f"/admin/preuves/fichier/?q={sample.sha256}",
        ),
        ("fichiers, filtrés par statut", "/admin/preuves/fichier/?status__exact=refusee"),
        ("dépôts, liste", "/admin/preuves/depot/"),
        ("téléchargements, liste", "/admin/preuves/fichierdownload/"),
        ("notifications, liste", "/admin/segur_portal/notification/"),
        ("courriels, liste", "/admin/segur_portal/outboundemail/"),
        ("utilisateurs, liste", "/admin/segur_portal/user/"),
        ("candidatures, liste", "/admin/candidatures/candidature/"),
        ("sollicitations, liste", "/admin/candidatures/sollicitation/"),
    ]
    print(f"Vague {ARGS.wave}, copie migrée en {migrated:.1f} s.\n")
    print("| liste | médiane (ms) | pire (ms) | requêtes SQL | taille (ko) |")
    print("|---|---:|---:|---:|---:|")
    for label, path in cases:
        try:
            median, worst, queries, size = _measure(client, path)
        except AssertionError as error:
            print(f"| {label} | {error} | | | |")
            continue
        print(
            f"| {label} | {median * 1000:.0f} | {worst * 1000:.0f} | {queries} | "
            f"{size / 1000:.0f} |"
        )


try:
    main()
finally:
    connections.close_all()
    _admin(f'DROP DATABASE IF EXISTS "{COPY}" WITH (FORCE)')
