"""Stored files on S3, as in production: django-storages against a real S3-compatible
server (moto in server mode, over HTTP), with the storage options of the production
settings, read from segur_portal/settings.py itself.

moto 5.2.5 checks object ACLs for anonymous requests, but neither the signature nor
the expiry of a presigned URL: the expiry is asserted on the URL, not on the server.
"""

import hashlib
import http.client
import importlib.util
import runpy
import time
import tracemalloc
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from candidatures.enums import ProofKind
from candidatures.proof_kinds import MO
from preuves import services
from preuves.enums import FichierStatus
from tests.factories import UserFactory
from tests.preuves import corpus
from tests.preuves.factories import FichierFactory
from tests.preuves.s3server import S3ServerError, moto_server

pytestmark = pytest.mark.django_db

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
VIDEO_CAPTURE = services.rule_for_kind(ProofKind.VIDEO_CAPTURE)


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory):
    log_path = tmp_path_factory.mktemp("moto") / "moto_server.log"
    try:
        with moto_server(log_path) as endpoint:
            yield endpoint
    except S3ServerError as error:
        pytest.fail(f"serveur S3 de test indisponible : {error}", pytrace=False)


@pytest.fixture(scope="session")
def production_storage(s3_endpoint):
    """STORAGES["default"] as segur_portal/settings.py builds it in production, pointed
    at the test server: the module is run again with the S3 variables set."""
    settings_path = importlib.util.find_spec("segur_portal.settings").origin
    with pytest.MonkeyPatch.context() as environment:
        for name, value in {
            "AWS_STORAGE_BUCKET_NAME": "segur-preuves",
            "S3_ENDPOINT_URL": s3_endpoint,
            # An IP address has no bucket subdomains.
            "S3_ADDRESSING_STYLE": "path",
            **CREDENTIALS,
        }.items():
            environment.setenv(name, value)
        storage = runpy.run_path(settings_path)["STORAGES"]["default"]
    assert storage["BACKEND"] == "storages.backends.s3.S3Storage"
    return storage


@dataclass
class Bucket:
    name: str
    endpoint: str
    options: dict
    # An administrator's client, apart from the portal's storage.
    client: object


@pytest.fixture
def bucket(settings, media_root, s3_endpoint, production_storage):
    """A fresh bucket per test, the default storage pointing at it."""
    options = {**production_storage["OPTIONS"], "bucket_name": f"preuves-{uuid.uuid4().hex}"}
    client = boto3.session.Session(
        aws_access_key_id=options["access_key"],
        aws_secret_access_key=options["secret_key"],
        region_name=options["region_name"],
    ).client("s3", endpoint_url=s3_endpoint)
    client.create_bucket(
        Bucket=options["bucket_name"],
        CreateBucketConfiguration={"LocationConstraint": options["region_name"]},
    )
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": production_storage["BACKEND"], "OPTIONS": options},
    }
    try:
        yield Bucket(options["bucket_name"], s3_endpoint, options, client)
    finally:
        # boto3 keeps sockets open in its clients: filterwarnings=error wants them shut.
        default_storage.connection.meta.client.close()
        client.close()


