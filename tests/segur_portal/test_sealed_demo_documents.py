"""The four kinds of PDF of the demonstration (attestation, convention as issued and as
signed, minutes of the séance, receipt of the dossier), checked with standard tools only:
`pdfsig` (poppler) with the published CA trusted, `openssl ts` for the timestamp."""

import hashlib
import io
import re
import subprocess

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command

from college.models import Attestation, Convention, Seance
from preuves.models import DossierSoumission
from segur_portal import demo_pki, seal

pytestmark = pytest.mark.django_db


def _content(fichier) -> bytes:
    with default_storage.open(fichier.storage_name, "rb") as stored:
        return stored.read()


def _demo_documents() -> dict:
    attestation = Attestation.objects.exclude(fichier=None).select_related("fichier").first()
    convention = Convention.objects.exclude(signed_document=None).select_related(
        "document", "signed_document"
    ).first()  # fmt: skip
    seance = Seance.objects.exclude(minutes=None).select_related("minutes").first()
    soumission = DossierSoumission.objects.exclude(receipt=None).select_related("receipt").first()
    return {
        "attestation": attestation.fichier,
        "convention émise": convention.document,
        "convention signée": convention.signed_document,
        "procès-verbal": seance.minutes,
        "récépissé": soumission.receipt,
    }


@pytest.fixture
def nss_trusting_the_demo_ca(tmp_path):
    """An NSS database (what pdfsig reads) where the published CA is trusted for signed
    documents, as a financing body would set up its own (docs/VERIFICATION.md)."""
    database = f"sql:{tmp_path / 'nss'}"
    (tmp_path / "nss").mkdir()
    subprocess.run(["certutil", "-N", "-d", database, "--empty-password"], check=True)
    subprocess.run(
        ["certutil", "-A", "-d", database, "-n", "AC du portail", "-t", ",C,",
         "-i", demo_pki.demo_pki().ca_path], check=True,
    )  # fmt: skip
    return database


def _signatures(pdfsig_output: str) -> list[str]:
    return re.split(r"^Signature #\d+:$", pdfsig_output, flags=re.MULTILINE)[1:]


def test_pdfsig_finds_a_valid_seal_and_a_timestamp_on_every_demo_document(
    settings, tmp_path, nss_trusting_the_demo_ca, django_capture_on_commit_callbacks
):
    settings.DEBUG = True
    # The documents are rendered by tasks queued after the commit.
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=io.StringIO())

    documents = _demo_documents()
    assert len(documents) == 5
    for kind, fichier in documents.items():
        content = _content(fichier)
        # The stored hash is the sealed document's.
        assert fichier.sha256 == hashlib.sha256(content).hexdigest(), kind
        path = tmp_path / f"{fichier.id}.pdf"
        path.write_bytes(content)
        result = subprocess.run(
            ["pdfsig", "-nssdir", nss_trusting_the_demo_ca, path],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert result.returncode == 0, (kind, result.stdout, result.stderr)
        sealed, archived = _signatures(result.stdout)
        assert f"Signer Certificate Common Name: {demo_pki.SEAL_NAME}" in sealed, kind
        assert "Signature Validation: Signature is Valid." in sealed, kind
        assert "Certificate Validation: Certificate is Trusted." in sealed, kind
        # The second is the document timestamp, signed by the timestamping service.
        assert f"Signer Certificate Common Name: {demo_pki.TSA_NAME}" in archived, kind
        # It is the last thing in the file: nothing was added after it.
        assert "Total document signed" in archived, kind

        # pdfsig 22 does not check an RFC 3161 token itself: openssl does, over the bytes
        # the timestamp covers (the ranges pdfsig prints), the token as pdfsig dumps it.
        subprocess.run(["pdfsig", "-dump", path], capture_output=True, cwd=tmp_path, check=True)
        ranges = re.search(r"Signed Ranges: \[(\d+) - (\d+)\], \[(\d+) - (\d+)\]", archived)
        start1, end1, start2, end2 = map(int, ranges.groups())
        (tmp_path / "couvert").write_bytes(content[start1:end1] + content[start2:end2])
        verified = subprocess.run(
            ["openssl", "ts", "-verify", "-token_in", "-in", f"{path}.sig1",
             "-data", tmp_path / "couvert", "-CAfile", demo_pki.demo_pki().ca_path],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert "Verification: OK" in verified.stdout, (kind, verified.stderr)

        report = seal.seal_verify(content)
        assert report.valid, (kind, report.checks)
        assert "démonstration" in report.reason, kind
