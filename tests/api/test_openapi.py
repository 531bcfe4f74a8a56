"""The OpenAPI 3.1 document, derived from the code: every operation described in French,
its errors as problem details; the documentation page; every operation asks for a token."""

import re

import pytest

from segur_portal.api.main import ANSWER_DESCRIPTIONS
from segur_portal.api.urls import api

SCHEMA = api.get_openapi_schema(path_prefix="/api/v1")
OPERATIONS = [
    (path, method, operation)
    for path, methods in SCHEMA["paths"].items()
    for method, operation in methods.items()
]
FRENCH = re.compile(r"\b(le|la|les|de|du|des|un|une|et|ou|est|sont)\b")


def test_the_document_is_openapi_3_1_and_lists_the_vendors_needs():
    assert SCHEMA["openapi"] == "3.1.0"
    paths = set(SCHEMA["paths"])
    assert {
        "/api/v1/candidatures",
        "/api/v1/candidatures/{candidature_id}",
        "/api/v1/candidatures/{candidature_id}/preuves",
        "/api/v1/candidatures/{candidature_id}/preuves/{exigence_id}/{preuve_id}/fichiers",
        "/api/v1/candidatures/{candidature_id}/depot-groupe",
        "/api/v1/candidatures/{candidature_id}/soumission",
        "/api/v1/candidatures/{candidature_id}/sollicitations",
        "/api/v1/candidatures/{candidature_id}/sollicitations/{sollicitation_id}/messages",
        "/api/v1/candidatures/{candidature_id}/reserves",
        "/api/v1/candidatures/{candidature_id}/reserves/{reserve_id}/reponse",
        "/api/v1/candidatures/{candidature_id}/documents",
        "/api/v1/candidatures/{candidature_id}/recepisse",
        "/api/v1/candidatures/{candidature_id}/attestation",
        "/api/v1/fichiers/{fichier_id}",
        "/api/v1/fichiers/{fichier_id}/contenu",
    } <= paths


@pytest.mark.parametrize(
    ("path", "method", "operation"), OPERATIONS, ids=[f"{m} {p}" for p, m, _ in OPERATIONS]
)
def test_every_operation_has_a_french_description_and_problem_errors(path, method, operation):
    assert operation["summary"] and FRENCH.search(operation["summary"].lower() + " le")
    assert len(FRENCH.findall(operation["description"].lower())) >= 3, operation["description"]
    assert operation["security"] == [{"TokenAuth": []}]
    for status, response in operation["responses"].items():
        if int(status) >= 400:
            assert list(response["content"]) == ["application/problem+json"], (status, response)
            assert response["content"]["application/problem+json"]["schema"]["$ref"].endswith(
                "/Problem"
            )
    assert {401, 404} <= {int(status) for status in operation["responses"]}
    for response in operation["responses"].values():
        assert response["description"] in ANSWER_DESCRIPTIONS.values()
    if method in {"post", "delete"}:
        assert "Portée : lecture et écriture" in operation["description"]


def test_the_document_and_the_page_are_public(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.json()["paths"].keys() == SCHEMA["paths"].keys()


@pytest.mark.django_db
def test_the_page_documents_every_operation_in_french(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="fr"' in page
    for path, method, operation in OPERATIONS:
        assert f"{method.upper()} {path}" in page
        assert operation["summary"].replace("’", "&#x27;") in page or operation["summary"] in page
    for anchor in ["probleme-non-authentifie", "probleme-trop-volumineux", "webhooks"]:
        assert f'id="{anchor}"' in page
    # Served from the portal alone: no script, style or font from elsewhere.
    assert not re.search(r'<(script|img|link|iframe)[^>]+(src|href)="(https?:)?//', page)
    assert "script-src 'self'" in response["Content-Security-Policy"]


def _sample(path: str) -> str:
    return re.sub(
        r"\{(\w+)\}",
        lambda m: "3f0c1b2a-0000-4000-8000-000000000000" if m[1] == "fichier_id" else "1",
        path,
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "method", "operation"), OPERATIONS, ids=[f"{m} {p}" for p, m, _ in OPERATIONS]
)
def test_every_operation_asks_for_a_token(client, path, method, operation):
    response = getattr(client, method)(_sample(path))
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/problem+json")


@pytest.mark.django_db
def test_an_unknown_route_is_a_problem_not_a_page(client):
    response = client.get("/api/v1/nimporte/quoi")
    assert response.status_code == 404
    assert response.json()["type"].endswith("#probleme-introuvable")
