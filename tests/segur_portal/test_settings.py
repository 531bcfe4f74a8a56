"""The two shapes of settings, each read in a fresh interpreter from its environment."""

import json
import os
import subprocess
import sys

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
}))
"""

CLEARED = {
    "DATABASE_URL", "REDIS_URL", "AWS_STORAGE_BUCKET_NAME", "EMAIL_HOST", "EMAIL_BACKEND",
    "EMAIL_FILE_PATH", "DJANGO_SECRET_KEY", "ALLOWED_HOSTS", "DEBUG", "SECURE_SSL_REDIRECT",
    "COOKIE_SECURE", "CELERY_TASK_ALWAYS_EAGER", "STATIC_MANIFEST",
}  # fmt: skip


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


def test_production_shape_from_the_environment(tmp_path):
    result = read_settings(
        tmp_path,
        DATABASE_URL="postgres://segur:secret@db:5432/segur",
        REDIS_URL="redis://redis:6379/0",
        DJANGO_SECRET_KEY="x" * 64,
        ALLOWED_HOSTS="referencement.example.gouv.fr",
        EMAIL_HOST="smtp.example.org",
        AWS_STORAGE_BUCKET_NAME="preuves",
        S3_ENDPOINT_URL="http://minio:9000",
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


def test_production_shape_refuses_to_start_without_a_secret_key(tmp_path):
    result = read_settings(
        tmp_path, DATABASE_URL="postgres://segur@db/segur", EMAIL_HOST="smtp.example.org"
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY est obligatoire" in result.stderr


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
