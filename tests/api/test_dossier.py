"""A whole dossier through the API, on the real DRIMbox REM (RAD-DRIMBOX-Va2, profile
Général: 202 expected proofs), as a vendor's tooling would deposit it: the expected
proofs read from the API, a real file of an accepted format sent for each (one call per
proof for the first ones, the others in one bulk call), each file checked by the worker's real path
(type read by libmagic, structure, the test clamd), its status read back, then the
dossier submitted and its sealed receipt fetched."""

import io
import json
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from preuves.matching import words
from segur_portal.enums import CompanyRole, JournalKind
from segur_portal.models import JournalEntry
from tests.api.conftest import ApiClient, ready_user, token_for
from tests.preuves.dossiers import DRIMBOX_EXPECTED, drimbox_candidature

DEMO = Path(settings.BASE_DIR) / "fixtures" / "demo"
# Proofs sent one call each; the others go in one bulk call.
ONE_BY_ONE = 30
# The demonstration files, by the type libmagic reads in them.
SAMPLES = [
    ("image/png", "capture-ecran.png"),
    ("application/pdf", "compte-rendu.pdf"),
    ("video/mp4", "demonstration.mp4"),
]


def proof_file(preuve: dict) -> tuple[str, bytes, str]:
    """A real file of a format the proof accepts, as the API lists its formats."""
    formats = preuve["regle"]["formats"]
    if formats is None:
        return "journal.log", f"{preuve['identifiant']} : appel réussi\n".encode(), "text/plain"
    for mime, name in SAMPLES:
        if mime in formats:
            return name, (DEMO / name).read_bytes(), mime
    raise AssertionError(f"aucun fichier de démonstration pour {preuve['identifiant']}")


@pytest.fixture
def drimbox(db):
    candidature = drimbox_candidature()
    member = ready_user(candidature.editeur, company_role=CompanyRole.MANDATAIRE)
    return candidature, member


@pytest.fixture
def api(client, drimbox, settings):
    # 120 calls a minute by default: 200 uploads take a client two minutes, waiting as
    # Retry-After says (scripts/deposer_preuves.py does). Here, no wait.
    settings.RATELIMIT_API_TOKEN = "1000/m"
    return ApiClient(client, token_for(drimbox[1], name="Banc de preuves")[1])


def _submit_and_check(api, candidature, checks) -> None:
    base = f"/api/v1/candidatures/{candidature.pk}"
    dossier = api.get(f"{base}/preuves").json()
    assert (dossier["attendues"], dossier["fournies"], dossier["manquantes"]) == (
        DRIMBOX_EXPECTED,
        DRIMBOX_EXPECTED,
        0,
    )
    with checks(execute=True):
        response = api.post(f"{base}/soumission")
    assert response.status_code == 201, response.content
    assert response.json()["etat"]["code"] == "dossier_soumis"
    detail = api.get(base).json()
    assert detail["etat"] == {"code": "dossier_soumis", "libelle": detail["etat"]["libelle"]}
    assert detail["dossier_soumis_le"] is not None
    # The receipt, sealed once the submission committed.
    (recepisse,) = api.get(f"{base}/documents").json()["recepisses"]
    assert recepisse["fichier"]["statut"]["code"] == "acceptee"
    pdf = api.get(f"{base}/recepisse")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")
    # Nothing more to deposit once submitted (J6 rules, as on the page).
    assert not api.get(f"{base}/preuves").json()["soumissible"]


def _archive(preuves: list[dict]) -> tuple[bytes, dict[str, list[str]]]:
    """One ZIP of these proofs, each file named after its proof; the proofs whose
    identifiers only punctuation tells apart (DB.VI-CO.11 and DB/VI-CO.11 in the real
    REM) are named in `correspondances` by their key, as a client reads it in the list."""
    spelled = Counter(words(preuve["identifiant"]) for preuve in preuves)
    buffer = io.BytesIO()
    mapping = {}
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for position, preuve in enumerate(preuves):
            name, content, _mime = proof_file(preuve)
            label = preuve["identifiant"].replace("/", "-")
            filename = f"preuves/{position:03d}_{label}_{name}"
            archive.writestr(filename, content)
            if spelled[words(preuve["identifiant"])] > 1:
                mapping[filename] = [preuve["cle"]]
    return buffer.getvalue(), mapping


def test_a_whole_dossier_deposited_through_the_api_then_submitted(
    api, drimbox, django_capture_on_commit_callbacks
):
    """The first proofs one call each, their status polled; the others, 160 and more,
    in one bulk call (a dry run first); then the submission."""
    candidature, _member = drimbox
    base = f"/api/v1/candidatures/{candidature.pk}"
    dossier = api.get(f"{base}/preuves").json()
    assert (dossier["attendues"], dossier["manquantes"], dossier["soumissible"]) == (
        DRIMBOX_EXPECTED,
        DRIMBOX_EXPECTED,
        True,
    )
    preuves = dossier["preuves"]
    assert len(preuves) == DRIMBOX_EXPECTED
    assert not any(preuve["accepte_un_lien"] for preuve in preuves)  # files only here
    one_by_one, in_bulk = preuves[:ONE_BY_ONE], preuves[ONE_BY_ONE:]

    sent = {}
    for preuve in one_by_one:
        name, content, mime = proof_file(preuve)
        url = f"{base}/preuves/{preuve['exigence_id']}/{preuve['preuve_id']}/fichiers"
        # The check is queued when the upload commits: here it runs then, in this process.
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(url, {"fichier": SimpleUploadedFile(name, content)})
        assert response.status_code == 201, (preuve["identifiant"], response.content)
        fichier = response.json()["fichier"]
        assert fichier["statut"]["code"] == "en_verification"
        assert fichier["taille"] == len(content)
        sent[fichier["id"]] = mime
    # Each file's status, read back as a client polls it: accepted, its type read in it.
    for fichier_id, mime in sent.items():
        status = api.get(f"/api/v1/fichiers/{fichier_id}").json()
        assert (status["statut"]["code"], status["type_detecte"]) == ("acceptee", mime), status
    assert api.get(f"{base}/preuves").json()["fournies"] == ONE_BY_ONE

    content, mapping = _archive(in_bulk)
    assert mapping  # the real REM has such identifiers
    body = {"correspondances": json.dumps(mapping)}
    # A dry run first: the mapping, nothing deposited.
    simulation = api.post(
        f"{base}/depot-groupe",
        {**body, "fichiers": [SimpleUploadedFile("dossier.zip", content)], "simulation": "true"},
    )
    assert simulation.status_code == 200, simulation.content
    assert simulation.json()["deposes"] == 0
    assert api.get(f"{base}/preuves").json()["fournies"] == ONE_BY_ONE
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"{base}/depot-groupe",
            {**body, "fichiers": [SimpleUploadedFile("dossier.zip", content)]},
        )
    assert response.status_code == 201, response.content
    report = response.json()
    assert report["deposes"] == len(in_bulk) == len(report["fichiers"])
    assert all(row["fichier"] and len(row["preuves"]) == 1 for row in report["fichiers"])
    assert {row["correspondance"]["code"] for row in report["fichiers"]} == {"reconnu", "ambigu"}

    # Every file checked and accepted: each proof « fournie ».
    _submit_and_check(api, candidature, django_capture_on_commit_callbacks)
    # Every call is in the journal, with the token's name.
    calls = JournalEntry.objects.filter(kind=JournalKind.API_APPEL)
    assert Counter(entry.data["token_name"] for entry in calls) == {"Banc de preuves": api.calls}
