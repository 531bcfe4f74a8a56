"""One company's token never reaches another company's objects, on every operation of
the OpenAPI document that names an object in its path: the answer is 404 problem+json,
the same as for an id that does not exist, and nothing of the other company changes.

The operations are read from the served document, so a new operation is covered as soon
as it exists; one that names a kind of object the test cannot find for company B fails
here until tests/api/data.py (CompanyData.paths) or FILE_KINDS below gives one. Writes
are sent with a body built from the document (a real PDF for a file), so that a 404 is
the object's refusal, not the body's. Also: a read-only token on every write, and a
portal session (agency or company) that is no API credential."""

import json
import re
from uuid import uuid4

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile

from candidatures.models import SollicitationMessageFichier
from candidatures.services import sollicitation as sollicitation_services
from college import services as college_services
from college.models import Attestation, Reserve, ReserveReponse
from preuves.models import Depot, DossierSoumission
from segur_portal.enums import ApiTokenScope, JournalKind
from segur_portal.models import JournalEntry
from tests.api.conftest import ApiClient, token_for
from tests.api.data import company_with_data
from tests.factories import UserFactory
from tests.preuves import samples
from tests.preuves.dossiers import upload

WRITES = {"post", "put", "patch", "delete"}
# Path parameters that name the référentiel, shared by every company (a requirement, an
# expected proof), not a company's object: mixing them is no trespass.
SHARED = {"exigence_id", "preuve_id"}
# What the snapshot leaves out: bookkeeping every call or login writes.
VOLATILE_FIELDS = {"last_login", "last_used_at"}
SNAPSHOT_APPS = {"segur_portal", "candidatures", "preuves", "college"}
SNAPSHOT_SKIPPED = {"JournalEntry", "JournalHead", "JournalDigest"}


