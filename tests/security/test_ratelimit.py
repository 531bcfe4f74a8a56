"""Public pages and feeds are rate-limited per client address, on a shared cache."""

import pytest
from django.core.cache import caches
from django.core.checks import run_checks
from django.core.management import call_command
from django.urls import reverse
from django_ratelimit.checks import check_caches

from segur_portal.security import AtomicDatabaseCache

pytestmark = pytest.mark.django_db

FEEDS = [
    "/registre/referencees.csv",
    "/registre/referencees.json",
    "/registre/en-cours.csv",
    "/registre/en-cours.json",
    "/registre/parcs/modele.csv",
]


@pytest.fixture
def small_limits(settings):
    settings.RATELIMIT_PUBLIC_FEED = "3/m"
    settings.RATELIMIT_PUBLIC_PAGE = "3/m"
    settings.RATELIMIT_ACCOUNT_FORMS = "3/m"


@pytest.mark.parametrize("url", FEEDS)
def test_a_feed_answers_429_past_the_limit(client, small_limits, url):
    statuses = [client.get(url, REMOTE_ADDR="192.0.2.1").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = client.get(url, REMOTE_ADDR="192.0.2.1")
    assert "Trop de demandes" in response.content.decode()
    assert response["Retry-After"] == "60"
    # Another address is not held back.
    assert client.get(url, REMOTE_ADDR="192.0.2.2").status_code == 200


def test_the_feeds_share_one_budget(client, small_limits):
    statuses = [client.get(url, REMOTE_ADDR="192.0.2.1").status_code for url in FEEDS]
    assert statuses == [200, 200, 200, 429, 429]


def test_rotating_x_forwarded_for_does_not_reset_the_budget(client, small_limits, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    statuses = [
        client.get(
            FEEDS[0], REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}"
        ).status_code
        for n in range(4)
    ]
    assert statuses == [200, 200, 200, 429]


def test_behind_a_proxy_each_client_has_its_budget(client, small_limits, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for _ in range(3):
        client.get(FEEDS[0], REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert (
        client.get(
            FEEDS[0], REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.1"
        ).status_code
        == 429
    )
    assert (
        client.get(
            FEEDS[0], REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.2"
        ).status_code
        == 200
    )


def test_the_verification_pages_are_limited(client, small_limits):
    urls = [
        reverse("verifier:lookup"),
        reverse("verifier:lookup"),
        reverse("verifier:attestation", args=["ATT-INCONNUE"]),
        reverse("verifier:attestation", args=["ATT-INCONNUE"]),
    ]
    statuses = [client.get(url, REMOTE_ADDR="192.0.2.1").status_code for url in urls]
    assert statuses[3] == 429
    assert 429 not in statuses[:3]
    response = client.post(
        reverse("verifier:attestation", args=["ATT-INCONNUE"]), REMOTE_ADDR="192.0.2.1"
    )
    assert response.status_code == 429


@pytest.mark.parametrize("name", ["signup", "password_reset"])
def test_account_forms_are_limited_on_post(client, small_limits, name):
    statuses = [
        client.post(
            reverse(name), {"email": f"x{n}@exemple.fr"}, REMOTE_ADDR="192.0.2.1"
        ).status_code
        for n in range(4)
    ]
    assert statuses[3] == 429
    assert 429 not in statuses[:3]
    assert client.get(reverse(name), REMOTE_ADDR="192.0.2.1").status_code == 200


def test_the_limits_are_counted_in_the_ratelimit_cache(client, small_limits, settings):
    assert settings.RATELIMIT_USE_CACHE == "ratelimit"
    expected = (
        "segur_portal.redis_cache.RedisCache"
        if settings.CACHES["ratelimit"]["BACKEND"].endswith("RedisCache")
        else "segur_portal.security.AtomicDatabaseCache"
    )
    assert settings.CACHES["ratelimit"]["BACKEND"] == expected
    # Only the "not officially supported" warning, silenced with its reason in settings.
    assert [message.id for message in check_caches(None)] == ["django_ratelimit.W001"]
    assert [m for m in run_checks(tags=["caches"]) if not m.is_silenced()] == []


def test_the_database_cache_counts_every_hit(settings):
    settings.CACHES = {
        **settings.CACHES,
        "ratelimit": {
            "BACKEND": "segur_portal.security.AtomicDatabaseCache",
            "LOCATION": "segur_ratelimit_cache_test",
        },
    }
    call_command("createcachetable", "segur_ratelimit_cache_test")
    cache = caches["ratelimit"]
    assert isinstance(cache, AtomicDatabaseCache)
    assert cache.add("hits", 0, 60)
    assert [cache.incr("hits") for _ in range(5)] == [1, 2, 3, 4, 5]
    assert [message.id for message in check_caches(None)] == ["django_ratelimit.W001"]
    with pytest.raises(ValueError):
        cache.incr("missing")
