"""`manage.py verifier_pdf`: the verification page's checks, offline, with an exit code."""

import io
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from tests.college.test_registre import referenced
from tests.segur_portal import seal_samples

pytestmark = pytest.mark.django_db


def _verify(*args) -> str:
    out = io.StringIO()
    call_command("verifier_pdf", *args, stdout=out, no_color=True)
    return out.getvalue()


def _refused(*args) -> str:
    out = io.StringIO()
    with pytest.raises(CommandError, match="Document\\(s\\) non valide\\(s\\)"):
        call_command("verifier_pdf", *args, stdout=out, no_color=True)
    return out.getvalue()


def test_a_delivered_attestation_passes_every_check(tmp_path):
    pdf = seal_samples.genuine_pdf()
    attestation = referenced(pdf=pdf)
    (tmp_path / "attestation.pdf").write_bytes(pdf)

    output = _verify(str(tmp_path / "attestation.pdf"))
    for label in ["Intégrité", "Signataire", "Horodatage", "Modifications"]:
        assert f"✓ {label} — " in output
    assert "✓ Empreinte enregistrée — document enregistré le" in output
    assert f"attestation n° {attestation.numero}, valide à ce jour" in output
    assert "Document valide." in output


def test_a_re_saved_and_a_forged_pdf_fail_and_say_why(tmp_path):
    genuine = seal_samples.genuine_pdf()
    referenced(pdf=genuine)
    (tmp_path / "reenregistree.pdf").write_bytes(seal_samples.resaved_pdf(genuine))
    (tmp_path / "contrefaite.pdf").write_bytes(seal_samples.forged_pdf())

    output = _refused(str(tmp_path / "reenregistree.pdf"), str(tmp_path / "contrefaite.pdf"))
    resaved, forged = output.split("contrefaite.pdf\n")
    assert "✗ Modifications — Le fichier a été modifié après son scellement" in resaved
    assert "✓ Intégrité" in resaved
    assert "✗ Signataire — Le signataire « Cachet de démonstration" in forged
    assert "✗ Empreinte enregistrée — aucun document du portail n’a cette empreinte." in forged
    assert output.count("Document NON valide.") == 2


def test_a_sealed_pdf_the_database_does_not_know_passes_on_its_seal_alone(tmp_path):
    (tmp_path / "copie.pdf").write_bytes(seal_samples.genuine_pdf())
    assert "✗ Empreinte enregistrée" in _refused(str(tmp_path / "copie.pdf"))
    output = _verify("--cachet-seul", str(tmp_path / "copie.pdf"))
    assert "Empreinte enregistrée" not in output
    assert "Document valide." in output


def test_a_missing_file_is_said(tmp_path):
    assert "✗ Fichier illisible" in _refused(str(tmp_path / "absent.pdf"))


def test_the_exit_code_says_whether_the_document_holds(tmp_path):
    """As a script would run it: 0 for the genuine seal, 1 for the forged one."""
    (tmp_path / "authentique.pdf").write_bytes(seal_samples.genuine_pdf())
    (tmp_path / "contrefaite.pdf").write_bytes(seal_samples.forged_pdf())

    def run(name):
        return subprocess.run(
            [sys.executable, "manage.py", "verifier_pdf", "--cachet-seul", tmp_path / name],
            cwd=settings.BASE_DIR, env=os.environ, capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    genuine = run("authentique.pdf")
    assert genuine.returncode == 0, genuine.stderr
    forged = run("contrefaite.pdf")
    assert forged.returncode == 1
    assert "non valide" in forged.stderr
