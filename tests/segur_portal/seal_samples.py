"""PDFs to verify: genuine (sealed by the portal), re-saved after sealing, altered byte
by byte, and forged (sealed by a certificate anyone can make, same name as the portal's,
timestamped by the portal's own TSA as any public TSA would)."""

from datetime import UTC, datetime
from functools import cache
from io import BytesIO

from pyhanko.keys.internal import (
    translate_pyca_cryptography_cert_to_asn1,
    translate_pyca_cryptography_key_to_asn1,
)
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko_certvalidator.registry import SimpleCertificateStore
from weasyprint import HTML

from segur_portal import demo_pki
from segur_portal.seal import SEAL_FIELD, seal_pdf
from segur_portal.timestamping import outside_event_loop, timestamper

TITLE = "Attestation de référencement"


def plain_pdf(text: str = "Version 7.2.1") -> bytes:
    return HTML(
        string=f"<h1>Attestation de référencement Ségur</h1><p>Document de test. {text}</p>"
    ).write_pdf()


def genuine_pdf(text: str = "Version 7.2.1") -> bytes:
    return seal_pdf(plain_pdf(text), title=TITLE)


def resaved_pdf(sealed: bytes) -> bytes:
    """What a PDF editor leaves after « Enregistrer » with a note added: an incremental
    update after the seal. The sealed bytes are all there, unchanged."""
    writer = IncrementalPdfFileWriter(BytesIO(sealed), strict=False)
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    note = generic.DictionaryObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/Annot"),
            generic.NameObject("/Subtype"): generic.NameObject("/Text"),
            generic.NameObject("/Rect"): generic.ArrayObject(
                [generic.FloatObject(value) for value in (50, 700, 70, 720)]
            ),
            generic.NameObject("/Contents"): generic.TextStringObject("Version 9.9.9"),
        }
    )
    page[generic.NameObject("/Annots")] = generic.ArrayObject([writer.add_object(note)])
    writer.update_container(page)
    output = BytesIO()
    writer.write(output)
    return output.getvalue()


def altered_pdf(sealed: bytes) -> bytes:
    """One byte changed inside what the seal covers (the document's producer)."""
    at = sealed.index(b"/Producer") + len(b"/Producer (")
    return sealed[:at] + bytes([sealed[at] ^ 0x01]) + sealed[at + 1 :]


@cache
def forger_signer() -> signers.Signer:
    now = datetime.now(UTC)
    ca_key, key = demo_pki._key(), demo_pki._key()
    ca = demo_pki._certificate(
        name=demo_pki.CA_NAME, key=ca_key, issuer=None, issuer_key=ca_key, now=now
    )
    certificate = demo_pki._certificate(
        name=demo_pki.SEAL_NAME, key=key, issuer=ca, issuer_key=ca_key, now=now
    )
    registry = SimpleCertificateStore()
    registry.register(translate_pyca_cryptography_cert_to_asn1(ca))
    return signers.SimpleSigner(
        signing_cert=translate_pyca_cryptography_cert_to_asn1(certificate),
        signing_key=translate_pyca_cryptography_key_to_asn1(key),
        cert_registry=registry,
    )


@outside_event_loop
def forged_pdf(text: str = "Version 7.2.1") -> bytes:
    metadata = signers.PdfSignatureMetadata(
        field_name=SEAL_FIELD,
        md_algorithm="sha256",
        reason=f"{TITLE} — délivré par le Portail de référencement Ségur",
        subfilter=fields.SigSeedSubFilter.PADES,
    )
    output = signers.PdfSigner(
        metadata, signer=forger_signer(), timestamper=timestamper()
    ).sign_pdf(IncrementalPdfFileWriter(BytesIO(plain_pdf(text)), strict=False))
    return output.getvalue()
