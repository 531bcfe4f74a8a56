"""The portal's seal: what seal_pdf makes and what seal_verify says of genuine, re-saved,
altered and forged PDFs; the production configurations (PKCS#12, PKCS#11 token)."""

import hashlib
import io
import os
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.pdf_utils.reader import PdfFileReader

from segur_portal import demo_pki, seal, timestamping
from segur_portal.pdf import render_pdf
from tests.segur_portal import seal_samples

LABELS = ["Intégrité", "Signataire", "Horodatage", "Modifications"]


def _failed(report) -> list[str]:
    return [check.label for check in report.checks if not check.ok]


def test_a_genuine_pdf_passes_every_check():
    before = datetime.now(UTC)
    pdf = seal_samples.genuine_pdf()

    report = seal.seal_verify(pdf)
    assert [check.label for check in report.checks] == LABELS
    assert _failed(report) == []
    assert report.valid
    assert report.signer == demo_pki.SEAL_NAME
    assert before - timedelta(seconds=1) <= report.sealed_at <= datetime.now(UTC)
    assert report.sha256 == hashlib.sha256(pdf).hexdigest()
    # The demonstration says so in the signature itself.
    assert report.reason.startswith("Attestation de référencement — délivré par le Portail")
    assert "démonstration" in report.reason and report.demonstration
    assert "Horodaté le" in report.checks[2].detail
    assert demo_pki.TSA_NAME in report.checks[2].detail


def test_the_seal_is_pades_b_lta_certified_without_changes_allowed():
    reader = PdfFileReader(io.BytesIO(seal_samples.genuine_pdf()), strict=False)
    (signature,) = reader.embedded_regular_signatures
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    # Certification signature: no change allowed after it.
    assert signature.docmdp_level.value == 1
    # The signature's own timestamp (B-T) …
    unsigned = signature.signer_info["unsigned_attrs"]
    assert "signature_time_stamp_token" in [attribute["type"].native for attribute in unsigned]
    # … the chain's validation data in the document (B-LT) …
    dss = reader.root["/DSS"]
    assert len(dss["/Certs"]) >= 2 and len(dss["/CRLs"]) == 1
    # … and a document timestamp over it all (B-LTA).
    (archive,) = reader.embedded_timestamp_signatures
    assert archive.sig_object["/SubFilter"] == "/ETSI.RFC3161"


def test_a_pdf_re_saved_after_the_seal_is_told_apart():
    pdf = seal_samples.resaved_pdf(seal_samples.genuine_pdf())
    report = seal.seal_verify(pdf)
    assert not report.valid
    # The sealed bytes are intact; what came after is the problem.
    assert _failed(report) == ["Modifications"]
    assert "modifié après son scellement" in report.checks[3].detail


def test_a_pdf_altered_by_one_byte_is_told_apart():
    report = seal.seal_verify(seal_samples.altered_pdf(seal_samples.genuine_pdf()))
    assert not report.valid
    assert "Intégrité" in _failed(report)
    assert "ne correspond plus au contenu" in report.checks[0].detail


def test_a_pdf_sealed_by_a_look_alike_certificate_is_told_apart():
    report = seal.seal_verify(seal_samples.forged_pdf())
    assert not report.valid
    # Intact, timestamped by a real TSA, unchanged since: only its signer gives it away,
    # though it bears the portal's seal's name.
    assert _failed(report) == ["Signataire"]
    assert report.signer == demo_pki.SEAL_NAME
    assert "n’est pas le cachet du portail" in report.checks[1].detail


def test_an_unsigned_pdf_and_a_file_that_is_no_pdf_are_told_apart():
    unsigned = seal.seal_verify(seal_samples.plain_pdf())
    assert [(check.label, check.ok) for check in unsigned.checks] == [
        ("Cachet électronique", False)
    ]
    assert "aucun cachet" in unsigned.checks[0].detail
    garbage = seal.seal_verify(b"%PDF-1.7\n" + os.urandom(2000))
    assert not garbage.valid
    assert seal.seal_verify(b"bonjour").checks[0].detail == "Ce fichier n’est pas un PDF lisible."


def test_render_pdf_makes_pdf_a_3b_and_seals_it():
    pdf = render_pdf(
        "pdf/receipt.html",
        {"candidature": None, "soumission": None, "files": [], "links": [], "received": ""},
    )
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    (intent,) = reader.root["/OutputIntents"]
    assert intent["/S"] == "/GTS_PDFA1"
    assert "sRGB" in str(intent["/OutputConditionIdentifier"])
    metadata = reader.root["/Metadata"].get_object().data.decode()
    assert re.search(r"pdfaid:part>\s*3<|pdfaid:part=\"3\"", metadata)
    assert re.search(r"pdfaid:conformance>\s*B<|pdfaid:conformance=\"B\"", metadata)
    # The information dictionary says what the XMP metadata says (PDF/A, 6.7.3).
    producer = re.search(r'pdf:Producer="([^"]+)"', metadata).group(1)
    assert reader.trailer["/Info"]["/Producer"] == producer
    report = seal.seal_verify(pdf)
    assert report.valid
    assert report.reason.startswith("Récépissé de dépôt du dossier de preuves — délivré")


