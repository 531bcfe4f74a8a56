"""Benchmark: the agency's lists, exports and statistics, and the public lists, on a
generated wave (bench/generate_wave.py), beside a floor measured in the same run.

    .venv/bin/python bench/generate_wave.py segur_wave          # once (minutes)
    .venv/bin/python bench/pages.py segur_wave                  # each measure

The wave's database is copied (CREATE DATABASE … TEMPLATE) to `<wave>_pages`, migrated
to the code's migrations, measured there and dropped (--keep keeps it). Each page is
requested through Django's test client in this process (middleware, session, queries,
template: the server's work, no network), signed in as the role that reads it, after a
warm-up; the table gives p50 and p95 of the wall time, the mean CPU time of a request
in this process (Python) and in its PostgreSQL backend (read from /proc: the server
must run on this machine), the size of the answer and its SQL queries. On a machine
others use, the CPU times hold where the wall time waits for them. The public pages are requested signed in, so that the public-page cache
(which serves anonymous visitors) does not hide the view's own cost. The floor is
/robots.txt (the middleware, no query). The exports of the 10,000 candidatures are
measured once more for memory: the Python heap's peak (tracemalloc) and the growth of
the process's resident peak (VmHWM, reset first). Prints Markdown for
docs/BENCHMARKS.md.
"""

import argparse
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("wave", help="the database bench/generate_wave.py made")
parser.add_argument("--runs", type=int, default=15)
parser.add_argument("--keep", action="store_true", help="keep the copy after the run")
parser.add_argument("--reuse", action="store_true", help="measure the copy a --keep run left")
parser.add_argument(
    "--only",
    metavar="TEXT",
    help="measure only the pages whose label contains TEXT (and the floor), not the exports",
)
ARGS = parser.parse_args()

SERVER_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
COPY = f"{ARGS.wave}_pages"
WARM_UP = 2


def _url(name: str) -> str:
    return urlunsplit(urlsplit(SERVER_URL)._replace(path=f"/{name}"))


def _admin(sql: str) -> None:
    import psycopg2

    connection = psycopg2.connect(_url("postgres"))
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(sql)
    connection.close()


if not ARGS.reuse:
    _admin(f'DROP DATABASE IF EXISTS "{COPY}" WITH (FORCE)')
    _admin(f'CREATE DATABASE "{COPY}" TEMPLATE "{ARGS.wave}"')

os.environ["DATABASE_URL"] = _url(COPY)
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
os.environ["CELERY_QUEUE"] = "segur-bench-pages"
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
# Pages are measured one after the other, far above any visitor's rate.
os.environ["RATELIMIT_ENABLE"] = "0"

import django

django.setup()

from django.core.management import call_command
from django.db import connection
from django.db.models import Count
from django.test import Client
from django.urls import reverse

from candidatures.models import Dsr
from college.models import Seance
from segur_portal.enums import Role
from segur_portal.models import User


class _Counter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def _body(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


TICK = os.sysconf("SC_CLK_TCK")


def _backend_cpu() -> tuple[int, float]:
    """The PostgreSQL backend serving this process (same machine): its pid and the CPU
    seconds it has used. With the process's own CPU time, what a page costs the machine
    whatever else runs on it: wall time on a shared machine waits for the others."""
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return pid, (int(fields[11]) + int(fields[12])) / TICK


def _measure(client: Client, url: str, runs: int) -> dict:
    for _ in range(WARM_UP):
        _body(client.get(url))
    times, size, queries = [], 0, 0
    python_cpu = database_cpu = 0.0
    for _ in range(runs):
        counter = _Counter()
        pid, backend_before = _backend_cpu()
        with connection.execute_wrapper(counter):
            cpu_before = time.process_time()
            began = time.perf_counter()
            response = client.get(url)
            content = _body(response)
            times.append(time.perf_counter() - began)
            python_cpu += time.process_time() - cpu_before
        after_pid, backend_after = _backend_cpu()
        # A connection opened again mid-request (never with CONN_MAX_AGE) is not counted.
        database_cpu += backend_after - backend_before if after_pid == pid else 0
        assert response.status_code == 200, (url, response.status_code)
        size, queries = len(content), counter.count
    times.sort()
    return {
        "p50": statistics.median(times) * 1000,
        "p95": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))] * 1000,
        # Means: the kernel counts a process's CPU in ticks of 10 ms.
        "python_cpu": python_cpu / runs * 1000,
        "database_cpu": database_cpu / runs * 1000,
        "bytes": size,
        "queries": queries,
    }


