"""Benchmark: a 50 Mo video uploaded through gunicorn, against a plain copy of the file.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/segur_bench .venv/bin/python bench/upload.py

The production shape only (PostgreSQL, gunicorn, local storage under var/bench): the
database named in DATABASE_URL is the prefix of a throwaway test database, created
and dropped here. curl posts the file as a browser does (multipart, session and CSRF
cookies) to the deposit view; each case is timed over several uploads and keeps the
median. Prints a Markdown table for docs/BENCHMARKS.md.

Cases:
- copy: `shutil.copyfile` of the same file into the storage folder, the floor;
- upload, check queued: the request receives, stores and hashes the file, and queues
  its check for a worker (memory broker here: the check is not run), as in production;
- upload, check in the request: the embedded shape, where tasks run in-process, so
  the request also re-reads the stored file (SHA-256) and runs libmagic on it.
"""

import os
import shutil
import socket
import statistics
import subprocess
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

if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
    sys.exit("bench/upload.py mesure la forme de production : DATABASE_URL=postgres://… requis.")

import django

django.setup()

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection
from django.test import Client
from django.utils.crypto import get_random_string

from candidatures.models import CguAcceptance
from candidatures.proof_kinds import MO
from candidatures.services.onboarding import current_cgu
from preuves.depot import dossier
from preuves.models import Fichier
from tests.factories import company_user
from tests.preuves.corpus import mp4_bytes, write_sized
from tests.preuves.dossiers import eligible_candidature

SIZE = 50 * MO
RUNS = 5
WORK = Path(settings.VAR_DIR) / "bench-upload"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("gunicorn s’est arrêté au démarrage")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("gunicorn ne répond pas")


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("VmHWM absent")


def gunicorn_worker(master: subprocess.Popen) -> int:
    children = Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()
    return int(children[0])


def timed_uploads(url: str, session: str, video: Path, eager: bool) -> tuple[list[float], float]:
    port = free_port()
    database = connection.settings_dict
    env = os.environ | {
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "COOKIE_SECURE": "0",
        "CELERY_TASK_ALWAYS_EAGER": "1" if eager else "0",
    }
    env.pop("REDIS_URL", None)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "segur_portal.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--timeout",
            "120",
        ],  # fmt: skip
        cwd=ROOT,
        env=env,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(port, server)
        token = get_random_string(32)
        seconds = []
        for _ in range(RUNS):
            started = time.perf_counter()
            result = subprocess.run(
                [
                    "curl",
                    "--silent",
                    "--output",
                    "/dev/null",
                    "--write-out",
                    "%{http_code}",
                    "--cookie",
                    f"sessionid={session}; csrftoken={token}",
                    "--header",
                    f"X-CSRFToken: {token}",
                    "--header",
                    "X-Upload: 1",
                    "--form",
                    f"files=@{video};type=video/mp4",
                    f"http://127.0.0.1:{port}{url}",
                ],  # fmt: skip
                capture_output=True,
                text=True,
                check=True,
            )
            seconds.append(time.perf_counter() - started)
            if result.stdout != "200":
                raise RuntimeError(f"envoi refusé : HTTP {result.stdout}")
        return seconds, peak_rss_mib(gunicorn_worker(server))
    finally:
        server.terminate()
        server.wait(timeout=30)


def timed_copies(video: Path) -> list[float]:
    seconds = []
    for n in range(RUNS):
        target = WORK / f"copie-{n}.mp4"
        started = time.perf_counter()
        shutil.copyfile(video, target)
        with target.open("rb+") as copied:  # as the storage does before answering
            os.fsync(copied.fileno())
        seconds.append(time.perf_counter() - started)
        target.unlink()
    return seconds


def main() -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    video = WORK / "saisie.mp4"
    with video.open("wb") as target:
        write_sized(target, mp4_bytes(), SIZE)
    test_db = connection.creation.create_test_db(verbosity=0, keepdb=False)
    try:
        candidature = eligible_candidature()
        user = company_user(candidature.editeur)
        CguAcceptance.objects.create(user=user, cgu=current_cgu())
        client = Client()
        client.force_login(user)
        session = client.cookies["sessionid"].value
        item = next(i for i in dossier(candidature).items if i.identifier == "INS.01.01.01")
        url = f"/candidatures/{candidature.pk}/preuves/exigences/{item.exigence.pk}/preuves/{item.preuve.pk}/fichiers/"
        connection.close()  # gunicorn needs the database too
        rows = [("copie du fichier (shutil.copyfile + fsync)", timed_copies(video), None)]
        rows.append(("envoi HTTP, vérification en file d’attente (production)",
                     *timed_uploads(url, session, video, eager=False)))  # fmt: skip
        rows.append(("envoi HTTP, vérification dans la requête (forme embarquée)",
                     *timed_uploads(url, session, video, eager=True)))  # fmt: skip
    finally:
        for fichier in Fichier.objects.all():  # 500 Mo of uploads otherwise left behind
            default_storage.delete(fichier.storage_name)
        connection.creation.destroy_test_db(test_db, verbosity=0)
        shutil.rmtree(WORK, ignore_errors=True)

    floor = statistics.median(rows[0][1])
    print(f"Python {sys.version.split()[0]} · {os.cpu_count()} cœurs · fichier de {SIZE // MO} Mo")
    print(f"Médiane de {RUNS} envois.\n")
    print("| cas | durée (s) | débit (Mo/s) | rapport à la copie | pic RSS du worker (Mio) |")
    print("|---|---:|---:|---:|---:|")
    for label, seconds, rss in rows:
        median = statistics.median(seconds)
        rss_cell = f"{rss:.0f}" if rss is not None else "—"
        print(f"| {label} | {median:.3f} | {SIZE / MO / median:.0f} | "
              f"×{median / floor:.1f} | {rss_cell} |")  # fmt: skip


if __name__ == "__main__":
    main()