def _operations(client) -> list[tuple[str, str, dict]]:
    document = client.get("/api/v1/openapi.json").json()
    return [
        (method, path, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]


def _names(path: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", path))


def _url(path: str, values: dict) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(values[m[1]]), path)


def _value(schema: dict, name: str):
    """A valid value of a JSON schema, for a body the document describes."""
    kind = schema.get("type")
    if kind == "object":
        return {key: _value(sub, key) for key, sub in schema.get("properties", {}).items()}
    if kind == "array":
        return [_value(schema["items"], name)]
    if kind == "boolean":
        return False
    if kind == "integer":
        return 1
    if kind == "string" and schema.get("format") == "binary":
        return SimpleUploadedFile(f"{name}.pdf", samples.pdf_bytes())
    if kind == "string":
        texts = ["Réponse de l’éditeur.", "https://gazelle.example/rapport/1"]
        if schema.get("format") == "uri":
            texts.reverse()
        pattern = schema.get("pattern", "")
        return next(text for text in texts if re.search(pattern, text))
    raise AssertionError(f"schéma de corps inconnu du test : {schema}")


def _body(operation: dict, components: dict) -> dict:
    """The request's keyword arguments for Django's client: a valid body for the
    operation, multipart or JSON, as its document describes it."""
    content = operation.get("requestBody", {}).get("content", {})
    if not content:
        return {}
    if "multipart/form-data" in content:
        schema = content["multipart/form-data"]["schema"]
        data = {}
        for key, sub in schema["properties"].items():
            value = _value(sub, key)
            data[key] = json.dumps(value) if sub.get("type") == "object" else value
        return {"data": data}
    if "application/json" in content:
        schema = content["application/json"]["schema"]
        if "$ref" in schema:
            schema = components[schema["$ref"].rsplit("/", 1)[1]]
        return {"data": json.dumps(_value(schema, "corps")), "content_type": "application/json"}
    raise AssertionError(f"type de corps inconnu du test : {list(content)}")


def _call(api, method: str, url: str, operation: dict, components: dict):
    kwargs = _body(operation, components)
    if method == "get":
        return api.get(url)
    if method == "delete":
        return api.delete(url)
    return api.post(url, kwargs.pop("data", None), **kwargs)


def _snapshot() -> dict[str, list]:
    """Every row of the portal's tables, but the journal (checked apart) and the fields
    a call or a login touches: what a trespass would change."""
    result = {}
    for model in apps.get_models():
        if model._meta.app_label not in SNAPSHOT_APPS or model.__name__ in SNAPSHOT_SKIPPED:
            continue
        fields = [
            field.attname
            for field in model._meta.concrete_fields
            if field.name not in VOLATILE_FIELDS
        ]
        result[model.__name__] = sorted(model.objects.order_by("pk").values_list(*fields), key=repr)
    return result


def _changed(before: dict, after: dict) -> list[str]:
    return [name for name in before if before[name] != after[name]]


def _file_kinds(company) -> dict[str, str]:
    """One file of each kind a company holds, by what holds it."""
    attachments = SollicitationMessageFichier.objects.filter(
        message__sollicitation__candidature=company.instruction
    )
    holders = [
        ("preuve", Depot.objects.filter(candidature=company.eligible), "fichier_id"),
        (
            "recepisse",
            DossierSoumission.objects.filter(candidature=company.instruction),
            "receipt_id",
        ),
        ("piece_jointe_ans", attachments.filter(message__from_agency=True), "fichier_id"),
        ("piece_jointe_entreprise", attachments.filter(message__from_agency=False), "fichier_id"),
        (
            "reponse_reserve",
            ReserveReponse.fichiers.through.objects.filter(
                reservereponse__reserve__decision__inscription__candidature=company.reserves
            ),
            "fichier_id",
        ),
        ("attestation", Attestation.objects.filter(candidature=company.referenced), "fichier_id"),
    ]
    found = {
        kind: rows.exclude(**{f"{field}__isnull": True}).values_list(field, flat=True).first()
        for kind, rows, field in holders
    }
    missing = [kind for kind, pk in found.items() if pk is None]
    assert not missing, f"la société de test n’a pas de fichier de ces sortes : {missing}"
    return {kind: str(pk) for kind, pk in found.items()}


def _company(django_capture_on_commit_callbacks):
    """Every kind of object, plus what data.py leaves out: an answer of the company in
    the sollicitation (with an attachment) and an answered réserve (the other one stays
    to answer)."""
    with django_capture_on_commit_callbacks(execute=True):
        company = company_with_data()
        sollicitation = company.instruction.sollicitations.get()
        sollicitation_services.sollicitation_message_send(
            sollicitation=sollicitation,
            actor=company.member,
            text="Le NIL est indiqué page 3.",
            files=[upload("nil.pdf", samples.pdf_bytes())],
        )
        reserve = Reserve.objects.filter(
            decision__inscription__candidature=company.reserves
        ).earliest("position")
        college_services.reserve_answer(
            reserve=reserve,
            actor=company.member,
            comment="Corrigé dans la version 2.1.",
            uploads=[upload("correction.pdf", samples.pdf_bytes())],
        )
    company.files = _file_kinds(company)
    return company


def _sets(company, names: set[str]) -> list[dict]:
    """The company's own path parameter sets for an operation naming `names`; for a
    file, one of each kind."""
    if names == {"fichier_id"}:
        return [{"fichier_id": pk} for pk in company.files.values()]
    sets = [values for values in company.paths() if set(values) == names]
    # Each candidature for candidature-only operations; a few for the others.
    return sets if names == {"candidature_id"} else sets[:2] + sets[-1:]


def _same_kind(company_a, company_b, candidature_id: int) -> int:
    """A's candidature in the state of B's `candidature_id`."""
    index = [c.pk for c in company_b.candidatures].index(candidature_id)
    return company_a.candidatures[index].pk


def _forged(name: str) -> list:
    """Ids that name nothing: past the last one, negative, past PostgreSQL's bigint."""
    if name == "fichier_id":
        return [str(uuid4())]
    return [2**31 - 1, -1, 2**63]


@pytest.fixture
def companies(db, django_capture_on_commit_callbacks, settings):
    # Many calls in a row: the rate limit is tested elsewhere.
    settings.RATELIMIT_API_TOKEN = "100000/m"
    return (
        _company(django_capture_on_commit_callbacks),
        _company(django_capture_on_commit_callbacks),
    )


def _assert_not_found(response, company_b, label: str) -> str:
    assert response.status_code == 404, (label, response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/problem+json"), label
    problem = response.json()
    assert problem["type"].endswith("#probleme-introuvable"), (label, problem)
    assert problem["detail"], (label, problem)
    # Nothing of B in the answer: not even its candidatures' names.
    text = response.content.decode()
    for candidature in company_b.candidatures:
        assert candidature.reference not in text and candidature.nom_commercial not in text
    return problem["detail"]


def test_a_token_never_reaches_another_companys_objects(client, companies):
    company_a, company_b = companies
    api = ApiClient(client, token_for(company_a.member)[1])
    components = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    operations = [op for op in _operations(client) if _names(op[1])]
    assert len(operations) >= 15
    journal_before = set(JournalEntry.objects.values_list("pk", flat=True))
    before = _snapshot()
    tried = {}
    for method, path, operation in operations:
        label = f"{method.upper()} {path}"
        names = _names(path)
        own_b = _sets(company_b, names)
        assert own_b, f"{label} : aucun objet de la société B pour ce chemin (tests/api/data.py)"
        # Ids that name nothing, under A's own objects: what B's objects must look like.
        forged = [
            (f"{name} forgé", {**values, name: value})
            for values in _sets(company_a, names)[:1]
            for name in sorted(names)
            for value in _forged(name)
        ]
        cases = [("objet de B", values) for values in own_b]
        # A's own candidature with B's objects under it.
        cases += [
            (
                "candidature de A, objet de B",
                {
                    **values,
                    "candidature_id": _same_kind(company_a, company_b, values["candidature_id"]),
                },
            )
            for values in own_b
            if "candidature_id" in values and names - {"candidature_id"} - SHARED
        ]
        unknown = set()
        for reason, values in forged:
            response = _call(api, method, _url(path, values), operation, components)
            unknown.add(_assert_not_found(response, company_b, f"{label} ({reason}, {values})"))
        for reason, values in cases:
            response = _call(api, method, _url(path, values), operation, components)
            detail = _assert_not_found(response, company_b, f"{label} ({reason}, {values})")
            # Indistinguishable from an id that does not exist.
            assert detail in unknown, (label, reason, detail, unknown)
        cases += forged
        tried[label] = len(cases)
    assert _changed(before, _snapshot()) == []
    # The calls are journaled as A's, on none of B's candidatures.
    calls = JournalEntry.objects.exclude(pk__in=journal_before)
    assert calls.count() == api.calls
    assert set(calls.values_list("kind", "editeur_id", "data__status")) == {
        (JournalKind.API_APPEL, company_a.eligible.editeur_id, 404)
    }
    reached = set(calls.values_list("candidature_id", flat=True))
    assert reached <= {None, *(candidature.pk for candidature in company_a.candidatures)}
    assert all(count >= 2 for count in tried.values()), tried


def test_lists_name_only_the_companys_own_objects(client, companies):
    company_a, company_b = companies
    api = ApiClient(client, token_for(company_a.member)[1])
    listed = {row["id"] for row in api.get("/api/v1/candidatures").json()}
    assert listed == {candidature.pk for candidature in company_a.candidatures}
    assert api.get("/api/v1/moi").json()["siret"] == company_a.eligible.editeur.siret


def test_a_read_only_token_writes_nothing_even_on_its_own_objects(client, companies):
    company_b = companies[1]
    api = ApiClient(client, token_for(company_b.member, scope=ApiTokenScope.LECTURE)[1])
    components = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    writes = [op for op in _operations(client) if op[0] in WRITES]
    assert len(writes) >= 6
    before = _snapshot()
    for method, path, operation in writes:
        for values in _sets(company_b, _names(path))[:1]:
            response = _call(api, method, _url(path, values), operation, components)
            assert response.status_code == 403, (method, path, response.content[:300])
            problem = response.json()
            assert problem["type"].endswith("#probleme-portee-insuffisante")
            assert "lecture seule" in problem["detail"]
    assert _changed(before, _snapshot()) == []


@pytest.mark.parametrize("who", ["instructeur", "admin", "membre de l’entreprise"])
def test_a_portal_session_is_no_api_credential(client, companies, who):
    """The agency works in the browser: its session opens no operation of the API, nor
    does a company member's without a token (and the API takes no CSRF-less session
    write)."""
    company_b = companies[1]
    user = {
        "instructeur": company_b.instruction.instructeur,
        "admin": UserFactory(admin=True),
        "membre de l’entreprise": company_b.member,
    }[who]
    client.force_login(user)
    components = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    before = _snapshot()
    for method, path, operation in _operations(client):
        names = _names(path)
        for values in _sets(company_b, names)[:1] if names else [{}]:
            response = _call(client, method, _url(path, values), operation, components)
            assert response.status_code == 401, (who, method, path, response.content[:300])
            assert response.json()["type"].endswith("#probleme-non-authentifie")
    assert _changed(before, _snapshot()) == []
