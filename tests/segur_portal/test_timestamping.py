"""RFC 3161 timestamps: the client, the offline check, and the demonstration's local TSA."""

import asyncio
import hashlib
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
import requests
from asn1crypto import keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from pyhanko.sign.timestamps import DummyTimeStamper

from segur_portal import demo_pki, timestamping

DATA = "Racine du journal du 7 décembre 2026".encode()


def test_a_token_is_checked_and_gives_its_date():
    before = datetime.now(UTC)
    token = timestamping.timestamp_token(DATA)
    stamped = timestamping.timestamp_verify(token, DATA)
    assert before - timedelta(seconds=1) <= stamped <= datetime.now(UTC) + timedelta(seconds=1)


def test_a_token_does_not_vouch_for_other_data():
    token = timestamping.timestamp_token(DATA)
    with pytest.raises(timestamping.TimestampError, match="ne porte pas sur ces données"):
        timestamping.timestamp_verify(token, DATA + b".")


@pytest.mark.parametrize("damage", ["truncated", "garbage", "flipped"])
def test_a_damaged_token_is_refused(damage):
    token = timestamping.timestamp_token(DATA)
    damaged = {
        "truncated": token[:-40],
        "garbage": b"pas un jeton",
        # A byte of the TSA's signature value, near the end of the SignerInfo.
        "flipped": token[:-20] + bytes([token[-20] ^ 0xFF]) + token[-19:],
    }[damage]
    with pytest.raises(timestamping.TimestampError):
        timestamping.timestamp_verify(damaged, DATA)


def _self_made_authority() -> DummyTimeStamper:
    """A TSA anyone can make: right extensions, but its CA is none the portal trusts."""
    now = datetime.now(UTC)
    ca_key, tsa_key = demo_pki._key(), demo_pki._key()
    ca = demo_pki._certificate(
        name="AC d’un faussaire", key=ca_key, issuer=None, issuer_key=ca_key, now=now
    )
    tsa = demo_pki._certificate(
        name=demo_pki.TSA_NAME, key=tsa_key, issuer=ca, issuer_key=ca_key, now=now, tsa=True
    )

    def der(cert):
        return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))

    return DummyTimeStamper(
        tsa_cert=der(tsa),
        tsa_key=keys.PrivateKeyInfo.load(
            tsa_key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        ),
        certs_to_embed=[der(ca)],
    )


def test_a_token_from_an_authority_the_portal_does_not_trust_is_refused():
    forger = _self_made_authority()
    token = asyncio.run(forger.async_timestamp(hashlib.sha256(DATA).digest(), "sha256")).dump()
    with pytest.raises(timestamping.TimestampError, match="ne mène pas à une autorité reconnue"):
        timestamping.timestamp_verify(token, DATA)


def test_openssl_checks_the_token_against_the_published_ca(tmp_path):
    """What anyone can do without the portal's code: `openssl ts -verify`."""
    (tmp_path / "token.der").write_bytes(timestamping.timestamp_token(DATA))
    (tmp_path / "data").write_bytes(DATA)
    result = subprocess.run(
        [
            "openssl", "ts", "-verify", "-token_in", "-in", tmp_path / "token.der",
            "-data", tmp_path / "data", "-CAfile", demo_pki.demo_pki().ca_path,
        ],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Verification: OK" in result.stdout


def test_the_local_service_answers_only_timestamp_queries():
    url = timestamping.local_service().url
    assert url.startswith("http://127.0.0.1:")
    refused = requests.post(url, data=b"bonjour", headers={"Content-Type": "text/plain"}, timeout=5)
    assert refused.status_code == 400
    unreadable = requests.post(
        url, data=b"\x30\x03\x02\x01", headers={"Content-Type": "application/timestamp-query"},
        timeout=5,
    )  # fmt: skip
    assert unreadable.status_code == 400


def test_the_client_refuses_to_run_without_a_service(settings):
    settings.SEAL_DEMO = False
    settings.SEAL_TSA_URL = ""
    with pytest.raises(timestamping.TimestampError, match="SEAL_TSA_URL"):
        timestamping.timestamp_token(DATA)


def test_an_unreachable_service_is_a_timestamp_error(settings):
    # A loopback port nothing listens on: refused at once.
    settings.SEAL_TSA_URL = "http://127.0.0.1:9/horodatage"
    with pytest.raises(timestamping.TimestampError, match="n’a pas répondu"):
        timestamping.timestamp_token(DATA)
