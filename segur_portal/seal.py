"""The portal's electronic seal (cachet) on every PDF it issues, and its verification.

`seal_pdf` signs a PDF with the portal's seal certificate: PAdES, certified (no change
allowed afterwards), with an RFC 3161 timestamp of the signature (B-T), the validation
data of the chain in the document (B-LT) and a document timestamp over it all (B-LTA,
which `pdfsig` lists as a second signature, the TSA's). `seal_verify` checks a PDF
without trusting anything the file or the database says: integrity of the signature,
signer being the portal's seal certificate from a trusted root, timestamp, and nothing
changed since.

The key is a PKCS#12 file (SEAL_PKCS12_PATH) or a PKCS#11 token, an HSM
(SEAL_PKCS11_MODULE); with SEAL_DEMO, the demonstration PKI's (segur_portal/demo_pki.py)
and every signature reason says « démonstration ».
"""

import hashlib
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.asymmetric.ec import ECDSA, EllipticCurvePrivateKey
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import pkcs12
from django.conf import settings
from pyhanko.keys.internal import (
    translate_pyca_cryptography_cert_to_asn1,
    translate_pyca_cryptography_key_to_asn1,
)
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata.model import VENDOR
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.signers.pdf_signer import DSSContentSettings, TimestampDSSContentSettings
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from segur_portal.clocks import format_paris_datetime
from segur_portal.demo_pki import demo_pki
from segur_portal.timestamping import (
    load_certificates,
    outside_event_loop,
    timestamper,
    validation_context,
)

logger = logging.getLogger(__name__)

SEAL_FIELD = "CachetPortailSegur"
ISSUER = "Portail de référencement Ségur (Agence du Numérique en Santé)"
DEMONSTRATION = "document de démonstration, sans valeur officielle"
# A seal certificate carries one or both: nonRepudiation (contentCommitment) is what the
# eIDAS seal profiles ask for, digitalSignature what many CAs also set.
KEY_USAGE = {"non_repudiation", "digital_signature"}
# What may follow the seal without altering the document: the validation data and the
# archive timestamp the portal adds itself (pyHanko's "LTA updates").
UNMODIFIED = {ModificationLevel.NONE, ModificationLevel.LTA_UPDATES}


class SealError(Exception):
    """The seal cannot be applied (key, certificate or timestamping service missing)."""


# The signer


class _Pkcs12Signer(signers.SimpleSigner):
    """pyHanko's in-memory signer, its private key parsed once: pyHanko parses it again
    for every signature, a tenth of a second for an RSA key, twice per document."""

    def __init__(self, *, private_key, **kwargs):
        super().__init__(**kwargs)
        self._private_key = private_key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
        name = mechanism["algorithm"].native
        hash_algorithm = get_pyca_cryptography_hash(digest_algorithm)
        rsa = name.endswith("rsa") or name == "rsassa_pkcs1v15"
        if rsa and isinstance(self._private_key, RSAPrivateKey):
            return self._private_key.sign(data, PKCS1v15(), hash_algorithm)
        if name.endswith("ecdsa") and isinstance(self._private_key, EllipticCurvePrivateKey):
            return self._private_key.sign(data, ECDSA(hash_algorithm))
        return super().sign_raw(data, digest_algorithm)


def _pkcs12_signer(path: Path, passphrase: bytes, extra: tuple) -> signers.Signer:
    try:
        key, certificate, chain = pkcs12.load_key_and_certificates(path.read_bytes(), passphrase)
    except (OSError, ValueError) as error:
        raise SealError(f"Cachet : PKCS#12 illisible ({path}) : {error}") from error
    if key is None or certificate is None:
        raise SealError(f"Cachet : le fichier PKCS#12 {path} ne contient pas de clé et certificat.")
    as_asn1 = translate_pyca_cryptography_cert_to_asn1
    registry = SimpleCertificateStore()
    registry.register_multiple([as_asn1(cert) for cert in chain] + list(extra))
    return _Pkcs12Signer(
        private_key=key,
        signing_key=translate_pyca_cryptography_key_to_asn1(key),
        signing_cert=as_asn1(certificate),
        cert_registry=registry,
    )


def _pkcs11_signer(extra: tuple) -> signers.Signer:
    # Imported here: python-pkcs11 is only needed by the portals that use an HSM.
    from pyhanko.config.pkcs11 import TokenCriteria
    from pyhanko.sign.pkcs11 import PKCS11Signer, open_pkcs11_session

    try:
        session = open_pkcs11_session(
            settings.SEAL_PKCS11_MODULE,
            token_criteria=TokenCriteria(label=settings.SEAL_PKCS11_TOKEN_LABEL),
            user_pin=settings.SEAL_PKCS11_PIN or None,
        )
    except Exception as error:
        # python-pkcs11 raises its own hierarchy, and a missing module an OSError.
        raise SealError(f"Cachet : jeton PKCS#11 inaccessible : {error!r}") from error
    return PKCS11Signer(
        session,
        key_label=settings.SEAL_PKCS11_KEY_LABEL,
        cert_label=settings.SEAL_PKCS11_CERT_LABEL or settings.SEAL_PKCS11_KEY_LABEL,
        ca_chain=extra,
    )


