"""NUL bytes and control characters: a 400 or a clean value, never a 500."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from candidatures.models import CguAcceptance
from candidatures.services.onboarding import current_cgu
from segur_portal.forms import SINGLE_LINE_MESSAGE, InvitationForm, SignupForm
from segur_portal.middleware import has_control_characters
from tests.factories import UserFactory

PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")


def _routes():
    """Every URL of the portal, its parameters filled with plausible values."""

    def walk(patterns, prefix=""):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                route = prefix + str(entry.pattern)
                if "(?P" in route or route.startswith("admin/"):
                    continue
                yield "/" + PARAM.sub(lambda m: "1" if m.group(1) == "int" else "ABC", route)

    return sorted(set(walk(get_resolver().url_patterns)))


ROUTES = _routes()
HOSTILE_QUERIES = ["q=%00", "dsr=%00abc", "page=1%00", "%00=1", "q=%1b%5b31m", "next=%0d%0aX:1"]


def test_the_walk_covers_the_portal():
    assert len(ROUTES) > 60
    assert "/registre/en-cours/" in ROUTES
    assert "/verifier/ABC/" in ROUTES


@pytest.fixture
def signed_in_users():
    users = {
        "editeur": UserFactory(mandataire=True),
        "instructeur": UserFactory(instructeur=True),
        "college": UserFactory(college=True),
        "admin": UserFactory(admin=True),
    }
    for user in users.values():
        CguAcceptance.objects.create(user=user, cgu=current_cgu())
    return users


@pytest.mark.django_db
@pytest.mark.parametrize("url", ROUTES)
def test_nul_in_the_query_string_is_a_400_for_everyone(client, signed_in_users, url):
    for user in [None, *signed_in_users.values()]:
        client.logout()
        if user:
            client.force_login(user)
        for query in HOSTILE_QUERIES:
            response = client.get(f"{url}?{query}")
            assert response.status_code == 400, f"{user} {url}?{query} → {response.status_code}"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["/verifier/ABC%00/", "/registre/parcs/1%00/", "/referentiel/A%00B/"]
)
def test_nul_in_the_path_is_a_400(client, url):
    assert client.get(url).status_code == 400


SIGNUP = {
    "email": "nul@exemple.fr",
    "first_name": "Jean\x00",
    "last_name": "Dupont",
    "password1": "Un-mot-de-passe-tres-long-42",
    "password2": "Un-mot-de-passe-tres-long-42",
}


@pytest.mark.django_db
def test_nul_in_an_urlencoded_form_is_a_400_and_saves_nothing(client):
    from urllib.parse import urlencode

    from segur_portal.models import User

    response = client.post(
        "/inscription/", urlencode(SIGNUP), content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert not User.objects.filter(email="nul@exemple.fr").exists()


@pytest.mark.django_db
def test_nul_in_a_multipart_form_is_an_error_at_the_field(client):
    from segur_portal.models import User

    response = client.post("/inscription/", SIGNUP)
    assert response.status_code == 200
    assert "first_name" in response.context["form"].errors
    assert not User.objects.filter(email="nul@exemple.fr").exists()


def test_multi_line_text_is_not_a_control_character():
    assert not has_control_characters("Ligne 1\r\nLigne 2\tfin")
    assert has_control_characters("a\x00b")
    assert has_control_characters("a\x1bb")
    assert has_control_characters("a\x85b")


@pytest.mark.parametrize(
    "value", ["ACME\r\nBcc: x@example.org", "ACME\nSARL", "ACME\tSARL", "A\x0bB"]
)
def test_single_line_field_refuses_line_breaks(value):
    form = SignupForm(
        data={
            "email": "jean@exemple.fr",
            "first_name": value,
            "last_name": "Dupont",
            "password1": "Un-mot-de-passe-tres-long-42",
            "password2": "Un-mot-de-passe-tres-long-42",
        }
    )
    assert not form.is_valid()
    assert form.errors["first_name"] == [SINGLE_LINE_MESSAGE]


def test_single_line_rule_does_not_touch_other_fields():
    form = InvitationForm(data={"email": "jean@exemple.fr", "company_role": "salarie"})
    form.is_valid()
    assert "email" not in form.errors


def test_crlf_in_a_commercial_name_is_refused_at_the_field():
    from candidatures.forms.candidature import CandidatureAdminForm

    form = CandidatureAdminForm(data={"nom_commercial": "LOGICIEL\r\nX-Injected: 1"})
    form.is_valid()
    assert SINGLE_LINE_MESSAGE in form.errors.get("nom_commercial", [])


# Forms that only read a query string (the middleware refuses control characters
# there) or a value checked against a strict pattern.
GET_OR_PATTERN_FORMS = {"RemSearchForm", "ProofKindForm", "NumeroForm", "AttestationFileForm"}


def test_every_form_with_a_text_input_applies_the_single_line_rule():
    import inspect
    from importlib import import_module

    from django import forms

    from segur_portal.forms import DsfrFormMixin

    modules = [
        "segur_portal.forms",
        "candidatures.forms.candidature",
        "candidatures.forms.referentiel",
        "college.forms",
        "college.views_public",
    ]
    unprotected = []
    for module_name in modules:
        for name, cls in inspect.getmembers(import_module(module_name), inspect.isclass):
            if not issubclass(cls, forms.BaseForm) or cls.__module__ != module_name:
                continue
            if name.startswith("Admin") or name in GET_OR_PATTERN_FORMS:
                continue
            if not issubclass(cls, DsfrFormMixin):
                unprotected.append(f"{module_name}.{name}")
    assert unprotected == []
