"""The production shape, run for real: nginx (the shipped template) in front of gunicorn.

nginx buffers bodies, so slow clients do not hold gunicorn's workers; it refuses an
oversize body per route before gunicorn reads a byte; and it writes the client's real
address in X-Forwarded-For, so a forged header never dodges the login lock.
"""

import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.factories import TEST_PASSWORD, UserFactory
from tests.processes import free_port, wait_for_port
from tests.worker import _test_database_url

ROOT = Path(settings.BASE_DIR)
TEMPLATE = ROOT / "deploy" / "nginx" / "segur.conf.template"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

pytestmark = pytest.mark.skipif(not Path(NGINX).exists(), reason="nginx absent")


def render_config(template: str, **values: str) -> str:
    """What the nginx image's envsubst does with the template, for our three names."""
    return re.sub(r"\$\{(UPSTREAM|LISTEN|STATIC_ROOT)\}", lambda m: values[m.group(1)], template)


def nginx_conf(folder: Path, *, upstream: str, listen: str, static_root: str) -> Path:
    for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / name).mkdir(exist_ok=True)
    server = render_config(
        TEMPLATE.read_text(), UPSTREAM=upstream, LISTEN=listen, STATIC_ROOT=static_root
    )
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf = folder / "nginx.conf"
    conf.write_text(
        f"""{user}worker_processes 1;
error_log {folder}/error.log warn;
pid {folder}/nginx.pid;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    access_log {folder}/access.log;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
{server}
}}
"""
    )
    return conf


@pytest.fixture(scope="module")
def shape(django_db_setup, django_db_blocker, tmp_path_factory):
    if connection.vendor != "postgresql":
        pytest.skip("gunicorn a besoin d’une base partagée (PostgreSQL)")
    folder = tmp_path_factory.mktemp("nginx")
    gunicorn_port, nginx_port = free_port(), free_port()
    with django_db_blocker.unblock():
        database_url = _test_database_url()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "COOKIE_SECURE": "0",
        "TRUSTED_PROXY_COUNT": "1",
        "CELERY_TASK_ALWAYS_EAGER": "1",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }
    gunicorn_log = (folder / "gunicorn.log").open("wb")
    nginx_log = (folder / "nginx.stderr").open("wb")
    # One sync worker: the easiest shape to starve, and the proof that nginx shields it.
    gunicorn = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "segur_portal.wsgi:application",
         "--bind", f"127.0.0.1:{gunicorn_port}", "--workers", "1", "--timeout", "30"],
        cwd=ROOT, env=env, stderr=gunicorn_log,
    )  # fmt: skip
    conf = nginx_conf(
        folder,
        upstream=f"127.0.0.1:{gunicorn_port}",
        listen=f"127.0.0.1:{nginx_port}",
        static_root=str(ROOT / "static"),
    )
    nginx = subprocess.Popen(
        [NGINX, "-p", str(folder), "-c", str(conf), "-g", "daemon off;"],
        stderr=nginx_log,
    )
    try:
        wait_for_port(gunicorn_port, gunicorn, "gunicorn")
        wait_for_port(nginx_port, nginx, "nginx")
        yield {"nginx": nginx_port, "gunicorn": gunicorn_port, "folder": folder}
    finally:
        for process in (nginx, gunicorn):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        gunicorn_log.close()
        nginx_log.close()


def _request(port, method, path, *, body=b"", headers=None, timeout=10):
    connection_ = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection_.request(method, path, body=body, headers=headers or {})
        response = connection_.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection_.close()


