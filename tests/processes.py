"""Real servers a test starts for itself: a free port, a wait until it answers, a clean stop,
and the portal itself (gunicorn, production shape) on the test database."""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{what} s’est arrêté au démarrage (code {process.returncode})")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"{what} ne répond pas sur le port {port}")


def stop(process: subprocess.Popen, timeout: float = 10) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def portal_env(database_url: str, **extra: str) -> dict[str, str]:
    """The production shape's environment on the test's database, over plain HTTP."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "COOKIE_SECURE": "0",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        **extra,
    }


def start_gunicorn(env: dict[str, str], log_path: Path) -> tuple[subprocess.Popen, int]:
    """One sync worker, the shape that a held request blocks first."""
    port = free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "segur_portal.wsgi:application",
             "--bind", f"127.0.0.1:{port}", "--workers", "1", "--timeout", "120"],
            cwd=ROOT, env=env, stderr=log,
        )  # fmt: skip
    wait_for_port(port, process, "gunicorn")
    return process, port


PG_BIN = Path("/usr/lib/postgresql/15/bin")


class PostgresCluster:
    """A throwaway PostgreSQL cluster of this test (initdb, pg_ctl) on a port of its own.

    Never the machine's shared server: a test may restart this one. As root, the cluster
    runs as the `postgres` account (initdb refuses root).
    """

    def __init__(self, folder: Path):
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _pg_ctl(self, *args: str) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            [*self._as, str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l",
             str(self.folder / "server.log"), "-o", options, "-w", *args],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self._as:
            shutil.chown(self.folder, "postgres")
        subprocess.run(
            [*self._as, str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
             "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "-N"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        self._pg_ctl("start")

    def restart(self) -> None:
        """What a restart of the server does to its clients: every connection is closed."""
        self._pg_ctl("-m", "fast", "restart")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._pg_ctl("-m", "fast", "stop")

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def copy_of(self, source_url: str, database: str) -> str:
        """A copy of another server's database (schema and rows) in this cluster."""
        subprocess.run(
            ["createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", database],
            check=True,
            capture_output=True,
            timeout=60,
        )
        dump = subprocess.run(
            ["pg_dump", "--no-owner", source_url], check=True, capture_output=True, timeout=120
        )
        subprocess.run(
            ["psql", "-q", "-v", "ON_ERROR_STOP=1", self.url(database)],
            input=dump.stdout, check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        return self.url(database)
