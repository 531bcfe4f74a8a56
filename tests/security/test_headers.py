"""Headers every response carries, and what a signed-in page tells caches."""

import pytest
from django.urls import reverse

from candidatures.models import CguAcceptance
from candidatures.services.onboarding import current_cgu
from segur_portal.middleware import PERMISSIONS_POLICY
from tests.factories import UserFactory

PUBLIC_URLS = ["/", "/connexion/", "/registre/", "/healthz", "/robots.txt", "/page-inconnue/"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", PUBLIC_URLS)
def test_permissions_policy_on_public_responses(client, url):
    response = client.get(url)
    assert response["Permissions-Policy"] == PERMISSIONS_POLICY
    for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"):
        assert feature in response["Permissions-Policy"]


@pytest.mark.django_db
def test_permissions_policy_on_an_error_and_a_redirect(client):
    assert "camera=()" in client.get(reverse("dashboard"))["Permissions-Policy"]
    assert "camera=()" in client.post("/connexion/", {})["Permissions-Policy"]


def _signed_in(client, **traits):
    user = UserFactory(**traits)
    CguAcceptance.objects.create(user=user, cgu=current_cgu())
    client.force_login(user)
    return user


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("traits", "url"),
    [
        ({"mandataire": True}, "/tableau-de-bord/"),
        ({"mandataire": True}, "/entreprise/"),
        ({"mandataire": True}, "/notifications/"),
        ({"mandataire": True}, "/registre/"),
        ({"instructeur": True}, "/tableau-de-bord/"),
        ({"admin": True}, "/admin/"),
    ],
)
def test_signed_in_pages_are_never_stored(client, traits, url):
    _signed_in(client, **traits)
    response = client.get(url)
    assert response.status_code == 200
    cache_control = response["Cache-Control"]
    assert "no-store" in cache_control
    assert "private" in cache_control
    assert "public" not in cache_control
