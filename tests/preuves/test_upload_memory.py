"""A 50 Mo video goes through the real HTTP stack without sitting in the server's memory.

The live server runs in this process: its peak resident memory (VmHWM) is reset through
/proc/self/clear_refs before the upload, and read after it. curl sends the file from
another process, as a browser would, in a multipart body.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.utils.crypto import get_random_string

from candidatures.models import CguAcceptance
from candidatures.proof_kinds import MO
from candidatures.services.onboarding import current_cgu
from preuves.enums import FichierStatus
from preuves.models import Depot
from tests.factories import company_user
from tests.preuves.corpus import mp4_bytes, write_sized
from tests.preuves.dossiers import eligible_candidature
from tests.preuves.test_dossier_views import _upload_url

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="Linux /proc requis"),
]

# What the server may add to its peak memory while receiving, storing and checking a
# 50 Mo file: the upload handlers keep 64 Kio chunks and spill to a temporary file.
MAX_GROWTH_KIB = 20 * 1024


def _peak_kib() -> int:
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")


def _curl(live_server, client, url: str, path: Path) -> tuple[int, str]:
    # A CSRF secret of our own, sent as the cookie and as the header, as the page does.
    token = get_random_string(32)
    session = client.cookies["sessionid"].value
    curl = shutil.which("curl")
    assert curl, "curl absent : installez le paquet Debian curl (make test le fait)"
    result = subprocess.run(
        [
            curl,
            "--silent",
            "--show-error",
            "--output",
            "-",
            "--write-out",
            "\n%{http_code}",
            "--cookie",
            f"sessionid={session}; csrftoken={token}",
            "--header",
            f"X-CSRFToken: {token}",
            "--header",
            "X-Upload: 1",
            "--form",
            f"files=@{path};type=video/mp4",
            f"{live_server.url}{url}",
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    body, _, code = result.stdout.rpartition("\n")
    assert code.isdigit(), result.stderr
    return int(code), body


@pytest.fixture
def member_client(client):
    def login(candidature):
        user = company_user(candidature.editeur)
        CguAcceptance.objects.create(user=user, cgu=current_cgu())
        client.force_login(user)
        return client

    return login


def test_a_50_mo_video_is_received_without_holding_it_in_memory(
    live_server, member_client, tmp_path
):
    candidature = eligible_candidature()
    client = member_client(candidature)
    video = tmp_path / "saisie.mp4"
    with video.open("wb") as target:
        write_sized(target, mp4_bytes(), 50 * MO)
    # A first small upload loads the code, templates and connections the request uses:
    # what is measured next is what the file's size costs.
    warm_up = tmp_path / "essai.mp4"
    warm_up.write_bytes(mp4_bytes())
    assert _curl(live_server, client, _upload_url(candidature, "INS.01.01.01"), warm_up)[0] == 200

    _reset_peak()
    before = _peak_kib()
    status, body = _curl(live_server, client, _upload_url(candidature, "INS.01.01.01"), video)
    growth = _peak_kib() - before

    assert status == 200, body
    assert "saisie.mp4" in body
    depot = Depot.objects.select_related("fichier").get(
        candidature=candidature, fichier__original_name="saisie.mp4"
    )
    assert depot.fichier.size == 50 * MO
    assert depot.fichier.status == FichierStatus.ACCEPTEE  # checked in-process (eager)
    assert growth < MAX_GROWTH_KIB, f"mémoire de pointe +{growth} Kio pour 50 Mo reçus"


def test_a_file_over_the_limit_is_cut_short_and_not_stored(live_server, member_client, tmp_path):
    candidature = eligible_candidature()
    client = member_client(candidature)
    video = tmp_path / "trop-longue.mp4"
    with video.open("wb") as target:
        write_sized(target, mp4_bytes(), 50 * MO + 1)

    _reset_peak()
    before = _peak_kib()
    status, body = _curl(live_server, client, _upload_url(candidature, "INS.01.01.01"), video)
    growth = _peak_kib() - before

    assert status == 413, body
    assert "dépasse la taille maximale de ce type de preuve (50 Mo)" in body
    assert not Depot.objects.exists()
    assert growth < MAX_GROWTH_KIB, f"mémoire de pointe +{growth} Kio pour un envoi refusé"
