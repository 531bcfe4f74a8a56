"""The documentation page of the API, read from its OpenAPI document: every operation
with its French description, parameters, body and answers; the problems; the webhooks."""

import re

from django.conf import settings

from segur_portal.api.problems import PROBLEMS
from segur_portal.enums import WebhookEvent
from segur_portal.webhooks import SIGNATURE_HEADER

METHOD_ORDER = ["get", "post", "put", "patch", "delete"]


def _type(schema: dict) -> str:
    if not schema:
        return ""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " ou ".join(_type(option) for option in schema["anyOf"])
    if schema.get("type") == "array":
        return f"liste de {_type(schema.get('items', {}))}"
    return schema.get("format") or schema.get("type", "")


def _body(operation: dict) -> list[dict]:
    content = operation.get("requestBody", {}).get("content", {})
    fields = []
    for media_type, spec in content.items():
        schema = spec.get("schema", {})
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            fields.append(
                {
                    "media_type": media_type,
                    "name": name,
                    "type": _type(prop),
                    "required": name in required,
                    "description": prop.get("description", ""),
                }
            )
        if not schema.get("properties") and schema:
            fields.append(
                {"media_type": media_type, "name": "(corps)", "type": _type(schema),
                 "required": True, "description": ""}
            )  # fmt: skip
    return fields


def _operations(schema: dict) -> list[tuple[str, list[dict]]]:
    groups: dict[str, list[dict]] = {}
    for path, methods in schema.get("paths", {}).items():
        for method in sorted(methods, key=METHOD_ORDER.index):
            operation = methods[method]
            tag = (operation.get("tags") or ["Général"])[0]
            description = operation.get("description", "")
            groups.setdefault(tag, []).append(
                {
                    "anchor": re.sub(r"[^a-z0-9]+", "-", f"{method}-{path}".lower()).strip("-"),
                    "method": method.upper(),
                    "path": path,
                    "summary": operation.get("summary", ""),
                    "paragraphs": [p for p in re.split(r"\n\s*\n", description) if p.strip()],
                    "writes": "Portée : lecture et écriture" in description,
                    "parameters": [
                        {
                            "name": parameter["name"],
                            "where": {"path": "chemin", "query": "requête"}.get(
                                parameter["in"], parameter["in"]
                            ),
                            "type": _type(parameter.get("schema", {})),
                            "required": parameter.get("required", False),
                        }
                        for parameter in operation.get("parameters", [])
                    ],
                    "body": _body(operation),
                    "responses": [
                        (
                            status,
                            response.get("description", ""),
                            ", ".join(response.get("content", {})),
                        )
                        for status, response in sorted(operation.get("responses", {}).items())
                    ],
                }
            )
    return list(groups.items())


def docs_context(api, request) -> dict:
    schema = api.get_openapi_schema()
    return {
        "title": "Documentation de l’API",
        "api": api,
        "schema": schema,
        "groups": _operations(schema),
        "base_url": f"{settings.SITE_URL}/api/v1",
        "problems": [(slug, status, title) for slug, (status, title) in PROBLEMS.items()],
        "events": WebhookEvent.choices,
        "signature_header": SIGNATURE_HEADER,
        "rate": settings.RATELIMIT_API_TOKEN,
    }