@lru_cache(maxsize=4)
def _signer(configuration: tuple, pid: int) -> signers.Signer:
    # Keyed by the settings that make it and by the process: a PKCS#11 session does not
    # survive a fork, and the tests change the settings.
    kind = configuration[0]
    extra = (
        tuple(load_certificates(settings.SEAL_CERTIFICATES_PATH))
        if settings.SEAL_CERTIFICATES_PATH
        else ()
    )
    if kind == "pkcs11":
        return _pkcs11_signer(extra)
    _, path, passphrase = configuration
    return _pkcs12_signer(Path(path), passphrase, extra)


def _configuration() -> tuple:
    if settings.SEAL_PKCS11_MODULE:
        return (
            "pkcs11",
            settings.SEAL_PKCS11_MODULE,
            settings.SEAL_PKCS11_TOKEN_LABEL,
            settings.SEAL_PKCS11_KEY_LABEL,
            settings.SEAL_PKCS11_CERT_LABEL,
            settings.SEAL_CERTIFICATES_PATH,
        )
    if settings.SEAL_PKCS12_PATH:
        return (
            "pkcs12",
            settings.SEAL_PKCS12_PATH,
            settings.SEAL_PKCS12_PASSPHRASE.encode() or None,
        )
    if settings.SEAL_DEMO:
        pki = demo_pki()
        return ("pkcs12", str(pki.seal_path), pki.passphrase)
    raise SealError("Aucun cachet configuré (SEAL_PKCS12_PATH ou SEAL_PKCS11_MODULE).")


def seal_signer() -> signers.Signer:
    return _signer(_configuration(), os.getpid())


def seal_certificate() -> asn1_x509.Certificate:
    return seal_signer().signing_cert


def recognised_certificates() -> list[asn1_x509.Certificate]:
    """The seal's certificate, and its earlier ones whose documents still stand."""
    previous = (
        load_certificates(settings.SEAL_PREVIOUS_CERTIFICATES_PATH)
        if settings.SEAL_PREVIOUS_CERTIFICATES_PATH
        else []
    )
    return [seal_certificate(), *previous]


def is_demonstration() -> bool:
    return settings.SEAL_DEMO and not (settings.SEAL_PKCS12_PATH or settings.SEAL_PKCS11_MODULE)


# Sealing


def seal_reason(title: str) -> str:
    reason = f"{title} — délivré par le {ISSUER}"
    return f"{reason} — {DEMONSTRATION}" if is_demonstration() else reason


@outside_event_loop
def seal_pdf(content: bytes, *, title: str) -> bytes:
    """The PDF, sealed and timestamped. Its SHA-256 is the one to store."""
    metadata = signers.PdfSignatureMetadata(
        field_name=SEAL_FIELD,
        md_algorithm="sha256",
        reason=seal_reason(title),
        location="Paris, France",
        contact_info=settings.SITE_URL + "/verifier/certificat/",
        subfilter=fields.SigSeedSubFilter.PADES,
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
        embed_validation_info=True,
        use_pades_lta=True,
        timestamp_field_name=f"{SEAL_FIELD}Horodatage",
        validation_context=validation_context(embedding=True),
        signer_key_usage=KEY_USAGE,
        # The validation data goes in before the document timestamp, which then covers the
        # whole file: `pdfsig` reads it as « Total document signed ». (VRI entries, which
        # would need a revision after it, are deprecated by PAdES.)
        dss_settings=DSSContentSettings(
            include_vri=False,
            next_ts_settings=TimestampDSSContentSettings(include_vri=False, update_before_ts=True),
        ),
    )
    writer = IncrementalPdfFileWriter(BytesIO(content), strict=False)
    _producer_as_in_xmp(writer)
    try:
        output = signers.PdfSigner(
            metadata, signer=seal_signer(), timestamper=timestamper()
        ).sign_pdf(writer)
    except (OSError, ValueError, PdfError) as error:
        # The timestamping service unreachable is an OSError: the caller's task is retried.
        raise SealError(f"Le document n’a pas pu être scellé : {error}") from error
    return output.getvalue()


def _producer_as_in_xmp(writer: IncrementalPdfFileWriter) -> None:
    """PDF/A wants the information dictionary to say what the XMP metadata says. pyHanko
    writes its own name as the XMP producer, but appends it to the dictionary's (« WeasyPrint
    …; pyHanko …»): the dictionary then says it alone too."""
    try:
        info = writer.trailer["/Info"].get_object()
    except KeyError:
        return
    info[generic.NameObject("/Producer")] = generic.TextStringObject(VENDOR)
    writer.update_container(info)


# Verification


