"""The token page of « Mon compte »: a company user makes a token and sees it once; the
mandataire sees and revokes the company's tokens, a colleague neither sees nor revokes
another's, nor does another company; the agency and anonymous visitors get no page."""

import pytest
from django.urls import reverse

from segur_portal.models_api import ApiToken
from tests.api.conftest import ready_user, token_for
from tests.factories import UserFactory
from tests.preuves.dossiers import eligible_candidature

PAGE = "/compte/api/"


def _revoke(client, token):
    return client.post(reverse("api_token_revoke", args=[token.pk]))


def test_a_token_is_made_and_shown_once(client, member):
    client.force_login(member)
    response = client.post(PAGE, {"name": "CI", "scope": "ecriture", "days": "365"})
    assert response.status_code == 201
    token = ApiToken.objects.get()
    page = response.content.decode()
    (raw,) = [word for word in page.split('"') if word.startswith("sgr_") and len(word) > 40]
    assert raw.startswith(token.prefix)
    assert (token.name, token.scope, token.created_by) == ("CI", "ecriture", member)
    again = client.get(PAGE).content.decode()
    assert raw not in again and token.prefix in again


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "", "scope": "lecture", "days": "30"}, "Ce champ est obligatoire."),
        ({"name": "CI", "scope": "admin", "days": "30"}, "Sélectionnez un choix valide."),
        ({"name": "CI", "scope": "lecture", "days": "9999"}, "Sélectionnez un choix valide."),
    ],
)
def test_a_forged_form_is_refused_at_its_field(client, member, fields, message):
    client.force_login(member)
    response = client.post(PAGE, fields)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ApiToken.objects.exists()


def test_the_mandataire_sees_and_revokes_a_colleagues_token(client, member, candidature):
    salarie = ready_user(candidature.editeur)
    token, _raw = token_for(salarie, name="Outil de Paul")
    client.force_login(member)
    assert "Outil de Paul" in client.get(PAGE).content.decode()
    assert _revoke(client, token).status_code == 302
    token.refresh_from_db()
    assert token.revoked_by == member


def test_a_colleague_or_another_company_neither_sees_nor_revokes(client, member, candidature):
    token, _raw = token_for(member, name="Outil du mandataire")
    colleague = ready_user(candidature.editeur)
    stranger = ready_user(eligible_candidature().editeur, company_role="mandataire")
    for user in (colleague, stranger):
        client.force_login(user)
        assert "Outil du mandataire" not in client.get(PAGE).content.decode()
        assert _revoke(client, token).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    assert client.get(reverse("api_token_revoke", args=[token.pk])).status_code == 405


@pytest.mark.django_db
@pytest.mark.parametrize("trait", ["instructeur", "college", "admin"])
def test_the_agency_gets_no_token_page(client, trait):
    client.force_login(UserFactory(**{trait: True}))
    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE, {"name": "x", "scope": "lecture", "days": "30"}).status_code == 403
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_an_anonymous_visitor_is_sent_to_the_login(client):
    response = client.get(PAGE)
    assert response.status_code == 302 and response["Location"].startswith("/connexion/")
