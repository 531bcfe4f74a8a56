"""A real Celery worker process on the real Redis broker, for tests marked `worker`.

The worker is started once per session on a queue of its own, against the test
database; tests using it must commit their data (`transactional_db`).
"""

import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from segur_portal.celery import app as celery_app

WORKER_START_TIMEOUT = 60


@dataclass
class WorkerProcess:
    queue: str
    hostname: str
    mail_dir: Path
    process: subprocess.Popen


def _test_database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return (
        f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        f"/{db['NAME']}"
    )


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, tmp_path_factory):
    if not settings.REDIS_URL:
        pytest.skip("REDIS_URL non défini : pas de broker, test de worker sauté")
    if connection.vendor != "postgresql":
        pytest.skip("le worker a besoin d’une base partagée (PostgreSQL), pas de SQLite mémoire")
    # The test process sends to CELERY_QUEUE (unique per `make test` run); the worker
    # listens there and nowhere else, so no other worker on this Redis takes the tasks.
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    hostname = f"{queue}-{uuid.uuid4().hex[:6]}@localhost"
    mail_dir = tmp_path_factory.mktemp("worker-mail")
    with django_db_blocker.unblock():
        database_url = _test_database_url()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
    }
    process = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "segur_portal", "worker",
            "--pool", "solo", "--queues", queue, "--hostname", hostname,
            "--without-gossip", "--without-mingle", "--loglevel", "WARNING",
        ],
        env=env,
        cwd=settings.BASE_DIR,
    )  # fmt: skip
    deadline = time.monotonic() + WORKER_START_TIMEOUT
    while not celery_app.control.ping(destination=[hostname], timeout=1.0):
        if process.poll() is not None:
            pytest.fail(f"le worker Celery s’est arrêté au démarrage (code {process.returncode})")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("le worker Celery n’a pas répondu au ping en 60 s")
    yield WorkerProcess(queue=queue, hostname=hostname, mail_dir=mail_dir, process=process)
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def celery_worker(request, celery_worker_process, transactional_db):
    """Send this test's tasks to the session's worker instead of running them in-process."""
    if not request.node.get_closest_marker("worker"):
        raise pytest.UsageError("celery_worker s’utilise avec @pytest.mark.worker")
    celery_app.conf.task_always_eager = False
    yield celery_worker_process
    celery_app.conf.task_always_eager = True
    # The database is flushed (TRUNCATE) right after this teardown: a task still
    # running in its own transaction would deadlock with it.
    _wait_until_idle(celery_worker_process)


def _wait_until_idle(worker: WorkerProcess, timeout: float = 30.0) -> None:
    inspect = celery_app.control.inspect(destination=[worker.hostname], timeout=1.0)
    with celery_app.connection_for_write() as conn:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            waiting = conn.default_channel.client.llen(worker.queue)
            busy = [
                task
                for replies in (inspect.active() or {}, inspect.reserved() or {})
                for tasks in replies.values()
                for task in tasks
            ]
            if not waiting and not busy:
                return
            time.sleep(0.2)
    pytest.fail(f"le worker Celery a encore des tâches après {timeout} s")


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.2):
    """Poll until `predicate()` is truthy; return its value or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition non remplie après {timeout} s")
        time.sleep(interval)
