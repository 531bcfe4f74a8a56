"""The portal's French error pages, DEBUG on (the embedded demo) as in production."""

import pytest
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(params=[True, False], ids=["debug", "production"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


def _page(response) -> str:
    return response.content.decode()


def test_an_unknown_address_shows_the_portals_page_not_the_url_patterns(client, debug):
    response = client.get("/nexiste-pas/")
    assert response.status_code == 404
    assert "Page introuvable" in _page(response)
    assert "Retour à l’accueil" in _page(response)
    assert "URLconf" not in _page(response)


def test_a_missing_object_shows_the_portals_page(client, debug):
    client.force_login(UserFactory(instructeur=True))
    response = client.get(reverse("candidatures:detail", args=[999999]))
    assert response.status_code == 404
    assert "Page introuvable" in _page(response)
    assert "Http404" not in _page(response)


def test_an_address_without_its_final_slash_is_still_redirected(client, debug):
    response = client.get("/inscription")
    assert (response.status_code, response["Location"]) == (301, "/inscription/")


def test_a_refusal_shows_the_portals_page(client, debug):
    client.force_login(UserFactory())
    response = client.get(reverse("referentiel_admin:home"))
    assert response.status_code == 403
    assert "Accès refusé" in _page(response)


def test_a_server_error_shows_the_portals_page_and_is_logged(client, debug, settings, caplog):
    settings.ROOT_URLCONF = "tests.segur_portal.error_urls"
    client.raise_request_exception = False
    response = client.get("/panne/")
    assert response.status_code == 500
    assert "Le portail a rencontré une erreur" in _page(response)
    assert "panne simulée" not in _page(response)
    assert any(record.exc_info for record in caplog.records if record.name == "django.request")
