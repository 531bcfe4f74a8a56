"""Personal tokens: made and revoked by their owner (the mandataire for the company),
stored hashed; expired, revoked, forged, read-only and rate-limited tokens refused."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from candidatures.models import CguAcceptance
from segur_portal.api_tokens import api_token_create, api_token_revoke, token_hash
from segur_portal.enums import ApiTokenScope, JournalKind
from segur_portal.models import JournalEntry
from segur_portal.models_api import ApiToken
from segur_portal.services import member_remove
from tests.api.conftest import ApiClient, ready_user, token_for
from tests.factories import UserFactory


def test_a_token_is_stored_as_its_hash_only(member):
    token, raw = token_for(member)
    assert raw.startswith("sgr_") and len(raw) > 40
    stored = ApiToken.objects.get()
    assert stored.token_hash == token_hash(raw)
    assert raw not in {stored.token_hash, stored.prefix, stored.name}
    assert raw.startswith(stored.prefix)
    assert stored.expires_at - stored.created_at == timedelta(days=30)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "  ", "scope": "lecture", "days": 30}, "name"),
        ({"name": "CI", "scope": "admin", "days": 30}, "scope"),
        ({"name": "CI", "scope": "lecture", "days": 366}, "days"),
        ({"name": "CI", "scope": "lecture", "days": 0}, "days"),
    ],
)
def test_a_token_needs_a_name_a_scope_and_at_most_a_year(member, fields, field):
    with pytest.raises(ValidationError) as error:
        api_token_create(actor=member, **fields)
    assert field in error.value.message_dict
    assert ApiToken.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("trait", ["instructeur", "college", "admin"])
def test_the_agency_gets_no_token(trait):
    with pytest.raises(PermissionDenied):
        api_token_create(actor=UserFactory(**{trait: True}), name="x", scope="lecture", days=30)


def test_owner_and_mandataire_revoke_a_colleague_does_not(member, candidature):
    salarie = ready_user(candidature.editeur)
    other = ready_user(candidature.editeur)
    token, _ = token_for(salarie)
    with pytest.raises(PermissionDenied):
        api_token_revoke(token=token, actor=other)
    api_token_revoke(token=token, actor=member)
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == member
    entry = JournalEntry.objects.filter(kind=JournalKind.COMPTE).last()
    assert entry.data["event"] == "jeton_api_revoque"
    assert entry.data["token_name"] == token.name


def test_a_valid_token_is_answered_and_the_call_journaled(api, token, candidature):
    response = api.get(f"/api/v1/candidatures/{candidature.pk}")
    assert response.status_code == 200
    entry = JournalEntry.objects.filter(kind=JournalKind.API_APPEL).get()
    assert entry.data["token_name"] == "Intégration continue"
    assert entry.data["status"] == 200
    assert entry.data["path"] == f"/api/v1/candidatures/{candidature.pk}"
    assert entry.candidature_id == candidature.pk
    assert entry.actor_id == token[0].created_by_id
    token[0].refresh_from_db()
    assert token[0].last_used_at is not None


def _problem(response, status, slug):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["type"].endswith(f"#probleme-{slug}")
    assert body["title"] and body["detail"]
    return body


def test_no_token_or_a_forged_one_is_401(client, token, candidature):
    _problem(client.get("/api/v1/candidatures"), 401, "non-authentifie")
    forged = token[1][:-4] + ("AAAA" if not token[1].endswith("AAAA") else "BBBB")
    for raw in [forged, "sgr_" + "x" * 43, "Basic abc", "n’importe quoi"]:
        response = ApiClient(client, raw).get("/api/v1/candidatures")
        _problem(response, 401, "non-authentifie")
        assert response["WWW-Authenticate"].startswith("Bearer")
    assert not JournalEntry.objects.filter(kind=JournalKind.API_APPEL).exists()


def test_an_expired_token_is_401(client, member):
    token, raw = token_for(member)
    ApiToken.objects.filter(pk=token.pk).update(
        created_at=timezone.now() - timedelta(days=31), expires_at=timezone.now()
    )
    _problem(ApiClient(client, raw).get("/api/v1/moi"), 401, "non-authentifie")


def test_a_revoked_token_is_401(client, member):
    token, raw = token_for(member)
    assert ApiClient(client, raw).get("/api/v1/moi").status_code == 200
    api_token_revoke(token=token, actor=member)
    _problem(ApiClient(client, raw).get("/api/v1/moi"), 401, "non-authentifie")


def test_a_token_of_someone_who_left_the_company_is_401(client, member, candidature):
    salarie = ready_user(candidature.editeur)
    _token, raw = token_for(salarie)
    member_remove(actor=member, member=salarie)
    _problem(ApiClient(client, raw).get("/api/v1/moi"), 401, "non-authentifie")


def test_a_user_without_the_cgu_in_force_is_403(client, member):
    _token, raw = token_for(member)
    CguAcceptance.objects.filter(user=member).delete()
    body = _problem(ApiClient(client, raw).get("/api/v1/moi"), 403, "interdit")
    assert "conditions générales" in body["detail"]


def test_a_read_only_token_reads_but_never_writes(client, member, candidature):
    _token, raw = token_for(member, scope=ApiTokenScope.LECTURE)
    api = ApiClient(client, raw)
    assert api.get(f"/api/v1/candidatures/{candidature.pk}/preuves").status_code == 200
    body = _problem(
        api.post(f"/api/v1/candidatures/{candidature.pk}/soumission"), 403, "portee-insuffisante"
    )
    assert "lecture seule" in body["detail"]
    candidature.refresh_from_db()
    assert candidature.state == "eligible"


def test_each_token_has_its_own_rate_limit(client, member, settings):
    settings.RATELIMIT_API_TOKEN = "3/m"
    _first, raw_first = token_for(member, name="premier")
    _second, raw_second = token_for(member, name="second")
    first = ApiClient(client, raw_first)
    assert [first.get("/api/v1/moi").status_code for _ in range(3)] == [200, 200, 200]
    body = _problem(first.get("/api/v1/moi"), 429, "trop-de-demandes")
    assert "3/m" in body["detail"]
    assert first.get("/api/v1/moi")["Retry-After"] == "60"
    assert ApiClient(client, raw_second).get("/api/v1/moi").status_code == 200