@dataclass(frozen=True)
class SealCheck:
    label: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class SealReport:
    checks: tuple[SealCheck, ...]
    sha256: str
    signer: str = ""
    sealed_at: datetime | None = None
    reason: str = ""

    @property
    def valid(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def demonstration(self) -> bool:
        return "démonstration" in self.reason


def _common_name(certificate: asn1_x509.Certificate) -> str:
    return certificate.subject.native.get("common_name") or certificate.subject.human_friendly


def _unreadable(sha256: str, detail: str) -> SealReport:
    return SealReport(checks=(SealCheck("Cachet électronique", False, detail),), sha256=sha256)


@outside_event_loop
def seal_verify(content: bytes) -> SealReport:
    """What a PDF's seal proves, check by check, in French. Nothing is fetched: the
    certificates are checked against the portal's trusted roots only."""
    sha256 = hashlib.sha256(content).hexdigest()
    try:
        reader = PdfFileReader(BytesIO(content), strict=False)
        signatures = reader.embedded_regular_signatures
        timestamps = reader.embedded_timestamp_signatures
    except Exception:
        # A hostile or broken file may break the parser anywhere: it is simply not a PDF
        # the portal can read, not an error of the portal's.
        logger.info("PDF illisible soumis à la vérification", exc_info=True)
        return _unreadable(sha256, "Ce fichier n’est pas un PDF lisible.")
    if not signatures:
        return _unreadable(sha256, "Ce PDF ne porte aucun cachet électronique ni signature.")
    embedded = signatures[0]
    try:
        status = validate_pdf_signature(
            embedded,
            signer_validation_context=validation_context(),
            key_usage_settings=KeyUsageConstraints(key_usage=KEY_USAGE),
        )
        timestamp_statuses = [
            validate_pdf_timestamp(timestamp, validation_context=validation_context())
            for timestamp in timestamps
        ]
    except Exception:
        logger.info("Signature illisible soumise à la vérification", exc_info=True)
        return _unreadable(sha256, "La signature de ce PDF est illisible ou malformée.")
    reason = str(embedded.sig_object.get("/Reason", ""))
    checks = (
        _integrity_check(status),
        _signer_check(status),
        _timestamp_check(status, timestamp_statuses),
        _modification_check(status, timestamp_statuses),
    )
    return SealReport(
        checks=checks,
        sha256=sha256,
        signer=_common_name(status.signing_cert),
        sealed_at=status.timestamp_validity.timestamp if status.timestamp_validity else None,
        reason=reason,
    )


def _integrity_check(status) -> SealCheck:
    if status.intact and status.valid:
        return SealCheck(
            "Intégrité",
            True,
            "La signature correspond au contenu signé : pas un octet n’a changé.",
        )
    return SealCheck(
        "Intégrité",
        False,
        "La signature ne correspond plus au contenu : le document a été modifié après "
        "son scellement.",
    )


def _signer_check(status) -> SealCheck:
    name = _common_name(status.signing_cert)
    recognised = {certificate.dump() for certificate in recognised_certificates()}
    if status.signing_cert.dump() not in recognised:
        return SealCheck(
            "Signataire",
            False,
            f"Le signataire « {name} » n’est pas le cachet du portail : ce document n’a pas "
            "été délivré par le portail.",
        )
    if not (status.intact and status.valid):
        return SealCheck(
            "Signataire",
            False,
            f"Le document se présente comme scellé par « {name} », mais sa signature est "
            "rompue : elle ne prouve plus rien.",
        )
    if not status.trusted:
        return SealCheck(
            "Signataire",
            False,
            f"Le certificat du cachet « {name} » n’est pas reconnu (révoqué, expiré ou hors "
            "de la chaîne de confiance publiée).",
        )
    return SealCheck("Signataire", True, f"Scellé par le cachet du portail : « {name} ».")


def _timestamp_check(status, timestamp_statuses) -> SealCheck:
    stamp = status.timestamp_validity
    if stamp is None:
        return SealCheck("Horodatage", False, "La signature n’est pas horodatée.")
    if not stamp.trusted:
        return SealCheck(
            "Horodatage",
            False,
            "L’horodatage de la signature n’est pas valide ou vient d’un service non reconnu.",
        )
    if not all(timestamp.trusted for timestamp in timestamp_statuses):
        return SealCheck(
            "Horodatage",
            False,
            "L’horodatage d’archivage du document n’est pas valide ou vient d’un service "
            "non reconnu.",
        )
    return SealCheck(
        "Horodatage",
        True,
        f"Horodaté le {format_paris_datetime(stamp.timestamp)} par "
        f"« {_common_name(stamp.signing_cert)} » (RFC 3161).",
    )


def _unmodified(status) -> bool:
    if not status.intact:
        return False
    return status.coverage == SignatureCoverageLevel.ENTIRE_FILE or (
        status.modification_level in UNMODIFIED and status.docmdp_ok is not False
    )


def _modification_check(status, timestamp_statuses) -> SealCheck:
    if _unmodified(status) and all(_unmodified(timestamp) for timestamp in timestamp_statuses):
        return SealCheck(
            "Modifications",
            True,
            "Rien n’a été ajouté ni changé depuis le scellement (hors données de validation "
            "et horodatage d’archivage ajoutés par le portail).",
        )
    return SealCheck(
        "Modifications",
        False,
        "Le fichier a été modifié après son scellement (une mise à jour y a été ajoutée) : "
        "ce n’est plus le document délivré.",
    )