def _rss_peak_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _export_memory(client: Client, url: str) -> dict:
    # Reset the resident peak to the current size, then measure what the export adds.
    Path("/proc/self/clear_refs").write_text("5")
    before = _rss_peak_kib()
    tracemalloc.start()
    began = time.perf_counter()
    response = client.get(url)
    content = _body(response)
    seconds = time.perf_counter() - began
    heap_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {
        "seconds": seconds,
        "bytes": len(content),
        "heap_mib": heap_peak / 2**20,
        "rss_growth_mib": (_rss_peak_kib() - before) / 1024,
        "rows": content.count(b"\n") - 1 if url.endswith("csv") else None,
    }


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def main() -> None:
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    migrate_seconds = time.perf_counter() - started
    admin = User.objects.filter(role=Role.ADMIN, is_active=True).order_by("pk").first()
    instructeur = User.objects.filter(role=Role.INSTRUCTEUR, is_active=True).order_by("pk").first()
    member = User.objects.filter(role=Role.COLLEGE, is_active=True).order_by("pk").first()
    editor = (
        User.objects.filter(role=Role.EDITEUR, is_active=True, company_role="mandataire")
        .annotate(candidatures=Count("editeur__candidatures"))
        .order_by("-candidatures", "pk")
        .first()
    )
    noticed = (
        User.objects.annotate(received=Count("notifications")).order_by("-received", "pk").first()
    )
    largest = Seance.objects.annotate(agenda=Count("inscriptions")).order_by("-agenda").first()
    dsr = Dsr.objects.filter(campagnes__candidatures__isnull=False).order_by("code").first()
    clients = {
        "admin": _client(admin),
        "instructeur": _client(instructeur),
        "collège": _client(member),
        "éditeur": _client(editor),
        "notifié": _client(noticed),
    }
    anonymous = Client()
    year = {"du": "2026-01-01", "au": "2026-12-31", "pas": "mois"}
    pages = [
        ("plancher : /robots.txt (aucune requête SQL)", anonymous, "/robots.txt"),
        ("file administrative", "instructeur", reverse("instruction:queue")),
        ("file éligibilité", "instructeur", reverse("instruction:queue_phase", args=["eligibilite"])),
        ("file des preuves (en retard d’abord)", "instructeur",
         reverse("instruction:queue_phase", args=["preuves"])),
        ("file des preuves, ordre de la file, page 10", "instructeur",
         reverse("instruction:queue_phase", args=["preuves"]) + "?tri=file&page=10"),
        ("file des preuves, mes dossiers en retard, par temps d’instruction", "instructeur",
         reverse("instruction:queue_phase", args=["preuves"])
         + "?instructeur=moi&retard=1&tri=horloge"),
        ("liste des candidatures (administrateur)", "admin", reverse("candidatures:list")),
        ("liste des candidatures, recherche « log » et DSR", "admin",
         reverse("candidatures:list") + "?" + urlencode({"q": "log", "dsr": dsr.code})),
        ("statistiques, 26 semaines, tous DSR", "admin", reverse("statistics")),
        ("statistiques, année 2026 par mois, tous DSR", "admin",
         reverse("statistics") + "?" + urlencode(year)),
        (f"statistiques, année 2026 par mois, {dsr.code}", "admin",
         reverse("statistics") + "?" + urlencode({**year, "dsr": dsr.code})),
        ("export CSV de la file des preuves", "instructeur",
         reverse("instruction:queue_phase", args=["preuves"]) + "?export=csv"),
        ("candidatures en cours (public)", "admin", reverse("registre:en_cours")),
        ("candidatures en cours, CSV (public)", "admin", reverse("registre:en_cours_csv")),
        ("candidatures en cours, JSON (public)", "admin", reverse("registre:en_cours_json")),
        ("parcs clients (public)", "admin", reverse("registre:parc_index")),
        ("registre des logiciels référencés (public)", "admin", reverse("registre:referencees")),
        ("registre trié par date, page 5 (public)", "admin",
         reverse("registre:referencees") + "?tri=-date&page=5"),
        ("séances du collège", "collège", reverse("college:seances")),
        (f"séance passée ({largest.agenda} inscriptions)", "collège",
         reverse("college:seance", args=[largest.pk])),
        ("notifications", "notifié", reverse("notifications")),
        ("tableau de bord de l’éditeur", "éditeur", reverse("dashboard")),
        ("tableau de bord de l’instructeur", "instructeur", reverse("dashboard")),
    ]  # fmt: skip
    if ARGS.only:
        pages = [pages[0], *[page for page in pages[1:] if ARGS.only in page[0]]]
    print(f"Copie : {COPY}, migrée en {migrate_seconds:.1f} s ; {ARGS.runs} mesures par page.\n")
    print(
        "| page | p50 (ms) | p95 (ms) | CPU Python (ms) | CPU PostgreSQL (ms) | réponse (ko) "
        "| requêtes SQL |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, who, url in pages:
        client = who if isinstance(who, Client) else clients[who]
        result = _measure(client, url, ARGS.runs)
        print(
            f"| {label} | {result['p50']:.0f} | {result['p95']:.0f} | "
            f"{result['python_cpu']:.0f} | {result['database_cpu']:.0f} | "
            f"{result['bytes'] / 1000:.1f} | {result['queries']} |"
        )
    if ARGS.only:
        return
    print("\nExports de toutes les candidatures (hors brouillons), une fois chacun :\n")
    print(
        "| export | durée (s) | taille (Mo) | lignes | pic du tas Python (Mio) | croissance du pic RSS (Mio) |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for fmt in ("csv", "xlsx"):
        url = reverse("candidatures:list") + f"?export={fmt}"
        result = _export_memory(clients["admin"], url)
        print(
            f"| {fmt.upper()} | {result['seconds']:.1f} | {result['bytes'] / 1e6:.2f} | "
            f"{result['rows'] if result['rows'] is not None else '—'} | "
            f"{result['heap_mib']:.1f} | {result['rss_growth_mib']:.1f} |"
        )


try:
    main()
finally:
    connection.close()
    if not ARGS.keep:
        _admin(f'DROP DATABASE IF EXISTS "{COPY}" WITH (FORCE)')