@pytest.fixture
def production_seal(tmp_path, settings):
    """A production-shaped seal: its own CA and PKCS#12 file, the TSA at an address."""
    now = datetime.now(UTC)
    ca_key, key = demo_pki._key(), demo_pki._key()
    ca = demo_pki._certificate(
        name="AC racine de test", key=ca_key, issuer=None, issuer_key=ca_key, now=now
    )
    certificate = demo_pki._certificate(
        name="Cachet serveur ANS", key=key, issuer=ca, issuer_key=ca_key, now=now
    )
    (tmp_path / "cachet.p12").write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"cachet", key, certificate, [ca], serialization.BestAvailableEncryption(b"phrase")
        )
    )
    # The trusted roots: this CA, and the (demonstration) TSA's.
    (tmp_path / "racines.pem").write_bytes(
        ca.public_bytes(serialization.Encoding.PEM) + demo_pki.demo_pki().ca_path.read_bytes()
    )
    settings.SEAL_DEMO = False
    settings.SEAL_PKCS12_PATH = str(tmp_path / "cachet.p12")
    settings.SEAL_PKCS12_PASSPHRASE = "phrase"
    settings.SEAL_TSA_URL = timestamping.local_service().url
    settings.SEAL_TRUST_ROOTS_PATH = str(tmp_path / "racines.pem")
    return tmp_path


def test_a_production_seal_from_a_pkcs12_file(production_seal):
    pdf = seal.seal_pdf(seal_samples.plain_pdf(), title="Attestation de référencement")
    report = seal.seal_verify(pdf)
    assert report.valid, report.checks
    assert report.signer == "Cachet serveur ANS"
    assert "démonstration" not in report.reason


def test_a_production_portal_does_not_recognise_the_demonstration_seal(production_seal, settings):
    settings.SEAL_DEMO, settings.SEAL_PKCS12_PATH = True, ""
    demo = seal.seal_pdf(seal_samples.plain_pdf(), title="Attestation de référencement")
    settings.SEAL_DEMO, settings.SEAL_PKCS12_PATH = False, str(production_seal / "cachet.p12")
    report = seal.seal_verify(demo)
    assert _failed(report) == ["Signataire"]


def test_an_earlier_seal_certificate_is_still_recognised(production_seal, settings):
    earlier = seal.seal_pdf(seal_samples.plain_pdf(), title="Attestation de référencement")
    (production_seal / "precedents.pem").write_bytes(
        seal.seal_certificate().dump()  # DER is read as well as PEM
    )
    settings.SEAL_PREVIOUS_CERTIFICATES_PATH = str(production_seal / "precedents.pem")
    settings.SEAL_PKCS12_PATH = str(demo_pki.demo_pki().seal_path)
    settings.SEAL_PKCS12_PASSPHRASE = demo_pki.demo_pki().passphrase.decode()
    assert seal.seal_verify(earlier).valid


def test_a_timestamping_service_out_of_reach_is_a_seal_error(settings):
    # A loopback port nothing listens on: refused at once.
    settings.SEAL_TSA_URL = "http://127.0.0.1:9/horodatage"
    with pytest.raises(seal.SealError, match="n’a pas pu être scellé"):
        seal.seal_pdf(seal_samples.plain_pdf(), title="Attestation de référencement")


def test_a_wrong_passphrase_is_a_seal_error(production_seal, settings):
    settings.SEAL_PKCS12_PASSPHRASE = "pas la bonne"
    with pytest.raises(seal.SealError, match="PKCS#12 illisible"):
        seal.seal_pdf(seal_samples.plain_pdf(), title="Attestation de référencement")


SOFTHSM = "/usr/lib/softhsm/libsofthsm2.so"


@pytest.fixture
def softhsm_token(tmp_path, monkeypatch):
    """A PKCS#11 token (SoftHSM, as an HSM would be) holding the demonstration seal's
    key and certificate."""
    if not (shutil.which("softhsm2-util") and os.path.exists(SOFTHSM)):
        pytest.fail("SoftHSM manque : scripts/system-deps.sh installe softhsm2")
    (tmp_path / "tokens").mkdir()
    (tmp_path / "softhsm2.conf").write_text(f"directories.tokendir = {tmp_path / 'tokens'}\n")
    monkeypatch.setenv("SOFTHSM2_CONF", str(tmp_path / "softhsm2.conf"))
    pki = demo_pki.demo_pki()
    key, certificate, _ = pkcs12.load_key_and_certificates(
        pki.seal_path.read_bytes(), pki.passphrase
    )
    (tmp_path / "cle.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    run = {"check": True, "capture_output": True, "env": os.environ}
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", "cachet-ans", "--pin", "1234",
         "--so-pin", "12345678"], **run,
    )  # fmt: skip
    subprocess.run(
        ["softhsm2-util", "--import", tmp_path / "cle.pem", "--token", "cachet-ans",
         "--label", "cachet", "--id", "01", "--pin", "1234"], **run,
    )  # fmt: skip
    import pkcs11

    token = pkcs11.lib(SOFTHSM).get_token(token_label="cachet-ans")
    with token.open(rw=True, user_pin="1234") as session:
        session.create_object(
            {
                pkcs11.Attribute.CLASS: pkcs11.ObjectClass.CERTIFICATE,
                pkcs11.Attribute.CERTIFICATE_TYPE: pkcs11.CertificateType.X_509,
                pkcs11.Attribute.TOKEN: True,
                pkcs11.Attribute.LABEL: "cachet",
                pkcs11.Attribute.ID: b"\x01",
                pkcs11.Attribute.SUBJECT: certificate.subject.public_bytes(),
                pkcs11.Attribute.VALUE: certificate.public_bytes(serialization.Encoding.DER),
            }
        )
    return certificate


def test_a_seal_kept_in_an_hsm_through_pkcs11(softhsm_token, settings):
    settings.SEAL_PKCS11_MODULE = SOFTHSM
    settings.SEAL_PKCS11_TOKEN_LABEL = "cachet-ans"
    settings.SEAL_PKCS11_KEY_LABEL = "cachet"
    settings.SEAL_PKCS11_PIN = "1234"
    pdf = seal.seal_pdf(seal_samples.plain_pdf(), title="Attestation de référencement")
    report = seal.seal_verify(pdf)
    assert report.valid, report.checks
    assert report.signer == demo_pki.SEAL_NAME
