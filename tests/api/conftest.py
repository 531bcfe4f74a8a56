"""A company with a token, and a client that calls the API with it."""

import pytest

from candidatures.models import CguAcceptance
from candidatures.services.onboarding import current_cgu
from segur_portal.api_tokens import api_token_create
from segur_portal.enums import ApiTokenScope
from tests.factories import company_user
from tests.preuves.dossiers import eligible_candidature


def ready_user(editeur, **kwargs):
    """A member of the company who passed the portal's gate (address, CGU)."""
    user = company_user(editeur, **kwargs)
    CguAcceptance.objects.create(user=user, cgu=current_cgu())
    return user


def token_for(user, scope=ApiTokenScope.ECRITURE, days=30, name="Intégration continue"):
    return api_token_create(actor=user, name=name, scope=scope, days=days)


class ApiClient:
    """Django's test client with the token's header on every call."""

    def __init__(self, client, raw: str):
        self.client = client
        self.headers = {"Authorization": f"Bearer {raw}"}
        # How many calls this client made (each one is journaled).
        self.calls = 0

    def get(self, path, **kwargs):
        self.calls += 1
        return self.client.get(path, headers=self.headers, **kwargs)

    def post(self, path, data=None, **kwargs):
        self.calls += 1
        return self.client.post(path, data, headers=self.headers, **kwargs)

    def delete(self, path, **kwargs):
        self.calls += 1
        return self.client.delete(path, headers=self.headers, **kwargs)


def problem(response, status: int, slug: str) -> dict:
    """The answer as RFC 9457 problem details of this status and kind."""
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"].endswith(f"#probleme-{slug}") and body["status"] == status
    assert body["title"] and body["detail"]
    return body


@pytest.fixture
def candidature(db):
    return eligible_candidature()


@pytest.fixture
def member(candidature):
    return ready_user(candidature.editeur, company_role="mandataire")


@pytest.fixture
def token(member):
    return token_for(member)


@pytest.fixture
def api(client, token):
    return ApiClient(client, token[1])
