import pytest

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_broker(client, settings):
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "ok"
    assert body["database"]["status"] == "ok"
    assert body["broker"]["status"] == "ok"
    if settings.REDIS_URL:
        assert body["broker"]["backend"] == "redis"


def test_healthz_answers_any_host_over_plain_http(client, settings):
    # Container probes call gunicorn by its internal address, without TLS.
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["referencement.example.gouv.fr"]
    response = client.get("/healthz", HTTP_HOST="10.0.0.7:8000")
    assert response.status_code == 200


def test_healthz_is_503_when_the_broker_does_not_answer(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    # A real address where nothing listens: the check really connects and fails.
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["broker"] == {"status": "error", "backend": "redis", "error": "ConnectionError"}
    assert body["database"]["status"] == "ok"
    assert "127.0.0.1:1" not in response.content.decode()
