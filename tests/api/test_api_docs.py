"""docs/API.md says what the API is: every operation of the OpenAPI document, every kind
of problem, the token page and the rate limit the code has, the files it links to."""

import re
from pathlib import Path

from django.conf import settings
from django.urls import reverse

from preuves.views_lots import LOT_REQUEST_MAX_FILES
from segur_portal.api.problems import PROBLEMS
from segur_portal.api.urls import api

DOC = Path(settings.BASE_DIR) / "docs" / "API.md"
TEXT = DOC.read_text(encoding="utf-8")
SCHEMA = api.get_openapi_schema(path_prefix="/api/v1")


def test_every_operation_of_the_document_is_in_the_guide():
    operations = {
        f"{method.upper()} {path}"
        for path, methods in SCHEMA["paths"].items()
        for method in methods
    }
    listed = set(re.findall(r"`((?:GET|POST|DELETE|PUT|PATCH) /api/v1/[^`?]*)`", TEXT))
    assert listed == operations


def test_every_problem_and_limit_is_the_codes():
    for slug, (status, _title) in PROBLEMS.items():
        assert re.search(rf"\| {status} \| `{slug}` \|", TEXT), slug
    per_minute = settings.RATELIMIT_API_TOKEN.removesuffix("/m")
    assert f"{per_minute} par minute **par jeton** (`RATELIMIT_API_TOKEN`)" in TEXT
    assert f"{LOT_REQUEST_MAX_FILES} fichiers par appel" in TEXT
    assert f"(`{reverse('api_tokens')}`)" in TEXT


def test_the_guides_links_lead_somewhere():
    for target in re.findall(r"\]\(([^)#]+)\)", TEXT):
        assert (DOC.parent / target).resolve().exists(), target
    assert "/api/v1/docs" in TEXT and "/api/v1/openapi.json" in TEXT
