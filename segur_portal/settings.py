"""Settings for the portal, read from the environment here and nowhere else.

Two shapes, chosen by DATABASE_URL:

- embedded (no DATABASE_URL): SQLite under var/, uploaded files under var/media/
  (never served by a URL), e-mails written to var/mail/, Celery tasks run
  in-process and the beat schedule ticks inside `manage.py runportal`. DEBUG on.
- production: DATABASE_URL (PostgreSQL), REDIS_URL (Celery broker and results),
  AWS_STORAGE_BUCKET_NAME and friends (S3), EMAIL_HOST (SMTP), DJANGO_SECRET_KEY,
  ALLOWED_HOSTS. DEBUG off unless DEBUG=1.

`.env.example` lists every variable read here.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    if value.strip().lower() in {"1", "true", "yes", "on", "oui"}:
        return True
    if value.strip().lower() in {"0", "false", "no", "off", "non"}:
        return False
    raise ImproperlyConfigured(f"{name} doit valoir 1/0, true/false : {value!r}")


def env_int(name: str, default: int) -> int:
    value = env_str(name)
    return int(value) if value else default


def env_list(name: str, default: list[str]) -> list[str]:
    value = env_str(name)
    return [item.strip() for item in value.split(",") if item.strip()] if value else default


BASE_DIR = Path(__file__).resolve().parent.parent
# Relative paths are taken from the project folder; an absolute one is used as is.
VAR_DIR = BASE_DIR / env_str("SEGUR_VAR_DIR", "var")

DATABASE_URL = env_str("DATABASE_URL")
EMBEDDED = not DATABASE_URL
DEBUG = env_bool("DEBUG", EMBEDDED)


def _embedded_secret_key() -> str:
    # The embedded portal keeps a random key of its own so that a fresh clone runs
    # without configuration, and sessions survive a restart.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(64))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not EMBEDDED:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY est obligatoire hors du mode embarqué.")
    SECRET_KEY = _embedded_secret_key()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if EMBEDDED else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# The portal's address as its users reach it: the links of e-mails, QR codes, feeds and
# PDFs. Required in production (checked below, https there). The embedded portal takes it
# from the address `runportal` binds unless SITE_URL is set.
SITE_URL = env_str("SITE_URL").rstrip("/")
SITE_URL_FROM_BIND = EMBEDDED and not SITE_URL
if SITE_URL_FROM_BIND:
    SITE_URL = "http://127.0.0.1:8000"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # Its index expressions (the trigram index of preuves.Fichier); harmless on SQLite.
    "django.contrib.postgres",
    "widget_tweaks",
    "dsfr",
    "django_htmx",
    "axes",
    "django_ratelimit",
    "segur_portal",
    "candidatures",
    "preuves",
    "college",
]

MIDDLEWARE = [
    "segur_portal.middleware.SecurityHeadersMiddleware",
    "segur_portal.middleware.RejectControlCharactersMiddleware",
    "segur_portal.middleware.HealthzMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "segur_portal.middleware.DebugErrorPagesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Turns django-ratelimit's refusal into a 429 page.
    "django_ratelimit.middleware.RatelimitMiddleware",
    # Axes must come last: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "segur_portal.urls"
WSGI_APPLICATION = "segur_portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "segur_portal.context_processors.portal",
            ],
        },
    },
]

if EMBEDDED:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "segur.sqlite3",
            "OPTIONS": {
                # The in-process beat writes while requests are served.
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL;",
            },
        }
    }
else:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True
        )
    }
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # No JIT: the agency's lists are short queries with a high estimated cost, which
        # PostgreSQL's JIT compiled for seconds (5.8 s of 6.1 s for the candidature list
        # on the generated wave, docs/BENCHMARKS.md).
        # Prepared statements planned once for all their values: only those of
        # segur_portal/compiled.py are prepared (lookups by id and key, whose plan does not
        # depend on the id), and the portal's triggers run no query.
        _options = DATABASES["default"].setdefault("OPTIONS", {})
        _options["options"] = (
            f"{_options.get('options', '')} -c jit=off -c plan_cache_mode=force_generic_plan"
        ).strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "segur_portal.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, its account read by a statement compiled once.
    "segur_portal.signed_in.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("email", "first_name", "last_name")},
    },
    # ANSSI recommends at least 12 characters for a password alone.
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = 60 * 60 * 2
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "home"
INVITATION_VALIDITY = timedelta(days=7)

AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
# Two independent locks: an address that fails 5 times (whatever the accounts tried), and
# an account that fails 5 times (whatever the addresses). A pair (username, address)
# alone let a client with many addresses try one account without end.
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
AXES_USERNAME_FORM_FIELD = "username"
# django-axes 8 reads AXES_CLIENT_IP_CALLABLE before its own ipware settings: the lock,
# the download log, the signature evidence and the rate limits share one address.
AXES_CLIENT_IP_CALLABLE = "segur_portal.security.client_ip"
# Number of reverse proxies in front of gunicorn whose X-Forwarded-For is trusted (1 in
# the production shape: nginx). 0 (the default) ignores the header: the socket's address.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

REDIS_URL = env_str("REDIS_URL")
# How long a request waits for Redis (broker and rate-limit counters) before giving up:
# a Redis that is down, frozen or cut off never holds a request longer than this.
BROKER_TIMEOUT_SECONDS = env_int("BROKER_TIMEOUT_MS", 500) / 1000

# Rate limits (django-ratelimit) count hits in a cache shared by every process, and public
# pages are kept in another: Redis in production, database tables in the embedded portal
# (`manage.py createcachetable`).
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "ratelimit": (
        {
            "BACKEND": "segur_portal.redis_cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "segur-rl",
            "OPTIONS": {
                "socket_connect_timeout": BROKER_TIMEOUT_SECONDS,
                "socket_timeout": BROKER_TIMEOUT_SECONDS,
            },
        }
        if REDIS_URL
        else {
            "BACKEND": "segur_portal.security.AtomicDatabaseCache",
            "LOCATION": "segur_ratelimit_cache",
        }
    ),
    # Public pages (registry, lists, feeds) as anonymous visitors get them, until the
    # data they show changes (segur_portal/cache.py).
    "pages": (
        {
            "BACKEND": "segur_portal.redis_cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "segur-pages",
            "OPTIONS": {
                "socket_connect_timeout": BROKER_TIMEOUT_SECONDS,
                "socket_timeout": BROKER_TIMEOUT_SECONDS,
            },
        }
        if REDIS_URL
        else {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "segur_pages_cache",
            "OPTIONS": {"MAX_ENTRIES": 2000},
        }
    ),
}
RATELIMIT_USE_CACHE = "ratelimit"
RATELIMIT_IP_META_KEY = "segur_portal.security.client_ip"
RATELIMIT_VIEW = "segur_portal.security.ratelimited_view"
RATELIMIT_ENABLE = env_bool("RATELIMIT_ENABLE", True)
# django-ratelimit warns (W001) for any cache it does not list, Django’s own RedisCache
# (which segur_portal.redis_cache extends) included. Both of ours increment atomically
# (Redis INCR; AtomicDatabaseCache locks the row), which is what the check is after; its
# errors (E001-E003) stay active.
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.W001"]
# Public pages anyone may ask for: per client address.
RATELIMIT_PUBLIC_PAGE = env_str("RATELIMIT_PUBLIC_PAGE", "60/m")
RATELIMIT_PUBLIC_FEED = env_str("RATELIMIT_PUBLIC_FEED", "20/m")
RATELIMIT_ACCOUNT_FORMS = env_str("RATELIMIT_ACCOUNT_FORMS", "10/m")
# The editors' API (segur_portal/api/): calls per personal token.
RATELIMIT_API_TOKEN = env_str("RATELIMIT_API_TOKEN", "120/m")
# A password-reset request takes at least this long, found or not.
PASSWORD_RESET_MIN_SECONDS = 0.5
# Confirmation e-mails one account may receive in an hour (signup's included).
VERIFICATION_EMAILS_PER_HOUR = 3

LANGUAGE_CODE = "fr-fr"
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = VAR_DIR / "media"
# No URL route serves MEDIA_URL: stored files leave only through views that check rights.
MEDIA_URL = "/media/"

AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME")
if AWS_STORAGE_BUCKET_NAME:
    from boto3.s3.transfer import TransferConfig

    DEFAULT_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env_str("S3_ENDPOINT_URL") or None,
            "region_name": env_str("AWS_S3_REGION_NAME", "eu-west-3"),
            "access_key": env_str("AWS_ACCESS_KEY_ID") or None,
            "secret_key": env_str("AWS_SECRET_ACCESS_KEY") or None,
            "addressing_style": env_str("S3_ADDRESSING_STYLE", "path"),
            "signature_version": "s3v4",
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": env_int("S3_PRESIGNED_URL_SECONDS", 60),
            "file_overwrite": False,
            # An object opened for reading (the check, a download) spills to a
            # temporary file past 1 Mio instead of sitting whole in memory.
            "max_memory_size": 2**20,
            # Downloads of an object go through s3transfer's queue of 256 Kio chunks:
            # by default up to 100 of them (25 Mio) wait in memory per file read.
            "transfer_config": TransferConfig(max_io_queue=8, max_concurrency=2),
            # Never the browser's content type: a presigned URL must not serve an
            # HTML page as a page. The download view sets the detected type.
            "object_parameters": {"ContentType": "application/octet-stream"},
        },
    }
else:
    DEFAULT_STORAGE = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT, "directory_permissions_mode": 0o750},
    }
# Production serves collected, hashed static files through WhiteNoise; the embedded
# portal and the tests serve them from the apps' folders.
STATIC_MANIFEST = env_bool("STATIC_MANIFEST", not DEBUG)
STORAGES = {
    "default": DEFAULT_STORAGE,
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if STATIC_MANIFEST
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
if STATIC_MANIFEST:
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
        "whitenoise.middleware.WhiteNoiseMiddleware",
    )

EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_BACKEND = env_str("EMAIL_BACKEND")
if not EMAIL_BACKEND:
    if EMAIL_HOST:
        EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    elif EMBEDDED:
        EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    else:
        raise ImproperlyConfigured("EMAIL_HOST (ou EMAIL_BACKEND) est obligatoire en production.")
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH") or VAR_DIR / "mail"
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = 20
DEFAULT_FROM_EMAIL = env_str(
    "DEFAULT_FROM_EMAIL", "Portail de référencement Ségur <ne-pas-repondre@segur.esante.gouv.fr>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL

CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
# Every task is fire-and-forget: no code reads a task's result. Without a result backend a
# publish does not subscribe to Redis for the result (with one, Redis down, each publish
# retried that subscription 20 times, a second apart, inside the user's request).
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# A request publishes once and never waits for the broker: what did not go is queued
# again by the sweep (the outbox of e-mails, files still to check, documents to render).
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_CONNECTION_TIMEOUT = BROKER_TIMEOUT_SECONDS
# Without a broker the tasks run in the request's process, after the commit.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "segur")

# Antivirus (clamd): a unix socket, or a host and port. `runportal` starts its own clamd
# with the signatures in fixtures/clamav/ when neither is set (see docs/ANTIVIRUS.md).
CLAMD_SOCKET = env_str("CLAMD_SOCKET")
CLAMD_HOST = env_str("CLAMD_HOST")
CLAMD_PORT = env_int("CLAMD_PORT", 3310)
CLAMD_TIMEOUT_SECONDS = env_int("CLAMD_TIMEOUT_SECONDS", 60)
if not EMBEDDED and not (CLAMD_SOCKET or CLAMD_HOST):
    # Without a scanner no file would ever be accepted: refuse to start instead.
    raise ImproperlyConfigured("CLAMD_HOST (ou CLAMD_SOCKET) est obligatoire en production.")

# The portal's electronic seal on every PDF it issues (segur_portal/seal.py), timestamped
# by an RFC 3161 service (segur_portal/timestamping.py). SEAL_DEMO: a demonstration CA,
# seal certificate and timestamping service made once under VAR_DIR/seal/ (the embedded
# portal, the tests); `check --deploy` refuses it. Otherwise the seal's key is a PKCS#12
# file or a PKCS#11 token (an HSM), and the timestamps come from a qualified service.
SEAL_DEMO = env_bool("SEAL_DEMO", EMBEDDED)
SEAL_PKCS12_PATH = env_str("SEAL_PKCS12_PATH")
SEAL_PKCS12_PASSPHRASE = env_str("SEAL_PKCS12_PASSPHRASE")
SEAL_PKCS11_MODULE = env_str("SEAL_PKCS11_MODULE")
SEAL_PKCS11_TOKEN_LABEL = env_str("SEAL_PKCS11_TOKEN_LABEL")
SEAL_PKCS11_PIN = env_str("SEAL_PKCS11_PIN")
SEAL_PKCS11_KEY_LABEL = env_str("SEAL_PKCS11_KEY_LABEL")
SEAL_PKCS11_CERT_LABEL = env_str("SEAL_PKCS11_CERT_LABEL")
# Certificates the token does not hold: the seal's own (when absent from the token) and
# its intermediate CAs, in one PEM file.
SEAL_CERTIFICATES_PATH = env_str("SEAL_CERTIFICATES_PATH")
# The root CAs of the seal's certificate and of the timestamping service, in one PEM file:
# what the verification trusts, and what the portal publishes on /verifier/certificat/.
SEAL_TRUST_ROOTS_PATH = env_str("SEAL_TRUST_ROOTS_PATH")
# Earlier seal certificates (PEM) whose documents the verification still recognises.
SEAL_PREVIOUS_CERTIFICATES_PATH = env_str("SEAL_PREVIOUS_CERTIFICATES_PATH")
SEAL_TSA_URL = env_str("SEAL_TSA_URL")
SEAL_TSA_USERNAME = env_str("SEAL_TSA_USERNAME")
SEAL_TSA_PASSWORD = env_str("SEAL_TSA_PASSWORD")
SEAL_TSA_TIMEOUT_SECONDS = env_int("SEAL_TSA_TIMEOUT_SECONDS", 10)
if not SEAL_DEMO:
    # An unsealed document would be refused by every verification: refuse to start instead.
    if not (SEAL_PKCS12_PATH or SEAL_PKCS11_MODULE):
        raise ImproperlyConfigured(
            "SEAL_PKCS12_PATH (ou SEAL_PKCS11_MODULE) est obligatoire en production : le "
            "certificat et la clé du cachet du portail qui scelle chaque PDF délivré."
        )
    if SEAL_PKCS11_MODULE and not (SEAL_PKCS11_TOKEN_LABEL and SEAL_PKCS11_KEY_LABEL):
        raise ImproperlyConfigured(
            "SEAL_PKCS11_TOKEN_LABEL et SEAL_PKCS11_KEY_LABEL sont obligatoires avec "
            "SEAL_PKCS11_MODULE."
        )
    if not SEAL_TSA_URL:
        raise ImproperlyConfigured(
            "SEAL_TSA_URL est obligatoire en production : l’adresse du service d’horodatage "
            "qualifié (RFC 3161) qui date chaque cachet."
        )
    if not SEAL_TRUST_ROOTS_PATH:
        raise ImproperlyConfigured(
            "SEAL_TRUST_ROOTS_PATH est obligatoire en production : les AC racines du "
            "certificat de cachet et du service d’horodatage (PEM), que la vérification "
            "reconnaît et que le portail publie."
        )
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    # A broker that stops answering without closing the connection (frozen, or a
    # network cut) fails a publish after this long instead of holding it for ever.
    "socket_timeout": BROKER_TIMEOUT_SECONDS,
    "socket_connect_timeout": BROKER_TIMEOUT_SECONDS,
    # Opening a connection for a publish tries once (kombu would otherwise wait 2 s
    # and try again); the worker's own reconnection loop keeps its retries.
    "max_retries": 0,
}
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    "sweep": {"task": "segur_portal.tasks.sweep", "schedule": 60.0},
}
# The sweep runs each minute: later than this after its last finished run, the
# administrators are alerted (dashboard, e-mail) and /healthz says it is late.
SWEEP_LATE_AFTER = timedelta(minutes=env_int("SWEEP_LATE_MINUTES", 5))
# What the periodic sweep runs, in order. Each must be idempotent.
SWEEPERS = [
    "segur_portal.services.emails_requeue",
    "segur_portal.requeue.documents_requeue",
    "candidatures.services.sollicitation.sollicitations_sweep",
    "candidatures.services.candidature.candidatures_close_drafts",
    "preuves.services.fichier_requeue_stale",
    "preuves.services.storage_orphans_sweep",
    "preuves.bulk.lots_sweep",
    "segur_portal.webhooks.webhooks_sweep",
    "preuves.depot.candidatures_close_unsubmitted",
    "preuves.instruction.visites_sweep",
    "college.services.seances_plan",
    "college.services.seances_sweep",
    "college.services.reserves_sweep",
    "segur_portal.signed_in.sessions_sweep",
    # Last: the day it closes holds what the sweepers above recorded.
    "segur_portal.journal.journal_sweep",
]

# Webhooks (segur_portal.webhooks): a failed delivery is tried again after this many
# seconds, doubled at each failure (at most an hour apart), for 24 hours. Plain http, and
# addresses on this machine (loopback), are accepted only where WEBHOOK_ALLOW_LOOPBACK is
# on: the embedded portal (DEBUG) and the tests; never private or link-local addresses.
WEBHOOK_RETRY_BASE_SECONDS = env_int("WEBHOOK_RETRY_BASE_SECONDS", 60)
WEBHOOK_ALLOW_LOOPBACK = env_bool("WEBHOOK_ALLOW_LOOPBACK", DEBUG)

# The collège meets once a week: weekday (0 = Monday … 4 = Friday) and Paris time;
# séances are created this many weeks ahead (a holiday moves one to the next working day).
COLLEGE_WEEKDAY = env_int("COLLEGE_WEEKDAY", 3)
COLLEGE_SEANCE_TIME = env_str("COLLEGE_SEANCE_TIME", "14:00")
COLLEGE_WEEKS_AHEAD = env_int("COLLEGE_WEEKS_AHEAD", 4)
# A decision needs this many members present without a conflict of interest on it.
COLLEGE_QUORUM = env_int("COLLEGE_QUORUM", 2)

# Django's database sessions, read by a statement compiled once (segur_portal/signed_in.py).
SESSION_ENGINE = "segur_portal.signed_in"
SESSION_COOKIE_AGE = 60 * 60 * 8
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# htmx sends the token from the page (hx-headers), never from the cookie.
CSRF_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
if not EMBEDDED:
    if not SITE_URL:
        raise ImproperlyConfigured(
            "SITE_URL est obligatoire hors du mode embarqué : l’adresse du portail "
            "(https://…) que portent les courriels, les QR codes, les flux et les PDF."
        )
    _site = urlsplit(SITE_URL)
    if _site.scheme not in {"http", "https"} or not _site.hostname:
        raise ImproperlyConfigured(f"SITE_URL doit être une adresse https://… : {SITE_URL!r}")
    # Plain http only where the portal itself does not redirect to https: the stack tried
    # on http://localhost (SECURE_SSL_REDIRECT=0), the tests.
    if SECURE_SSL_REDIRECT and _site.scheme != "https":
        raise ImproperlyConfigured(f"SITE_URL doit commencer par https:// : {SITE_URL!r}")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000
# Files are bounded per form while they stream (preuves.uploads.bounded_upload); these
# cap the rest: a file past 2.5 Mo goes to a temporary file, not memory; the non-file
# fields of one body stay under 2.5 Mo; no form takes more than 60 files (eligibility).
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_NUMBER_FILES = 60

DSFR_USE_INTEGRITY_CHECKSUMS = True
# The design system now marks the optional fields, not the required ones.
DSFR_MARK_OPTIONAL_FIELDS = True
PORTAL_NAME = "Portail de référencement Ségur"
PORTAL_TAGLINE = "Agence du Numérique en Santé"
# The address users write to for help; shown on the accessibility page when set.
SUPPORT_EMAIL = env_str("SUPPORT_EMAIL")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
        # pyHanko warns about the files people send to be verified (a re-saved or altered
        # PDF): the verification's answer says it, the log need not.
        "pyhanko.sign.diff_analysis": {"level": "ERROR"},
        "pyhanko.sign.validation": {"level": "ERROR"},
        # The demonstration's CA has no revocation service to fetch: said at every seal.
        "pyhanko.sign.signers": {"level": "ERROR" if SEAL_DEMO else "WARNING"},
    },
}
CSRF_FAILURE_VIEW = "segur_portal.views.csrf_failure"
