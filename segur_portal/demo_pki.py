"""The demonstration PKI of the embedded portal and of the tests (SEAL_DEMO): a CA, the
portal's seal certificate (a PKCS#12 file, read as production reads its own) and the
certificate of a local RFC 3161 timestamping service, made once under VAR_DIR/seal/.

Nothing here serves production: `check --deploy` refuses SEAL_DEMO, and every document
sealed with it says « démonstration » in its signature.
"""

import fcntl
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings

ORGANIZATION = "Portail de référencement Ségur (démonstration)"
CA_NAME = "AC de démonstration du portail Ségur"
SEAL_NAME = "Cachet de démonstration du portail Ségur"
TSA_NAME = "Horodatage de démonstration du portail Ségur"
KEY_BITS = 3072
CA_VALIDITY = timedelta(days=3650)
LEAF_VALIDITY = timedelta(days=1095)
# Backdated a little: a machine whose clock is a few minutes behind still accepts them.
BACKDATE = timedelta(hours=1)


@dataclass(frozen=True)
class DemoPki:
    directory: Path

    @property
    def ca_path(self) -> Path:
        return self.directory / "ac.pem"

    @property
    def seal_path(self) -> Path:
        return self.directory / "cachet.p12"

    @property
    def tsa_path(self) -> Path:
        return self.directory / "horodatage.p12"

    @property
    def crl_path(self) -> Path:
        return self.directory / "ac.crl"

    @property
    def passphrase(self) -> bytes:
        return (self.directory / "passphrase").read_bytes()


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)


def _key_usage(*, signing: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=signing,
        content_commitment=signing,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=not signing,
        crl_sign=not signing,
        encipher_only=False,
        decipher_only=False,
    )


def _certificate(
    *, name: str, key, issuer: x509.Certificate | None, issuer_key, now: datetime, tsa=False
) -> x509.Certificate:
    subject = _name(name)
    is_ca = issuer is None
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject if is_ca else issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + (CA_VALIDITY if is_ca else LEAF_VALIDITY))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=0 if is_ca else None), True)
        .add_extension(_key_usage(signing=not is_ca), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False
        )
    )
    if tsa:
        # RFC 3161 §2.3: a TSA's certificate has this one extended usage, critical.
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _crl(ca: x509.Certificate, ca_key, now: datetime) -> x509.CertificateRevocationList:
    """The CA's list of revoked certificates (none): embedded in the sealed documents as
    their validation data (PAdES B-LT)."""
    return (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.subject)
        .last_update(now - BACKDATE)
        .next_update(now + LEAF_VALIDITY)
        .add_extension(x509.CRLNumber(1), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )


def _write(path: Path, content: bytes) -> None:
    path.write_bytes(content)
    path.chmod(0o600)


def _create(pki: DemoPki) -> None:
    now = datetime.now(UTC)
    passphrase = secrets.token_urlsafe(32).encode()
    encryption = serialization.BestAvailableEncryption(passphrase)
    ca_key = _key()
    ca = _certificate(name=CA_NAME, key=ca_key, issuer=None, issuer_key=ca_key, now=now)
    seal_key, tsa_key = _key(), _key()
    seal = _certificate(name=SEAL_NAME, key=seal_key, issuer=ca, issuer_key=ca_key, now=now)
    tsa = _certificate(name=TSA_NAME, key=tsa_key, issuer=ca, issuer_key=ca_key, now=now, tsa=True)
    _write(pki.directory / "passphrase", passphrase)
    _write(pki.ca_path, ca.public_bytes(serialization.Encoding.PEM))
    _write(pki.crl_path, _crl(ca, ca_key, now).public_bytes(serialization.Encoding.DER))
    for path, key, cert in ((pki.seal_path, seal_key, seal), (pki.tsa_path, tsa_key, tsa)):
        _write(
            path,
            pkcs12.serialize_key_and_certificates(path.stem.encode(), key, cert, [ca], encryption),
        )
    pki.ca_path.chmod(0o644)
    # The CA's key is not kept: nothing else will ever be issued under this CA.


@cache
def demo_pki() -> DemoPki:
    """The demonstration PKI under VAR_DIR/seal/, made on first use. Several processes
    may start at once (the portal, its worker, parallel tests): one makes it, under a lock,
    and the others wait and read it."""
    directory = Path(settings.VAR_DIR) / "seal"
    directory.mkdir(parents=True, exist_ok=True)
    pki = DemoPki(directory)
    with (directory / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        # Written last: a run interrupted half-way is made again whole.
        if not pki.tsa_path.exists():
            _create(pki)
    return pki
