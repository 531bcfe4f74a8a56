import pytest

from segur_portal.celery import app as celery_app

pytest_plugins = ["tests.clamav", "tests.worker", "tests.journal_flush"]


def pytest_collection_modifyitems(items):
    """Browser tests run last: they are the slowest, and once Playwright has started,
    an event loop stays open in the main thread for the rest of the session."""
    for item in items:
        if "/tests/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # PBKDF2 at full strength costs ~0.3 s a login; the tests check behaviour, not cost.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _celery_in_process(request):
    """Tasks run in the test's process unless the test asks for a real worker."""
    if request.node.get_closest_marker("worker"):
        yield
        return
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _ratelimit_counters_per_test(settings):
    """Each test counts its own hits: rate-limit counters live in a shared cache (Redis
    when REDIS_URL is set), which no test's rollback empties."""
    import uuid

    caches = {name: dict(config) for name, config in settings.CACHES.items()}
    caches["ratelimit"]["KEY_PREFIX"] = f"segur-rl-test-{uuid.uuid4().hex}"
    # Public pages are rendered each time: the tests change data behind the services'
    # backs, and count each page's queries. tests/segur_portal/test_page_cache.py puts
    # the real cache back to test it.
    caches["pages"] = {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
    settings.CACHES = caches


@pytest.fixture(autouse=True)
def media_root(request, settings, tmp_path):
    """Each test stores its files in a folder of its own.

    Worker tests keep the project's storage: the worker process reads the settings of
    its own environment, not this fixture's.
    """
    if request.node.get_closest_marker("worker"):
        return None
    media = tmp_path / "media"
    settings.MEDIA_ROOT = media
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": media},
        },
    }
    return media


@pytest.fixture(autouse=True)
def _cgu_in_force(request):
    """The CGU of the data migration. Tests on transactional databases flush tables,
    data migrations included, so it is made again where a test uses the database."""
    # Make sure the test's database is set up before touching it: autouse fixtures run
    # before the fixtures a test names.
    for name in ("transactional_db", "db"):
        if name in request.fixturenames:
            request.getfixturevalue(name)
            break
    if "live_server" in request.fixturenames:
        request.getfixturevalue("transactional_db")
    uses_db = request.node.get_closest_marker("django_db") or any(
        name in request.fixturenames for name in ("db", "transactional_db", "live_server")
    )
    if uses_db:
        from importlib import import_module

        from candidatures.models import Cgu

        migration = import_module("candidatures.migrations.0004_cgu_v1")
        Cgu.objects.get_or_create(version="1.0", defaults={"text": migration.CGU_V1})
    yield
