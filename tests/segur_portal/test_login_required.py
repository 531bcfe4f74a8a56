"""Every URL that is not deliberately public sends a signed-out visitor to the login page."""

import re
import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

# The public pages, by URL name. A new public page is added here on purpose.
PUBLIC = {
    "home",
    "healthz",
    "legal_notice",
    "personal_data",
    "accessibility",
    "login",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "invitation_accept",
    "referentiel:list",
    "referentiel:dsr",
    "referentiel:rem",
    "referentiel:rem_csv",
    "referentiel:diff",
    "cgu",
    "signup",
    "signup_confirm",
    "signup_sent",
    "registre:en_cours",
    "registre:en_cours_csv",
    "registre:en_cours_json",
    "registre:parc_index",
    "registre:parc_model",
    "registre:parc",
    "registre:referencees",
    "registre:referencees_csv",
    "registre:referencees_json",
    "registre:journal",
    "registre:journal_json",
    "registre:journal_atom",
    "registre:journal_token",
    "registre:evolutions",
    "registre:evolutions_atom",
    "verifier:lookup",
    "verifier:attestation",
    "verifier:certificat",
    "verifier:certificat_cachet",
    "verifier:certificat_racines",
}
PUBLIC_PATHS = {"robots.txt", "api/v1/valeur"}

SAMPLE_VALUES = {
    "int": "1",
    "str": "valeur",
    "slug": "valeur",
    "path": "valeur",
    "uuid": str(uuid.uuid4()),
}


def _sample_path(route: str, converters: dict) -> str:
    def replace(match):
        converter = converters.get(match["name"])
        kind = type(converter).__name__.removesuffix("Converter").lower() if converter else "str"
        return SAMPLE_VALUES.get(kind, "valeur")

    return re.sub(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>", replace, route)


def _walk(patterns, prefix="", namespace="", converters=None):
    converters = converters or {}
    for entry in patterns:
        # An include's own parameters (candidatures/<int:pk>/preuves/) come first.
        known = {**converters, **getattr(entry.pattern, "converters", {})}
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                continue  # Django's admin has its own login; tested in test_views.
            if entry.namespace == "api-v1":
                continue  # The API asks for its token instead: tests/api/test_openapi.py.
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), inner, known)
        elif isinstance(entry, URLPattern):
            route = prefix + str(entry.pattern)
            yield f"{namespace}{entry.name}", "/" + _sample_path(route, known)


ROUTES = sorted(set(_walk(get_resolver().url_patterns)), key=lambda route: route[1])
PRIVATE = [
    (name, path)
    for name, path in ROUTES
    if name not in PUBLIC and path.lstrip("/") not in PUBLIC_PATHS
]


def test_the_public_list_names_existing_routes():
    names = {name for name, _ in ROUTES}
    assert names >= PUBLIC


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "path"), PRIVATE, ids=[name or path for name, path in PRIVATE])
@pytest.mark.parametrize("method", ["get", "post"])
def test_private_url_redirects_a_signed_out_visitor_to_login(client, name, path, method):
    response = getattr(client, method)(path)
    assert response.status_code == 302, f"{path} a répondu {response.status_code}"
    assert response["Location"].startswith(reverse("login") + "?next=")


def test_there_are_private_urls_to_check():
    assert len(PRIVATE) >= 10
