"""Errors of the API as RFC 9457 problem details (`application/problem+json`), with the
French messages the pages show for the same refusal."""

import json

from django.conf import settings
from django.http import HttpResponse
from ninja import Schema

PROBLEM_CONTENT_TYPE = "application/problem+json"

# Each kind of problem: its status and title. The documentation page has an anchor per
# kind (its `type` URI points there).
PROBLEMS = {
    "requete-invalide": (400, "Requête invalide"),
    "non-authentifie": (401, "Jeton d’API absent, inconnu, révoqué ou expiré"),
    "interdit": (403, "Action non autorisée"),
    "portee-insuffisante": (403, "Jeton en lecture seule"),
    "introuvable": (404, "Ressource introuvable"),
    "trop-volumineux": (413, "Envoi trop volumineux"),
    "donnees-invalides": (422, "Données invalides"),
    "action-refusee": (422, "Action refusée"),
    "trop-de-demandes": (429, "Trop de demandes"),
    "erreur-interne": (500, "Erreur interne du portail"),
}


class FieldError(Schema):
    """One field at fault: its name, its JSON pointer in the body, the French message."""

    champ: str
    pointer: str
    detail: str


class Problem(Schema):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] = []


def problem_type(slug: str) -> str:
    return f"{settings.SITE_URL}/api/v1/docs#probleme-{slug}"


class ApiProblem(Exception):
    """Raised anywhere in the API: answered as problem details."""

    def __init__(
        self,
        slug: str,
        detail: str,
        *,
        errors: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(detail)
        self.slug = slug
        self.detail = detail
        self.errors = errors or {}
        self.headers = headers or {}


def problem_response(
    slug: str,
    detail: str,
    *,
    errors: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    status, title = PROBLEMS[slug]
    body = {
        "type": problem_type(slug),
        "title": title,
        "status": status,
        "detail": detail,
        "errors": [
            {"champ": field, "pointer": f"#/{field}", "detail": message}
            for field, message in (errors or {}).items()
        ],
    }
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False),
        status=status,
        content_type=f"{PROBLEM_CONTENT_TYPE}; charset=utf-8",
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def errors_of(error, fields: dict[str, str] | None = None) -> tuple[str, dict[str, str]]:
    """A Django ValidationError as (detail, {API field: message}); `fields` renames the
    service's fields to the API's."""
    fields = fields or {}
    if hasattr(error, "error_dict"):
        errors = {
            fields.get(name, name): " ".join(messages)
            for name, messages in error.message_dict.items()
            if name != "__all__"
        }
        general = " ".join(error.message_dict.get("__all__", []))
        detail = general or " ".join(errors.values())
        return detail, errors
    return " ".join(error.messages), {}


# Pydantic's reasons, said in French (the API's own parameters and bodies).
PYDANTIC_MESSAGES = {
    "missing": "Champ obligatoire.",
    "int_parsing": "Nombre entier attendu.",
    "int_type": "Nombre entier attendu.",
    "uuid_parsing": "Identifiant (UUID) attendu.",
    "uuid_type": "Identifiant (UUID) attendu.",
    "string_type": "Texte attendu.",
    "bool_parsing": "Valeur attendue : true ou false.",
    "enum": "Valeur hors de la liste permise.",
    "literal_error": "Valeur hors de la liste permise.",
    "string_too_long": "Texte trop long.",
    "string_pattern_mismatch": "Format invalide.",
    "url_parsing": "Adresse (URL) attendue.",
    "url_scheme": "Adresse attendue en https://.",
    "json_invalid": "JSON invalide.",
    "model_attributes_type": "Objet JSON attendu.",
    "dict_type": "Objet JSON attendu.",
    "greater_than_equal": "Valeur trop petite.",
    "less_than_equal": "Valeur trop grande.",
}


def validation_errors(errors: list[dict]) -> dict[str, str]:
    """Ninja's validation errors ({loc, type, msg}) as {field: French message}."""
    result = {}
    for error in errors:
        location = [str(part) for part in error.get("loc", ()) if part not in {"body", "payload"}]
        field = ".".join(location[1:] if location[:1] in (["path"], ["query"]) else location)
        result[field or "requete"] = PYDANTIC_MESSAGES.get(
            error.get("type", ""), "Valeur invalide."
        )
    return result
