"""The two shapes of settings, each read in a fresh interpreter from its environment."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings

PROBE = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({
    "engine": s.DATABASES["default"]["ENGINE"],
    "debug": s.DEBUG,
    "eager": s.CELERY_TASK_ALWAYS_EAGER,
    "broker": s.CELERY_BROKER_URL,
    "storage": s.STORAGES["default"]["BACKEND"],
    "storage_options": {k: str(v) for k, v in s.STORAGES["default"]["OPTIONS"].items()},
    "email": s.EMAIL_BACKEND,
    "email_path": str(s.EMAIL_FILE_PATH),
    "secure_cookies": s.SESSION_COOKIE_SECURE,
    "ssl_redirect": s.SECURE_SSL_REDIRECT,
    "hosts": s.ALLOWED_HOSTS,
    "site_url": s.SITE_URL,
    "site_url_from_bind": s.SITE_URL_FROM_BIND,
}))
"""

CLEARED = {
    "DATABASE_URL", "REDIS_URL", "AWS_STORAGE_BUCKET_NAME", "EMAIL_HOST", "EMAIL_BACKEND",
    "EMAIL_FILE_PATH", "DJANGO_SECRET_KEY", "ALLOWED_HOSTS", "DEBUG", "SECURE_SSL_REDIRECT",
    "COOKIE_SECURE", "CELERY_TASK_ALWAYS_EAGER", "STATIC_MANIFEST", "CLAMD_SOCKET", "CLAMD_HOST",
    "SITE_URL", "SEAL_DEMO", "SEAL_PKCS12_PATH", "SEAL_PKCS12_PASSPHRASE", "SEAL_PKCS11_MODULE",
    "SEAL_PKCS11_TOKEN_LABEL", "SEAL_PKCS11_KEY_LABEL", "SEAL_TSA_URL", "SEAL_TRUST_ROOTS_PATH",
}  # fmt: skip
# The portal's seal and its timestamping service (their files are read when a PDF is sealed).
SEAL = {
    "SEAL_PKCS12_PATH": "/run/secrets/cachet.p12",
    "SEAL_PKCS12_PASSPHRASE": "phrase secrète",
    "SEAL_TSA_URL": "https://horodatage.example.fr/tsa",
    "SEAL_TRUST_ROOTS_PATH": "/run/secrets/ac-racines.pem",
}


def read_settings(tmp_path, **env):
    environ = {k: v for k, v in os.environ.items() if k not in CLEARED}
    environ.update(SEGUR_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="segur_portal.settings")
    environ.update(env)
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=environ,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result


def test_embedded_shape_needs_no_variable(tmp_path):
    result = read_settings(tmp_path)
    assert result.returncode == 0, result.stderr
    shape = json.loads(result.stdout)
    assert shape["engine"] == "django.db.backends.sqlite3"
    assert shape["debug"] is True
    assert shape["eager"] is True
    assert shape["broker"] == "memory://localhost/"
    assert shape["storage"] == "django.core.files.storage.FileSystemStorage"
    assert shape["storage_options"]["location"] == str(tmp_path / "media")
    assert shape["email"] == "django.core.mail.backends.filebased.EmailBackend"
    assert shape["email_path"] == str(tmp_path / "mail")
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    # `runportal` replaces it with the address it binds.
    assert shape["site_url_from_bind"] is True


