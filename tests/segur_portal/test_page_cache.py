"""Public pages served from the "pages" cache, per filter and page, until what they
show changes (issue 12, item 7)."""

import re
import uuid
from datetime import date

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from candidatures.enums import CandidatureState
from candidatures.services.candidature import candidature_validate_admin
from college import services as college_services
from college.models import Attestation
from segur_portal import settings as project_settings
from tests.factories import CampagneFactory, CandidatureFactory, UserFactory

pytestmark = pytest.mark.django_db
S = CandidatureState
TOKEN = re.compile(r'"X-CSRFToken": "([A-Za-z0-9]+)"')


@pytest.fixture(autouse=True)
def pages_cache(settings):
    """The project's own "pages" cache (Redis, or the database table), keys of this test's
    own; tests/conftest.py turns it off for the other tests."""
    config = {**project_settings.CACHES["pages"], "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}
    settings.CACHES = {**settings.CACHES, "pages": config}
    if config["BACKEND"].endswith("DatabaseCache"):
        call_command("createcachetable", "segur_pages_cache")


def referenced(**kwargs) -> Attestation:
    candidature = CandidatureFactory(state=S.REFERENCEE, **kwargs)
    return Attestation.objects.create(
        candidature=candidature,
        numero=f"SEGUR-{candidature.dsr.code.upper()}-2026-{candidature.pk:05d}",
        referenced_on=date(2026, 3, 2),
    )


def _get(client, url, **params):
    """The page and the queries it took, those of the caches' tables aside (the pages'
    and, for the feeds, the rate limits' in the embedded portal)."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200
    content = response.getvalue() if response.streaming else response.content
    own = [q for q in queries if not any(word in q["sql"] for word in ("_cache", "SAVEPOINT"))]
    return content.decode(), len(own)


REGISTRE = reverse("registre:referencees")


def test_the_registry_is_rendered_once_then_served_from_the_cache(client):
    attestation = referenced(nom_commercial="RadioLog")
    first, rendered = _get(client, REGISTRE)
    again, served = _get(client, REGISTRE)
    assert attestation.numero in first and "RadioLog" in again
    assert rendered > 0
    assert served == 0
    assert TOKEN.sub("", first) == TOKEN.sub("", again)


def test_an_attestation_issued_shows_at_once(client):
    referenced(nom_commercial="Premier")
    _get(client, REGISTRE)
    candidature = CandidatureFactory(state=S.EN_COLLEGE, nom_commercial="Nouveau venu")
    attestation = college_services._grant(
        candidature,
        actor=UserFactory(college=True),
        now=timezone.now(),
        reason="Référencement attribué sans réserve.",
        closed_reason="Référencé.",
    )
    page, queries = _get(client, REGISTRE)
    assert queries > 0
    assert attestation.numero in page and "Nouveau venu" in page


def test_an_attestation_withdrawn_shows_at_once_in_the_page_and_the_feeds(client):
    attestation = referenced(nom_commercial="RadioLog")
    csv_url, json_url = reverse("registre:referencees_csv"), reverse("registre:referencees_json")
    for url in (REGISTRE, csv_url, json_url):
        _get(client, url)
        content, queries = _get(client, url)
        assert queries == 0, url
        assert "Non-conformité constatée" not in content
    college_services.candidature_dereference(
        candidature=attestation.candidature,
        actor=UserFactory(admin=True),
        reason="Non-conformité constatée lors d’un contrôle.",
    )
    for url in (REGISTRE, csv_url, json_url):
        content, _queries = _get(client, url)
        assert "Non-conformité constatée" in content, url


def test_each_filter_has_its_own_entry(client):
    first = referenced(nom_commercial="Logiciel A", campagne=CampagneFactory())
    second = referenced(nom_commercial="Logiciel B", campagne=CampagneFactory())
    page_a, _ = _get(client, REGISTRE, dsr=first.candidature.dsr.code)
    page_b, rendered = _get(client, REGISTRE, dsr=second.candidature.dsr.code)
    assert "Logiciel A" in page_a and "Logiciel B" not in page_a
    assert "Logiciel B" in page_b and "Logiciel A" not in page_b
    assert rendered > 0
    again, served = _get(client, REGISTRE, dsr=first.candidature.dsr.code)
    assert served == 0 and "Logiciel A" in again and "Logiciel B" not in again


def test_the_list_in_progress_shows_a_state_change_at_once(client):
    candidature = CandidatureFactory(admin_soumise=True, nom_commercial="En attente")
    url = reverse("registre:en_cours")
    page, _ = _get(client, url)
    assert "En attente" not in page
    candidature_validate_admin(candidature=candidature, actor=UserFactory(instructeur=True))
    page, _ = _get(client, url)
    assert "En attente" in page


def test_a_signed_in_page_is_never_cached_nor_served_to_another(client):
    referenced()
    person = UserFactory(first_name="Hortense", last_name="Personnelle", instructeur=True)
    client.force_login(person)
    mine, rendered = _get(client, REGISTRE)
    assert "Hortense" in mine and rendered > 0
    anonymous, _ = _get(Client(), REGISTRE)
    assert "Hortense" not in anonymous
    mine_again, rendered_again = _get(client, REGISTRE)
    assert "Hortense" in mine_again and rendered_again > 0


def test_each_visitor_gets_a_csrf_token_of_their_own_that_works():
    referenced()
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    page_1, _ = _get(first, REGISTRE)
    page_2, served = _get(second, REGISTRE)
    assert served == 0
    token_1, token_2 = TOKEN.search(page_1).group(1), TOKEN.search(page_2).group(1)
    assert token_1 != token_2
    login = reverse("login")
    refused = second.post(login, {"username": "x@exemple.fr", "password": "x"})
    assert refused.status_code == 403
    answered = second.post(
        login, {"username": "x@exemple.fr", "password": "x"}, headers={"X-CSRFToken": token_2}
    )
    assert answered.status_code == 200


def test_a_cache_that_does_not_answer_costs_a_rendering_not_an_error(client, settings):
    attestation = referenced()
    settings.CACHES = {
        **settings.CACHES,
        "pages": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        },
    }
    page, _ = _get(client, REGISTRE)
    assert attestation.numero in page
