"""A restart of PostgreSQL while a large proof is on its way does not lose the upload.

Why a cluster of the test's own: the fault is a real restart of the server (its
connections closed, the server back half a second later), and restarting the machine's
shared PostgreSQL would break everybody else's runs. So the test copies its database
into a throwaway cluster (initdb, pg_ctl, on a free port), points the portal (gunicorn,
production shape) at it, sends 40 Mo in a multipart body, restarts the cluster halfway
through, then sends the rest: the view has opened its connection before the body (the
session, the candidature) and must not use it dead after.
"""

import secrets
import shutil
import tempfile
import time
from http.client import HTTPConnection
from pathlib import Path

import psycopg2
import pytest
from django.db import connection
from django.utils.crypto import get_random_string

from candidatures.models import CguAcceptance
from candidatures.proof_kinds import MO
from candidatures.services.onboarding import current_cgu
from preuves.enums import FichierStatus
from tests.factories import company_user
from tests.preuves.corpus import mp4_bytes, write_sized
from tests.preuves.dossiers import eligible_candidature
from tests.preuves.test_dossier_views import _upload_url
from tests.processes import PG_BIN, PostgresCluster, portal_env, start_gunicorn, stop
from tests.worker import _test_database_url

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not (PG_BIN / "initdb").exists(), reason="PostgreSQL 15 absent"),
]

SIZE = 40 * MO
CHUNK = 2**20


@pytest.fixture
def cluster():
    if connection.vendor != "postgresql":
        pytest.skip("la copie de la base de test suppose PostgreSQL")
    # Outside pytest's folders, which only root may enter: the cluster runs as postgres.
    folder = Path(tempfile.mkdtemp(prefix="segur-pg-"))
    cluster = PostgresCluster(folder)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _backends(database_url: str) -> int:
    with psycopg2.connect(database_url) as probe, probe.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_a_40_mo_upload_survives_a_database_restart_midway(cluster, client, tmp_path):
    candidature = eligible_candidature()
    user = company_user(candidature.editeur)
    CguAcceptance.objects.create(user=user, cgu=current_cgu())
    client.force_login(user)
    session = client.cookies["sessionid"].value
    database_url = cluster.copy_of(_test_database_url(), "portail")
    server, port = start_gunicorn(
        portal_env(database_url, SEGUR_VAR_DIR=str(tmp_path), CELERY_TASK_ALWAYS_EAGER="1"),
        tmp_path / "gunicorn.log",
    )
    video = tmp_path / "saisie.mp4"
    with video.open("wb") as target:
        write_sized(target, mp4_bytes(), SIZE)
    boundary = secrets.token_hex(16)
    head = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="files"; filename="saisie.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    token = get_random_string(32)
    upload = HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        upload.putrequest("POST", _upload_url(candidature, "INS.01.01.01"))
        for name, value in {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(len(head) + SIZE + len(tail)),
            "Cookie": f"sessionid={session}; csrftoken={token}",
            "X-CSRFToken": token,
            # As the page's uploader sends it: the answer is the proof's fragment.
            "X-Upload": "1",
        }.items():
            upload.putheader(name, value)
        upload.endheaders()
        upload.send(head)
        with video.open("rb") as source:
            for _ in range(SIZE // CHUNK // 2):
                upload.send(source.read(CHUNK))
            # The view has read the session and the candidature: its connection is open.
            deadline = time.monotonic() + 30
            while not _backends(database_url):
                assert time.monotonic() < deadline, "le portail n’a pas ouvert de connexion"
                time.sleep(0.1)
            cluster.restart()
            while chunk := source.read(CHUNK):
                upload.send(chunk)
        upload.send(tail)
        response = upload.getresponse()
        body = response.read().decode()
    finally:
        upload.close()
        stop(server)

    assert response.status == 200, (tmp_path / "gunicorn.log").read_text()[-3000:]
    assert "saisie.mp4" in body
    with psycopg2.connect(database_url) as check, check.cursor() as cursor:
        cursor.execute(
            "SELECT size, status FROM preuves_fichier WHERE original_name = %s", ["saisie.mp4"]
        )
        assert cursor.fetchall() == [(SIZE, FichierStatus.ACCEPTEE)]