def _http_get(url: str) -> tuple[int, dict, bytes]:
    """A plain GET, with no credential of any kind, as a browser would send it."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""))
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def _read_back(bucket: Bucket, key: str) -> bytes:
    body = bucket.client.get_object(Bucket=bucket.name, Key=key)["Body"]
    try:
        return body.read()
    finally:
        body.close()


def _receive_and_check(capture, name, content, user=None, content_type="image/png"):
    user = user or UserFactory(salarie=True)
    with capture(execute=True):
        fichier = services.fichier_receive(
            upload=SimpleUploadedFile(name, content, content_type=content_type),
            rule=VIDEO_CAPTURE,
            editeur=user.editeur,
            actor=user,
        )
    fichier.refresh_from_db()
    return fichier


# Reception and check


@pytest.mark.parametrize(
    ("content", "status", "detected"),
    [
        (corpus.png_bytes, FichierStatus.ACCEPTEE, "image/png"),
        (corpus.html_bytes, FichierStatus.REFUSEE, "text/html"),
    ],
    ids=["png", "html-named-png"],
)
def test_s3_check_decides_from_the_content(
    bucket, django_capture_on_commit_callbacks, content, status, detected
):
    fichier = _receive_and_check(django_capture_on_commit_callbacks, "capture.png", content())

    assert (fichier.status, fichier.detected_mime) == (status, detected)
    assert _read_back(bucket, fichier.storage_name) == content()
    assert bucket.client.list_objects_v2(Bucket=bucket.name)["KeyCount"] == 1


def test_s3_sha256_is_the_one_of_the_bytes_read_back(bucket, django_capture_on_commit_callbacks):
    # Past boto3's 8 MiB threshold, the upload is sent in parts.
    content = corpus.sized(corpus.mp4_bytes(), 9 * MO + 3)
    fichier = _receive_and_check(django_capture_on_commit_callbacks, "démonstration.mp4", content)

    stored = _read_back(bucket, fichier.storage_name)
    assert fichier.status == FichierStatus.ACCEPTEE
    assert fichier.detected_mime == "video/mp4"
    assert fichier.size == len(stored) == 9 * MO + 3
    assert fichier.sha256 == hashlib.sha256(stored).hexdigest()


def test_s3_check_of_a_large_video_never_holds_it_in_memory(bucket, tmp_path):
    video_path = tmp_path / "démonstration.mp4"
    with video_path.open("wb") as target:
        corpus.write_sized(target, corpus.mp4_bytes(), 40 * MO)
    fichier = FichierFactory(
        content=corpus.mp4_bytes(),
        size=40 * MO,
        sha256="",
        allowed_mime_types=sorted(VIDEO_CAPTURE.allowed_mime_types),
        max_bytes=VIDEO_CAPTURE.max_bytes,
    )
    # The 40 Mo go up from disk, as a large upload would have left them.
    bucket.client.upload_file(str(video_path), bucket.name, fichier.storage_name)

    tracemalloc.start()
    try:
        fichier = services.fichier_check(fichier_id=fichier.pk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert fichier.status == FichierStatus.ACCEPTEE
    assert peak < 20 * MO


# Confidentiality


def test_s3_stored_object_is_private(bucket, django_capture_on_commit_callbacks):
    fichier = _receive_and_check(
        django_capture_on_commit_callbacks, "capture.png", corpus.png_bytes()
    )
    status, _, body = _http_get(f"{bucket.endpoint}/{bucket.name}/{fichier.storage_name}")
    assert status == 403
    assert corpus.png_bytes() not in body
    grants = bucket.client.get_object_acl(Bucket=bucket.name, Key=fichier.storage_name)["Grants"]
    assert [grant["Permission"] for grant in grants] == ["FULL_CONTROL"]
    assert {grant["Grantee"]["Type"] for grant in grants} == {"CanonicalUser"}


def test_s3_server_does_serve_a_public_object_anonymously(bucket):
    """The control of the test above: its 403 comes from the ACL, not from a server
    that would refuse every anonymous request."""
    bucket.client.put_object(
        Bucket=bucket.name, Key="public.txt", Body=b"public", ACL="public-read"
    )
    assert _http_get(f"{bucket.endpoint}/{bucket.name}/public.txt")[::2] == (200, b"public")


def test_s3_presigned_url_reads_the_object_for_the_configured_seconds(bucket):
    name = default_storage.save("fichiers/00/00/presigned", ContentFile(corpus.pdf_bytes()))
    before = datetime.now(UTC).replace(microsecond=0)

    url = default_storage.url(name)

    query = parse_qs(urlsplit(url).query)
    signed_at = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    expires = int(query["X-Amz-Expires"][0])
    assert expires == bucket.options["querystring_expire"]
    assert 0 < expires <= 300
    assert before - timedelta(seconds=1) <= signed_at <= datetime.now(UTC)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Credential"][0].startswith("testing/")
    assert query["X-Amz-Signature"][0]
    assert urlsplit(url).path == f"/{bucket.name}/{name}"
    status, _, body = _http_get(url)
    assert (status, body) == (200, corpus.pdf_bytes())


def test_s3_presigned_url_in_the_past_carries_its_expiry(bucket):
    """moto does not refuse an expired presigned URL (AWS and MinIO answer 403
    "Request has expired"): what can be checked here is the date and lifetime it says."""
    name = default_storage.save("fichiers/00/00/expired", ContentFile(b"contenu"))
    url = default_storage.url(name, expire=1)
    time.sleep(1.5)
    query = parse_qs(urlsplit(url).query)
    signed_at = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert query["X-Amz-Expires"] == ["1"]
    assert signed_at + timedelta(seconds=1) < datetime.now(UTC)


def test_s3_stored_object_type_is_never_the_browsers(bucket, django_capture_on_commit_callbacks):
    fichier = _receive_and_check(
        django_capture_on_commit_callbacks,
        "capture.html",
        corpus.html_bytes(),
        content_type="text/html",
    )
    assert fichier.status == FichierStatus.REFUSEE
    head = bucket.client.head_object(Bucket=bucket.name, Key=fichier.storage_name)
    assert head["ContentType"] == "application/octet-stream"


# Names


def test_s3_save_never_overwrites(bucket):
    first = default_storage.save("fichiers/ab/cd/abcd", ContentFile(b"premier"))
    second = default_storage.save("fichiers/ab/cd/abcd", ContentFile(b"second"))

    assert first == "fichiers/ab/cd/abcd"
    assert second != first
    assert second.startswith("fichiers/ab/cd/abcd")
    assert _read_back(bucket, first) == b"premier"
    assert _read_back(bucket, second) == b"second"


# Download


def test_s3_download_streams_the_object_as_an_attachment(
    bucket, client, django_capture_on_commit_callbacks
):
    user = UserFactory(salarie=True)
    content = corpus.png_with_html_bytes()
    fichier = _receive_and_check(django_capture_on_commit_callbacks, "capture.png", content, user)
    client.force_login(user)

    response = client.get(reverse("preuves:download", args=[fichier.pk]))
    body = b"".join(response.streaming_content)

    assert response.status_code == 200
    assert response.streaming
    assert body == content == _read_back(bucket, fichier.storage_name)
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'attachment; filename="capture.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