def test_the_shipped_config_is_valid(tmp_path):
    conf = nginx_conf(tmp_path, upstream="127.0.0.1:9", listen="127.0.0.1:9", static_root="/tmp")
    result = subprocess.run(
        [NGINX, "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_static_files_are_served_by_nginx(shape):
    status, headers, body = _request(shape["nginx"], "GET", "/static/css/portal.css")
    assert status == 200
    assert body == (ROOT / "static" / "css" / "portal.css").read_bytes()
    assert "immutable" in headers["Cache-Control"]


def test_slow_bodies_do_not_stop_the_site(shape):
    """Four clients trickle a body a byte at a time; gunicorn's only worker stays free."""
    stop = threading.Event()

    def trickle():
        with socket.create_connection(("127.0.0.1", shape["nginx"]), timeout=10) as slow:
            slow.sendall(
                b"POST /connexion/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 10000\r\n\r\n"
            )
            for _ in range(40):
                if stop.is_set():
                    return
                try:
                    slow.sendall(b"a")
                except OSError:
                    return
                time.sleep(0.1)

    threads = [threading.Thread(target=trickle, daemon=True) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.5)
        for _ in range(5):
            started = time.monotonic()
            status, _, _ = _request(shape["nginx"], "GET", "/healthz", timeout=3)
            assert status == 200
            assert time.monotonic() - started < 2
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)


@pytest.mark.parametrize(
    ("path", "over", "under"),
    [
        ("/", 3 * 2**20, 1 * 2**20),
        ("/verifier/SEGUR-X-2026-00001/", 7 * 2**20, 4 * 2**20),
        ("/candidatures/1/preuves/exigences/1/preuves/1/fichiers/", 56 * 2**20, None),
        ("/candidatures/1/preuves/lots/", 502 * 2**20, 56 * 2**20),
        ("/candidatures/1/eligibilite/", 61 * 2**20, None),
        ("/administration/referentiel/X/import/", 22 * 2**20, None),
        ("/registre/", 32 * 1024, 8 * 1024),
    ],
)
def test_oversize_bodies_stop_at_nginx(shape, path, over, under):
    headers = {"Content-Type": "application/octet-stream", "Content-Length": str(over)}
    # Only the headers go: nginx answers from the declared length, reading no body.
    connection_ = http.client.HTTPConnection("127.0.0.1", shape["nginx"], timeout=10)
    try:
        connection_.putrequest("POST", path)
        for name, value in headers.items():
            connection_.putheader(name, value)
        connection_.endheaders()
        response = connection_.getresponse()
        assert response.status == 413, path
        assert b"nginx" in response.read()
    finally:
        connection_.close()
    if under is not None:
        status, _, body = _request(
            shape["nginx"], "POST", path, body=b"x" * under,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )  # fmt: skip
        # Reached Django (its CSRF refusal, its 404, …), not nginx's 413.
        assert status != 413
        assert b"nginx" not in body


def _csrf(port) -> tuple[str, str]:
    status, headers, body = _request(port, "GET", "/connexion/")
    assert status == 200
    cookie = re.search(r"csrftoken=([^;]+)", headers["Set-Cookie"]).group(1)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()
    return cookie, token


@pytest.mark.django_db(transaction=True)
def test_a_rotating_x_forwarded_for_does_not_dodge_the_lock(shape):
    from urllib.parse import urlencode

    from axes.models import AccessAttempt

    user = UserFactory(email="cible@exemple.fr")
    cookie, token = _csrf(shape["nginx"])
    outcomes = []
    for n in range(30):
        status, _, body = _request(
            shape["nginx"],
            "POST",
            "/connexion/",
            body=urlencode(
                {"csrfmiddlewaretoken": token, "username": user.email, "password": f"faux-{n}"}
            ).encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": f"csrftoken={cookie}",
                "X-Forwarded-For": f"198.51.100.{n}",
            },
        )
        outcomes.append((status, "Connexion temporairement bloquée" in body.decode()))
    assert any(locked for _, locked in outcomes[5:20]), outcomes
    # The address recorded is the one nginx saw, never the header the client wrote.
    addresses = set(
        AccessAttempt.objects.filter(username=user.email).values_list("ip_address", flat=True)
    )
    assert addresses == {"127.0.0.1"}
    # The right password is refused too while the lock holds.
    status, _, body = _request(
        shape["nginx"],
        "POST",
        "/connexion/",
        body=urlencode(
            {"csrfmiddlewaretoken": token, "username": user.email, "password": TEST_PASSWORD}
        ).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={cookie}",
            "X-Forwarded-For": "203.0.113.99",
        },
    )
    assert status in (403, 429)
