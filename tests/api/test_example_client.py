"""scripts/deposer_preuves.py, the example client of docs/API.md, run as a vendor runs it:
a separate process, over HTTP, against the live portal, on the real DRIMbox dossier
(202 expected proofs). Its folder holds a real file per proof named by the proof's
identifier, a mapping for the identifiers only punctuation tells apart, and a file
named after nothing: every proof lands, checked and accepted, and the summary says so
in French, the stray file included."""

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings

from preuves.matching import words
from preuves.models import Depot
from segur_portal.enums import CompanyRole
from tests.api.conftest import ready_user, token_for
from tests.api.test_dossier import proof_file
from tests.preuves.dossiers import DRIMBOX_EXPECTED, drimbox_candidature

SCRIPT = Path(settings.BASE_DIR) / "scripts" / "deposer_preuves.py"


def _run(live_server, raw: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), live_server.url, *args],
        env={"SEGUR_API_TOKEN": raw, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture
def vendor(live_server, transactional_db, settings):
    # The script waits as Retry-After says; here the limit is out of the way.
    settings.RATELIMIT_API_TOKEN = "100000/m"
    candidature = drimbox_candidature()
    member = ready_user(candidature.editeur, company_role=CompanyRole.MANDATAIRE)
    return candidature, token_for(member, name="Chaîne de preuves")[1]


def _folder(tmp_path, candidature) -> tuple[Path, Path]:
    """A file per expected proof named after it, as a vendor's tooling names them; the
    mapping file for the proofs whose identifiers differ by punctuation only."""
    from preuves import depot as depot_services

    folder = tmp_path / "preuves"
    folder.mkdir()
    items = depot_services.dossier(candidature).items
    spelled = Counter(words(item.identifier) for item in items)
    mapping = {}
    for position, item in enumerate(items):
        formats = sorted(item.rule.allowed_mime_types) if item.rule.allowed_mime_types else None
        name, content, _mime = proof_file(
            {"identifiant": item.identifier, "regle": {"formats": formats}}
        )
        filename = f"{item.identifier.replace('/', '-')}_{position:03d}_{name}"
        if position == 0:
            # A name as people write them: spaces, accents, an apostrophe.
            filename = f"Écran d’accueil {filename}"
        (folder / filename).write_bytes(content)
        if spelled[words(item.identifier)] > 1:
            mapping[filename] = [item.key]
    (folder / "notes-internes.txt").write_text("À ne pas déposer.\n")
    correspondances = tmp_path / "correspondances.json"
    correspondances.write_text(json.dumps(mapping))
    return folder, correspondances


def test_the_example_client_deposits_a_whole_dossier(live_server, vendor, tmp_path):
    candidature, raw = vendor
    folder, correspondances = _folder(tmp_path, candidature)
    args = [str(candidature.pk), str(folder), "--correspondances", str(correspondances)]

    dry = _run(live_server, raw, *args, "--simulation")
    assert "Simulation : rien n’a été déposé." in dry.stdout, dry.stderr
    assert not Depot.objects.filter(candidature=candidature).exists()

    run = _run(live_server, raw, *args, "--attente", "60")
    # The stray file is not deposited: said, and the exit code tells it.
    assert run.returncode == 1, (run.stdout, run.stderr)
    out = run.stdout
    assert f"Candidature {candidature.pk} : {DRIMBOX_EXPECTED} preuve(s) attendue(s)" in out
    assert f"Fichiers envoyés : {DRIMBOX_EXPECTED + 1} ; reconnus : {DRIMBOX_EXPECTED}." in out
    assert "✗ notes-internes.txt : non déposé — Aucun identifiant de preuve dans le nom" in out
    assert f"Vérification : {DRIMBOX_EXPECTED} accepté(s), 0 refusé(s)" in out
    assert f"Dossier : {DRIMBOX_EXPECTED} preuve(s) fournie(s) sur {DRIMBOX_EXPECTED} ; 0" in out
    assert "Le dossier est complet" in out
    depots = Depot.objects.filter(candidature=candidature, removed_at=None)
    assert depots.count() == DRIMBOX_EXPECTED
    assert set(depots.values_list("fichier__status", flat=True)) == {"acceptee"}
    assert depots.filter(fichier__original_name__startswith="Écran d’accueil ").count() == 1


def test_the_example_client_says_why_the_api_refuses(live_server, vendor, tmp_path):
    candidature, raw = vendor
    folder = tmp_path / "vide"
    folder.mkdir()
    (folder / "x.pdf").write_bytes(b"%PDF-1.4\n")
    forged = _run(live_server, "sgr_" + "x" * 43, str(candidature.pk), str(folder))
    assert forged.returncode == 2
    assert "L’API a refusé l’appel (HTTP 401) : Indiquez un jeton valide" in forged.stderr
    other = _run(live_server, raw, str(candidature.pk + 1000), str(folder))
    assert other.returncode == 2
    assert "(HTTP 404) : Candidature introuvable." in other.stderr
    missing = _run(live_server, "", str(candidature.pk), str(folder))
    assert (missing.returncode, missing.stderr.strip()) == (
        2,
        "Indiquez le jeton dans la variable SEGUR_API_TOKEN.",
    )