def test_production_shape_from_the_environment(tmp_path):
    result = read_settings(
        tmp_path,
        DATABASE_URL="postgres://segur:secret@db:5432/segur",
        REDIS_URL="redis://redis:6379/0",
        DJANGO_SECRET_KEY="x" * 64,
        ALLOWED_HOSTS="referencement.example.gouv.fr",
        EMAIL_HOST="smtp.example.org",
        CLAMD_HOST="clamav",
        AWS_STORAGE_BUCKET_NAME="preuves",
        S3_ENDPOINT_URL="http://minio:9000",
        SITE_URL="https://referencement.example.gouv.fr/",
        **SEAL,
    )
    assert result.returncode == 0, result.stderr
    shape = json.loads(result.stdout)
    assert shape["engine"] == "django.db.backends.postgresql"
    assert shape["debug"] is False
    assert shape["eager"] is False
    assert shape["broker"] == "redis://redis:6379/0"
    assert shape["storage"] == "storages.backends.s3.S3Storage"
    assert shape["storage_options"]["default_acl"] == "private"
    assert shape["storage_options"]["file_overwrite"] == "False"
    assert shape["storage_options"]["querystring_auth"] == "True"
    assert shape["email"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (shape["secure_cookies"], shape["ssl_redirect"]) == (True, True)
    assert shape["hosts"] == ["referencement.example.gouv.fr"]
    assert shape["site_url"] == "https://referencement.example.gouv.fr"
    assert shape["site_url_from_bind"] is False


def test_production_shape_refuses_to_start_without_a_secret_key(tmp_path):
    result = read_settings(
        tmp_path,
        DATABASE_URL="postgres://segur@db/segur",
        EMAIL_HOST="smtp.example.org",
        CLAMD_HOST="clamav",
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY est obligatoire" in result.stderr


def test_production_shape_refuses_to_start_without_an_antivirus(tmp_path):
    result = read_settings(
        tmp_path,
        DATABASE_URL="postgres://segur@db/segur",
        DJANGO_SECRET_KEY="x" * 64,
        EMAIL_HOST="smtp.example.org",
    )
    assert result.returncode != 0
    assert "CLAMD_HOST (ou CLAMD_SOCKET) est obligatoire" in result.stderr


def test_production_shape_refuses_to_start_without_smtp(tmp_path):
    result = read_settings(
        tmp_path, DATABASE_URL="postgres://segur@db/segur", DJANGO_SECRET_KEY="x" * 64
    )
    assert result.returncode != 0
    assert "EMAIL_HOST" in result.stderr


def test_a_malformed_boolean_is_refused(tmp_path):
    result = read_settings(tmp_path, DEBUG="peut-être")
    assert result.returncode != 0
    assert "DEBUG doit valoir" in result.stderr


PRODUCTION = {
    "DATABASE_URL": "postgres://segur@db/segur",
    "DJANGO_SECRET_KEY": "x" * 64,
    "EMAIL_HOST": "smtp.example.org",
    "CLAMD_HOST": "clamav",
    **SEAL,
}


def test_production_shape_refuses_to_start_without_its_address(tmp_path):
    result = read_settings(tmp_path, **PRODUCTION)
    assert result.returncode != 0
    assert "SITE_URL est obligatoire" in result.stderr


@pytest.mark.parametrize("site_url", ["http://referencement.example.gouv.fr", "referencement.fr"])
def test_production_shape_refuses_an_address_that_is_not_https(tmp_path, site_url):
    result = read_settings(tmp_path, **PRODUCTION, SITE_URL=site_url)
    assert result.returncode != 0
    assert "SITE_URL doit" in result.stderr


def test_plain_http_is_accepted_where_the_portal_does_not_redirect_to_https(tmp_path):
    # The stack tried on http://localhost, as the README says.
    result = read_settings(
        tmp_path, **PRODUCTION, SITE_URL="http://localhost", SECURE_SSL_REDIRECT="0"
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["site_url"] == "http://localhost"


def test_the_embedded_portal_keeps_an_address_it_is_given(tmp_path):
    result = read_settings(tmp_path, SITE_URL="http://demo.example.fr:8080")
    shape = json.loads(result.stdout)
    assert (shape["site_url"], shape["site_url_from_bind"]) == (
        "http://demo.example.fr:8080",
        False,
    )


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("SEAL_PKCS12_PATH", "SEAL_PKCS12_PATH (ou SEAL_PKCS11_MODULE) est obligatoire"),
        ("SEAL_TSA_URL", "SEAL_TSA_URL est obligatoire"),
        ("SEAL_TRUST_ROOTS_PATH", "SEAL_TRUST_ROOTS_PATH est obligatoire"),
    ],
)
def test_production_shape_refuses_to_start_without_its_seal(tmp_path, missing, message):
    env = {**PRODUCTION, "SITE_URL": "https://referencement.example.gouv.fr"}
    del env[missing]
    result = read_settings(tmp_path, **env)
    assert result.returncode != 0
    assert message in result.stderr


def test_a_seal_in_an_hsm_needs_its_token_and_key(tmp_path):
    env = {**PRODUCTION, "SITE_URL": "https://referencement.example.gouv.fr"}
    del env["SEAL_PKCS12_PATH"]
    result = read_settings(tmp_path, **env, SEAL_PKCS11_MODULE="/usr/lib/softhsm/libsofthsm2.so")
    assert result.returncode != 0
    assert "SEAL_PKCS11_TOKEN_LABEL et SEAL_PKCS11_KEY_LABEL sont obligatoires" in result.stderr

    result = read_settings(
        tmp_path,
        **env,
        SEAL_PKCS11_MODULE="/usr/lib/softhsm/libsofthsm2.so",
        SEAL_PKCS11_TOKEN_LABEL="cachet",
        SEAL_PKCS11_KEY_LABEL="cachet",
    )
    assert result.returncode == 0, result.stderr


def _check_deploy(tmp_path, **env):
    environ = {k: v for k, v in os.environ.items() if k not in CLEARED}
    environ.update(SEGUR_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="segur_portal.settings")
    environ.update(PRODUCTION, SITE_URL="https://referencement.example.gouv.fr", **env)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        env=environ,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_deployment_check_refuses_the_demonstration_seal(tmp_path):
    result = _check_deploy(tmp_path, SEAL_DEMO="1")
    assert result.returncode != 0
    assert "segur.E001" in result.stderr and "SEAL_DEMO est actif" in result.stderr

    assert "segur.E001" not in _check_deploy(tmp_path).stderr
