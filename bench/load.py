"""Benchmark: pages under load on a generated wave, beside a one-query floor.

    .venv/bin/python bench/generate_wave.py segur_wave          # once (minutes)
    .venv/bin/python bench/load.py segur_wave                   # needs wrk (apt install wrk)

The wave's database is copied (CREATE DATABASE … TEMPLATE) and migrated, then served
by gunicorn with 2 sync workers in the production shape (DEBUG off, PostgreSQL, Redis
for the caches; rate limits off, since one client sends every request). wrk sends the
requests, 8 connections at once, for --duration seconds a page, after a warm-up: the
public registry and lists, an editor's dashboard (signed in as a mandataire) and the
agency's three queues (signed in as an instructor). The floor is a bare view that runs
one query through the same middleware (bench/load_urls.py, mounted by
bench/load_settings.py only); it is measured first and last. Prints one Markdown table: requests per second, their ratio to the floor, p50 and
p95 latency, errors; the copy is dropped.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("wave", help="the database bench/generate_wave.py made")
parser.add_argument("--duration", type=int, default=15, help="seconds of load per page")
parser.add_argument("--connections", type=int, default=8)
parser.add_argument("--workers", type=int, default=2)
parser.add_argument(
    "--only",
    help="measure only the pages whose address holds one of these words (comma-separated), "
    "beside the floor: --only tableau-de-bord,compteur",
)
ARGS = parser.parse_args()

if not shutil.which("wrk"):
    sys.exit("bench/load.py envoie la charge avec wrk : apt install wrk.")

SERVER_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
COPY = f"{ARGS.wave}_load_{os.getpid()}"


def _url(name: str) -> str:
    return urlunsplit(urlsplit(SERVER_URL)._replace(path=f"/{name}"))


def _admin(sql: str) -> None:
    import psycopg2

    connection = psycopg2.connect(_url("postgres"))
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(sql)
    connection.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


PORT = _free_port()
ENV = {
    **os.environ,
    "DATABASE_URL": _url(COPY),
    "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
    "CELERY_QUEUE": "segur-bench-load",
    "DJANGO_SETTINGS_MODULE": "bench.load_settings",
    "DJANGO_SECRET_KEY": "bench-only-" + "x" * 40,
    "DEBUG": "0",
    "ALLOWED_HOSTS": "127.0.0.1",
    "SITE_URL": f"http://127.0.0.1:{PORT}",
    "SECURE_SSL_REDIRECT": "0",
    "COOKIE_SECURE": "0",
    "STATIC_MANIFEST": "0",
    "RATELIMIT_ENABLE": "0",
    "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    "CLAMD_SOCKET": "var/bench/clamd.sock",
    "SEAL_DEMO": "1",
    "SEGUR_VAR_DIR": "var/bench",
    "LOG_LEVEL": "WARNING",
    "BENCH_PAGES_PREFIX": f"segur-pages-bench-{os.getpid()}",
}
os.environ.update(ENV)

WRK_REPORT = """
done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p95_us": %d, "errors": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    errors.connect + errors.read + errors.write + errors.timeout + errors.status))
end
"""


def _wrk(path: str, cookie: str, script: str) -> dict:
    command = [
        "wrk",
        f"-t{min(2, ARGS.connections)}",
        f"-c{ARGS.connections}",
        f"-d{ARGS.duration}s",
        "--timeout",
        "10s",
        "-s",
        script,
        f"http://127.0.0.1:{PORT}{path}",
    ]
    if cookie:
        command[1:1] = ["-H", f"Cookie: {cookie}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    report = json.loads(output.strip().splitlines()[-1])
    report["rps"] = report["requests"] / (report["duration_us"] / 1e6)
    return report


def _warm(path: str, cookie: str) -> None:
    from urllib.request import Request

    for _ in range(6):
        request = Request(f"http://127.0.0.1:{PORT}{path}", headers={"Cookie": cookie})
        with urlopen(request, timeout=60) as response:
            assert response.status == 200, (path, response.status)
            response.read()


def _session_cookie(email_prefix: str) -> str:
    """A signed-in account: the mandataire of the first company for the editors'
    dashboard, the first instructor for the agency's queues."""
    import django

    django.setup()
    from django.conf import settings
    from django.test import Client

    from segur_portal.models import User

    user = User.objects.filter(email__startswith=email_prefix).order_by("email").first()
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def main() -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections
    from django.urls import reverse

    began = time.perf_counter()
    call_command("migrate", verbosity=0)
    migrated = time.perf_counter() - began
    from candidatures.models import Dsr

    dsr = Dsr.objects.filter(wave=2).order_by("code").first().code
    cookie = _session_cookie("mandataire")
    instructor = _session_cookie("instructeur")
    connections.close_all()
    pages = [
        ("plancher : vue nue, une requête", "/__plancher__/", ""),
        ("registre des logiciels référencés", "/registre/", ""),
        ("registre, filtré par DSR", f"/registre/?dsr={dsr}", ""),
        ("registre, page 3", "/registre/?page=3", ""),
        ("candidatures en cours", "/registre/en-cours/", ""),
        ("tableau de bord d’un éditeur (connecté)", "/tableau-de-bord/", cookie),
        # What any signed-in page costs before its own work (the session and the
        # account read): the badge every page asks for each minute, one count query.
        (
            "compteur de notifications (connecté)",
            reverse("notification_badge"),
            cookie,
        ),
        ("registre en CSV (flux)", "/registre/referencees.csv", ""),
        ("file administrative (instructeur)", reverse("instruction:queue"), instructor),
        (
            "file éligibilité (instructeur)",
            reverse("instruction:queue_phase", args=["eligibilite"]),
            instructor,
        ),
        (
            "file des preuves (instructeur)",
            reverse("instruction:queue_phase", args=["preuves"]),
            instructor,
        ),
        ("plancher, de nouveau", "/__plancher__/", ""),
    ]
    if ARGS.only:
        words = ARGS.only.split(",")
        pages = [
            page
            for page in pages
            if page[1] == "/__plancher__/" or any(word in page[1] for word in words)
        ]
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "segur_portal.wsgi",
            "--workers",
            str(ARGS.workers),
            "--bind",
            f"127.0.0.1:{PORT}",
            "--chdir",
            str(ROOT),
            "--log-level",
            "warning",
        ],
        env=ENV,
        start_new_session=True,
    )
    rows = []
    try:
        for _ in range(100):
            try:
                urlopen(f"http://127.0.0.1:{PORT}/__plancher__/", timeout=2).read()
                break
            except OSError:
                time.sleep(0.2)
        with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
            script.write(WRK_REPORT)
            script.flush()
            for label, path, page_cookie in pages:
                _warm(path, page_cookie)
                rows.append((label, path, _wrk(path, page_cookie, script.name)))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    floor = statistics.mean(r["rps"] for label, _p, r in rows if label.startswith("plancher"))
    print(
        f"Vague {ARGS.wave}, copie migrée en {migrated:.1f} s ; gunicorn {ARGS.workers} "
        f"workers, wrk {ARGS.connections} connexions, {ARGS.duration} s par page. "
        f"Plancher moyen : {floor:.0f} req/s.\n"
    )
    print("| page | req/s | rapport au plancher | p50 (ms) | p95 (ms) | erreurs |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, path, report in rows:
        print(
            f"| {label} (`{path}`) | {report['rps']:.0f} | {report['rps'] / floor:.2f} | "
            f"{report['p50_us'] / 1000:.0f} | {report['p95_us'] / 1000:.0f} | "
            f"{report['errors']} |"
        )


_admin(f'DROP DATABASE IF EXISTS "{COPY}" WITH (FORCE)')
_admin(f'CREATE DATABASE "{COPY}" TEMPLATE "{ARGS.wave}"')
try:
    main()
finally:
    import redis
    from django.db import connections

    connections.close_all()
    _admin(f'DROP DATABASE IF EXISTS "{COPY}" WITH (FORCE)')
    cache = redis.Redis.from_url(ENV["REDIS_URL"])
    for key in cache.scan_iter(f"{ENV['BENCH_PAGES_PREFIX']}*"):
        cache.delete(key)
