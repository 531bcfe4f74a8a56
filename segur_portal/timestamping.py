"""RFC 3161 timestamps: a date no one, the portal included, can move afterwards.

`timestamp_token(data)` asks the timestamping service (TSA) for a token over SHA-256 of
`data`; `timestamp_verify(token, data)` checks it offline and returns its date. The
portal's seal (segur_portal/seal.py) timestamps each signature through the same client.

In production the service is a qualified TSA (SEAL_TSA_URL). With SEAL_DEMO, a real
RFC 3161 service runs in the portal's own process, on a loopback port, signing with the
demonstration TSA certificate (segur_portal/demo_pki.py).
"""

import asyncio
import functools
import hashlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from asn1crypto import cms, core, keys, pem, tsp
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.serialization import pkcs12
from django.conf import settings
from pyhanko.sign import general
from pyhanko.sign.timestamps import DummyTimeStamper, TimeStamper
from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
from pyhanko.sign.validation.status import TimestampSignatureStatus
from pyhanko_certvalidator import ValidationContext

from segur_portal.demo_pki import demo_pki

TIMESTAMP_QUERY = "application/timestamp-query"
TIMESTAMP_REPLY = "application/timestamp-reply"
# A request is a hash and a few fields: anything larger is not one.
MAX_QUERY_BYTES = 16_384


class TimestampError(Exception):
    """A token that cannot be had, or that does not hold."""


def outside_event_loop(function):
    """pyHanko's synchronous calls run their own event loop (asyncio.run), which fails in
    a thread that already runs one (an async caller, Playwright's sync API in the browser
    tests): there, the call runs in a thread of its own."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return function(*args, **kwargs)
        with ThreadPoolExecutor(max_workers=1) as executor:
            return executor.submit(function, *args, **kwargs).result()

    return wrapper


# Trust


def load_certificates(path: str | Path) -> list[asn1_x509.Certificate]:
    """Every certificate of a PEM (or single DER) file."""
    content = Path(path).read_bytes()
    if not pem.detect(content):
        return [asn1_x509.Certificate.load(content)]
    return [asn1_x509.Certificate.load(der) for _, _, der in pem.unarmor(content, multiple=True)]


def trust_roots() -> list[asn1_x509.Certificate]:
    """The root CAs the portal's documents are checked against: the seal's and the TSA's."""
    if settings.SEAL_TRUST_ROOTS_PATH:
        return load_certificates(settings.SEAL_TRUST_ROOTS_PATH)
    if settings.SEAL_DEMO:
        return load_certificates(demo_pki().ca_path)
    return []


def _demo_crls() -> list[asn1_crl.CertificateList]:
    return [asn1_crl.CertificateList.load(demo_pki().crl_path.read_bytes())]


def validation_context(*, embedding: bool = False) -> ValidationContext:
    """What a certificate is checked against. Never fetches when it checks a document
    someone sent (its certificates could point anywhere); when the portal embeds the
    validation data of its own seal, a production chain's CRLs and OCSP answers are
    fetched, the demonstration's CRL is at hand."""
    return ValidationContext(
        trust_roots=trust_roots(),
        crls=_demo_crls() if settings.SEAL_DEMO else (),
        allow_fetching=embedding and not settings.SEAL_DEMO,
        # A root without revocation service (the demonstration's, many roots) is not a
        # failure; a certificate the CA says is revoked still is.
        revocation_mode="soft-fail",
    )


# The client


def tsa_url() -> str:
    if settings.SEAL_TSA_URL:
        return settings.SEAL_TSA_URL
    if settings.SEAL_DEMO:
        return local_service().url
    raise TimestampError("Aucun service d’horodatage configuré (SEAL_TSA_URL).")


@cache
def _timestamper(url: str) -> TimeStamper:
    # One client per address and process: it keeps the service's certificates and a
    # sample token (pyHanko sizes a signature with it) instead of asking again each time.
    auth = (
        (settings.SEAL_TSA_USERNAME, settings.SEAL_TSA_PASSWORD)
        if settings.SEAL_TSA_USERNAME
        else None
    )
    return RequestsHTTPTimeStamper(url, timeout=settings.SEAL_TSA_TIMEOUT_SECONDS, auth=auth)


def timestamper() -> TimeStamper:
    return _timestamper(tsa_url())


@outside_event_loop
def timestamp_token(data: bytes) -> bytes:
    """A DER TimeStampToken (RFC 3161) over SHA-256 of data, from the TSA."""
    digest = hashlib.sha256(data).digest()
    try:
        token = asyncio.run(timestamper().async_timestamp(digest, "sha256"))
    except (OSError, ValueError) as error:
        raise TimestampError(f"Le service d’horodatage n’a pas répondu : {error}") from error
    return token.dump()


