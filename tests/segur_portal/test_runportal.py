"""`make run`'s server, started for real in the embedded shape."""

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

import pytest
from django.conf import settings

from tests.processes import free_port
from tests.worker import wait_for

EMBEDDED_ONLY = {
    "DATABASE_URL", "REDIS_URL", "EMAIL_BACKEND", "DJANGO_SECRET_KEY", "DEBUG", "SITE_URL",
    "ALLOWED_HOSTS",
}  # fmt: skip


def _get(url: str):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.headers, response.read()
    except OSError:
        return None


@pytest.fixture(scope="module")
def embedded_folder(tmp_path_factory):
    return tmp_path_factory.mktemp("embedded")


@pytest.fixture(scope="module")
def embedded_server(embedded_folder):
    # One server for the module: migrating a fresh SQLite database takes half a minute.
    env = {k: v for k, v in os.environ.items() if k not in EMBEDDED_ONLY}
    env["SEGUR_VAR_DIR"] = str(embedded_folder)
    manage = [sys.executable, "manage.py"]
    # As `make run` prepares it.
    for command in (["migrate", "--noinput", "-v0"], ["createcachetable"]):
        subprocess.run([*manage, *command], env=env, cwd=settings.BASE_DIR, check=True)
    port = free_port()
    with (embedded_folder / "runportal.log").open("wb") as log:
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


def _form(base: str, path: str) -> tuple[str, str]:
    """The CSRF cookie and the form's token of a page."""
    with urllib.request.urlopen(f"{base}{path}", timeout=5) as response:
        cookie = re.search(r"csrftoken=([^;]+)", response.headers["Set-Cookie"]).group(1)
        page = response.read().decode()
    return cookie, re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


def test_runportal_links_lead_to_the_address_it_binds(embedded_server, embedded_folder):
    cookie, token = _form(embedded_server, "/inscription/")
    request = urllib.request.Request(
        f"{embedded_server}/inscription/",
        data=urllib.parse.urlencode(
            {
                "csrfmiddlewaretoken": token,
                "email": "jeanne@exemple.fr",
                "first_name": "Jeanne",
                "last_name": "Barret",
                "password1": "un-mot-de-passe-solide",
                "password2": "un-mot-de-passe-solide",
            }
        ).encode(),
        headers={"Cookie": f"csrftoken={cookie}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    mails = "".join(path.read_text() for path in (embedded_folder / "mail").iterdir())
    # The port of this server, not the 8000 of the default.
    assert f"{embedded_server}/inscription/confirmer/" in mails


def test_runportal_answers_an_unknown_address_with_the_portals_page(embedded_server):
    # The demo runs with DEBUG on: still the French page, never the URL patterns.
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(f"{embedded_server}/nexiste-pas/", timeout=5)
    assert error.value.code == 404
    page = error.value.read().decode()
    assert "Page introuvable" in page
    assert "URLconf" not in page
