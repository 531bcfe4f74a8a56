"""`make run`'s server, started for real in the embedded shape."""

import json
import os
import socket
import subprocess
import sys
import urllib.request

import pytest
from django.conf import settings

from tests.worker import wait_for

EMBEDDED_ONLY = {"DATABASE_URL", "REDIS_URL", "EMAIL_BACKEND", "DJANGO_SECRET_KEY", "DEBUG"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.headers, response.read()
    except OSError:
        return None


@pytest.fixture
def embedded_server(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in EMBEDDED_ONLY}
    env["SEGUR_VAR_DIR"] = str(tmp_path)
    manage = [sys.executable, "manage.py"]
    subprocess.run(
        [*manage, "migrate", "--noinput", "-v0"], env=env, cwd=settings.BASE_DIR, check=True
    )
    port = _free_port()
    with (tmp_path / "runportal.log").open("wb") as log:
        server = subprocess.Popen(
            [*manage, "runportal", f"127.0.0.1:{port}", "--noreload"],
            env=env,
            cwd=settings.BASE_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_for(lambda: _get(f"{base}/healthz"), timeout=30)
            yield base
        finally:
            server.terminate()
            server.wait(timeout=10)


def test_runportal_serves_pages_and_static_files(embedded_server):
    status, _, body = _get(f"{embedded_server}/")
    assert status == 200
    assert "Portail de référencement Ségur" in body.decode()
    status, headers, _ = _get(f"{embedded_server}/static/css/portal.css")
    assert (status, headers["Content-Type"]) == (200, "text/css")
    status, headers, _ = _get(f"{embedded_server}/static/dsfr/dist/dsfr/dsfr.min.css")
    assert status == 200


def test_runportal_ticks_the_clocks_without_a_broker(embedded_server):
    def swept():
        _, _, body = _get(f"{embedded_server}/healthz")
        report = json.loads(body)
        return report["broker"]["mode"] == "in-process" and report["sweep"]["last_finished_at"]

    wait_for(swept, timeout=20)