@outside_event_loop
def timestamp_verify(token: bytes, data: bytes) -> datetime:
    """The date a token vouches for data, once checked: the token is sound, its imprint
    is SHA-256 (or the hash it names) of data, and the TSA's certificate leads to a trusted
    root. Raises TimestampError otherwise."""
    try:
        content_info = cms.ContentInfo.load(token)
        if content_info["content_type"].native != "signed_data":
            raise ValueError("pas un SignedData")
        signed_data = content_info["content"]
    except (ValueError, TypeError) as error:
        raise TimestampError(f"Jeton d’horodatage illisible : {error}") from error

    def expected_imprint(algorithm: str) -> bytes:
        return hashlib.new(algorithm, data).digest()

    try:
        status = TimestampSignatureStatus(
            **asyncio.run(
                validate_tst_signed_data(signed_data, validation_context(), expected_imprint)
            )
        )
    except (SignatureValidationError, ValueError) as error:
        raise TimestampError(f"Jeton d’horodatage invalide : {error}") from error
    if not status.intact:
        raise TimestampError("Le jeton d’horodatage ne porte pas sur ces données.")
    if not status.valid:
        raise TimestampError("La signature du jeton d’horodatage n’est pas valide.")
    if not status.trusted:
        raise TimestampError(
            "Le certificat du service d’horodatage ne mène pas à une autorité reconnue."
        )
    return status.timestamp


# The local service of the demonstration


class _LocalAuthority(DummyTimeStamper):
    """pyHanko's own TSA, its RSA key loaded once: pyHanko reads it again for each token,
    a tenth of a second every time, which each sealed document paid twice."""

    def __init__(self, *, key, certificate: asn1_x509.Certificate, chain):
        super().__init__(
            tsa_cert=certificate,
            tsa_key=keys.PrivateKeyInfo.load(
                key.private_bytes(
                    serialization.Encoding.DER,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            ),
            certs_to_embed=chain,
        )
        self._key = key

    def _sign_tst_info(self, tst_info_data: bytes, md_algorithm: str, dt: datetime):
        digest = hashlib.new(md_algorithm, tst_info_data).digest()
        signed_attrs = cms.CMSAttributes(
            [
                general.simple_cms_attribute("content_type", "tst_info"),
                general.simple_cms_attribute(
                    "signing_time", cms.Time({"utc_time": core.UTCTime(dt)})
                ),
                general.simple_cms_attribute(
                    "signing_certificate", general.as_signing_certificate(self.tsa_cert)
                ),
                general.simple_cms_attribute("message_digest", digest),
            ]
        )
        algorithm = getattr(hashes, md_algorithm.upper())()
        return self._key.sign(signed_attrs.dump(), PKCS1v15(), algorithm), signed_attrs


class _Handler(BaseHTTPRequestHandler):
    authority: _LocalAuthority

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Content-Type") != TIMESTAMP_QUERY or not 0 < length <= MAX_QUERY_BYTES:
            self.send_error(400, "Bad Request", "Requête d’horodatage RFC 3161 attendue")
            return
        try:
            request = tsp.TimeStampReq.load(self.rfile.read(length))
            reply = self.authority.request_tsa_response(request).dump()
        except (ValueError, TypeError):
            self.send_error(400, "Bad Request", "Requête d’horodatage illisible")
            return
        self.send_response(200)
        self.send_header("Content-Type", TIMESTAMP_REPLY)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format, *args):
        # The portal's log is not the place for one line per timestamp.
        pass


class LocalTimestampService:
    """An RFC 3161 service over HTTP on 127.0.0.1, served by a thread of this process."""

    def __init__(self):
        pki = demo_pki()
        key, certificate, chain = pkcs12.load_key_and_certificates(
            pki.tsa_path.read_bytes(), pki.passphrase
        )
        as_asn1 = [
            asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
            for cert in (certificate, *chain)
        ]
        handler = type(
            "Handler",
            (_Handler,),
            {"authority": _LocalAuthority(key=key, certificate=as_asn1[0], chain=as_asn1[1:])},
        )
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.pid = os.getpid()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/horodatage"
        threading.Thread(target=self.server.serve_forever, name="segur-tsa", daemon=True).start()


_service: LocalTimestampService | None = None
_service_lock = threading.Lock()


def local_service() -> LocalTimestampService:
    """This process's local TSA, started on first use (again in a forked child: the
    parent's thread does not follow a fork)."""
    global _service
    with _service_lock:
        if _service is None or _service.pid != os.getpid():
            _service = LocalTimestampService()
        return _service
