"""Benchmark: a whole dossier of 200 files of 50 Mo downloaded as one streamed ZIP.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/segur_bench .venv/bin/python bench/archive.py

PostgreSQL only. The database named in DATABASE_URL is the prefix of a throwaway test
database, created and dropped here. 200 expected proofs of the real DRIMbox dossier
get a 50 Mo file each (1 Mo = 2^20 bytes): sparse files under var/bench, so that 10 Gio
of proofs need no disk, while every byte is still read, checksummed (CRC-32) and
sent. The archive view (dossier:archive) answers through Django's test client in this
process and its stream is consumed chunk by chunk and thrown away, as a socket would
send it.

Measured: the process's resident memory before the request and its peak while the
archive streams (VmHWM, reset through /proc/self/clear_refs), the Python heap's peak
(tracemalloc), the time and the throughput. Prints a Markdown table for
docs/BENCHMARKS.md.
"""

import os
import sys
import time
import tracemalloc
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
os.environ.setdefault("CLAMD_SOCKET", "var/bench/clamd.sock")
os.environ.setdefault("SEAL_DEMO", "1")

if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
    sys.exit("bench/archive.py mesure la forme de production : DATABASE_URL=postgres://… requis.")

import django

django.setup()

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection
from django.test import Client
from django.urls import reverse

from candidatures.proof_kinds import MO
from preuves.models import Depot, Fichier, FichierDownload
from tests.preuves.reviews import drimbox_instructing

FILES = 200
SIZE = 50 * MO


def _status(field: str) -> int:
    """A line of /proc/self/status, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(field)


def _reset_peak() -> None:
    # "5" resets VmHWM to the current RSS (Linux ≥ 4.0).
    Path("/proc/self/clear_refs").write_text("5")


def _grow(candidature) -> list[str]:
    """200 deposits of the dossier hold a 50 Mo file each, as sparse files."""
    names = []
    depots = list(
        Depot.objects.filter(candidature=candidature, fichier__isnull=False)
        .select_related("fichier")
        .order_by("pk")[:FILES]
    )
    for n, depot in enumerate(depots):
        fichier = depot.fichier
        path = Path(default_storage.path(fichier.storage_name))
        with path.open("r+b") as handle:
            handle.truncate(SIZE)
        # One content each: the archive holds each stored file once.
        Fichier.objects.filter(pk=fichier.pk).update(size=SIZE, sha256=f"{n:064x}")
        # A file several proofs share goes in once: each deposit gets its own here.
        if Depot.objects.filter(fichier=fichier).count() > 1:
            raise RuntimeError("un fichier partagé fausserait la mesure")
        names.append(str(path))
    return names


def main() -> None:
    test_db = connection.creation.create_test_db(verbosity=0, keepdb=False)
    settings.DEBUG = False
    paths = []
    try:
        candidature, instructeur = drimbox_instructing()
        paths = _grow(candidature)
        client = Client()
        client.force_login(instructeur)
        url = reverse("dossier:archive", args=[candidature.pk])
        # A first small request loads the code the measure must not count.
        client.get(reverse("dossier:review", args=[candidature.pk]))
        _reset_peak()
        before = _status("VmRSS")
        tracemalloc.start()
        started = time.perf_counter()
        response = client.get(url)
        first_byte = time.perf_counter() - started
        sent = 0
        for chunk in response.streaming_content:
            sent += len(chunk)
        elapsed = time.perf_counter() - started
        _current, heap_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        peak = _status("VmHWM")
        assert sent == int(response["Content-Length"]), (sent, response["Content-Length"])
        logged = FichierDownload.objects.filter(kind="archive").count()
    finally:
        for path in paths:
            Path(path).unlink(missing_ok=True)
        connection.creation.destroy_test_db(test_db, verbosity=0)

    print(f"Python {sys.version.split()[0]} · {os.cpu_count()} cœurs · PostgreSQL")
    print(f"{FILES} fichiers de {SIZE // MO} Mo (fichiers creux) dans le dossier DRIMbox.\n")
    print(
        "| archive | taille (Gio) | durée (s) | débit (Mo/s) | premier octet (s) | "
        "RSS avant (Mio) | pic RSS (Mio) | croissance (Mio) | pic du tas Python (Mio) | "
        "fichiers journalisés |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| ZIP du dossier, en flux | {sent / 2**30:.2f} | {elapsed:.1f} | "
        f"{sent / MO / elapsed:.0f} | {first_byte:.2f} | {before / MO:.0f} | {peak / MO:.0f} | "
        f"{(peak - before) / MO:.1f} | {heap_peak / MO:.1f} | {logged} |"
    )


if __name__ == "__main__":
    main()
