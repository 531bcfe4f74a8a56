"""schemathesis against the live OpenAPI document: every operation, called over HTTP on
the live server with a read-write token of a company that has data of every kind, never
answers 500 and answers what its document says (status, content type, headers, body).

Each operation gets valid data (positive) and invalid data (negative). In the valid
cases the path parameters are, half the time, a consistent set naming the company's own
objects (a proof of its candidature, a réserve of its decision…), so that the calls
reach its data and its writes, not only 404s; each reading is also made once on every
object of the company, and must answer 200 there. The examples are bounded: the test
stays under a minute.

schemathesis's own pytest integration (`from_fixture`) reads a node attribute pytest 9
no longer has; each operation runs here as a subtest of one test instead, with the same
checks (`call_and_validate`)."""

import re

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.api.conftest import token_for
from tests.api.data import company_with_data

EXAMPLES = {GenerationMode.POSITIVE: 8, GenerationMode.NEGATIVE: 4}
REFUSED_BY_A_RULE = "#probleme-action-refusee"


def valid_requests_are_refused_only_by_a_rule(ctx, response, case):
    """Instead of schemathesis's positive_data_acceptance, which takes any 400 or 422 to
    a valid request for a mismatch: the portal's rules (J6, a complete dossier, a file
    that fits its proof, a closed exchange) refuse requests the document cannot
    describe, as `action-refusee`. A request valid by the document is never answered as
    malformed (`requete-invalide`) or invalid (`donnees-invalides`)."""
    if not case.meta.generation.mode.is_positive or response.status_code not in (400, 422):
        return None
    problem_type = response.json().get("type", "")
    if not problem_type.endswith(REFUSED_BY_A_RULE):
        raise AssertionError(
            f"Requête valide selon le document refusée ({response.status_code}, "
            f"{problem_type}) : {response.text[:300]}"
        )
    return None


@pytest.fixture
def company(live_server, transactional_db, settings):
    # The fuzzing calls quickly, well past a client's rate: the limit is tested elsewhere.
    settings.RATELIMIT_API_TOKEN = "100000/m"
    return company_with_data()


def _own(operation, paths: list[dict]) -> list[dict]:
    """The company's path parameter sets that fit this operation."""
    names = set(re.findall(r"\{(\w+)\}", operation.path))
    return [values for values in paths if names and set(values) == names]


def _fuzz(operation, mode, *, own, session, headers, statuses):
    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    @settings(
        max_examples=EXAMPLES[mode],
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def run(case, data):
        if mode.is_positive and own and data.draw(st.booleans(), label="objets de l’entreprise"):
            case.path_parameters = dict(data.draw(st.sampled_from(own), label="chemin"))
        response = case.call_and_validate(
            session=session,
            headers=headers,
            additional_checks=[valid_requests_are_refused_only_by_a_rule],
            excluded_checks=[positive_data_acceptance],
        )
        statuses.add(response.status_code)

    run()


def _walk(operation, *, own, session, headers, statuses):
    """A reading on each of the company's own objects."""
    for values in own:
        response = operation.Case(path_parameters=dict(values)).call_and_validate(
            session=session, headers=headers
        )
        statuses.add(response.status_code)


def test_every_operation_answers_as_its_document_says(live_server, company, subtests):
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/openapi.json")
    headers = {"Authorization": f"Bearer {token_for(company.member)[1]}"}
    paths = company.paths()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    reached = {}
    with requests.Session() as session:
        for operation in operations:
            statuses = reached.setdefault(operation.label, set())
            own = _own(operation, paths)
            calls = {"own": own, "session": session, "headers": headers, "statuses": statuses}
            if operation.method.upper() == "GET":
                with subtests.test(msg=f"{operation.label} (objets de l’entreprise)"):
                    _walk(operation, **calls)
            for mode in EXAMPLES:
                with subtests.test(msg=f"{operation.label} ({mode.value})"):
                    _fuzz(operation, mode, **calls)
    # The company's data was reached, not only its absence: each reading answered 200.
    unread = [label for label, got in reached.items() if label.startswith("GET") and 200 not in got]
    assert not unread, {label: sorted(reached[label]) for label in unread}
