"""Every URL that concerns a candidature or a file: another company gets a 404, and the
company itself gets a 403 on the agency's actions."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from candidatures.models import CguAcceptance
from candidatures.services.onboarding import current_cgu
from candidatures.services.sollicitation import sollicitation_open
from preuves import bulk
from tests.factories import CandidatureFactory, UserFactory, company_user
from tests.preuves.dossiers import deposit_everything, eligible_candidature
from tests.preuves.factories import FichierFactory

NAMESPACES = {"candidatures", "preuves", "dossier", "phase3"}
# Decisions of the agency: the company may see its candidature, not take them.
AGENCY_ACTIONS = {
    "candidatures:validate_admin",
    "candidatures:validate_eligibility",
    "candidatures:reject",
    "candidatures:sollicitation_open",
    "dossier:take",
    "dossier:verdict",
    "dossier:complement",
    "dossier:close",
    "dossier:visite",
}


def _object_routes():
    def walk(patterns, namespace="", prefix=""):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = entry.namespace or namespace
                yield from walk(entry.url_patterns, inner, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern) and namespace in NAMESPACES:
                route = prefix + str(entry.pattern)
                params = sorted(re.findall(r"<(?:\w+:)?(\w+)>", route))
                if params:
                    yield f"{namespace}:{entry.name}", params

    return sorted({(name, tuple(params)) for name, params in walk(get_resolver().url_patterns)})


ROUTES = _object_routes()


def test_the_walk_covers_the_candidature_and_file_urls():
    names = {name for name, _ in ROUTES}
    assert {
        "candidatures:detail",
        "candidatures:sollicitation_answer",
        "preuves:download",
        "dossier:upload",
        "dossier:remove",
    } <= names
    assert len(ROUTES) >= 29


@pytest.fixture
def other_company_objects():
    candidature = CandidatureFactory(admin_soumise=True)
    sollicitation = sollicitation_open(
        candidature=candidature, actor=UserFactory(instructeur=True), text="Précisez."
    )
    fichier = FichierFactory(editeur=candidature.editeur)
    # The proof dossier: an eligible candidature on a real REM, with a deposit.
    eligible = eligible_candidature()
    deposit_everything(eligible)
    depot = eligible.depots.select_related("preuve_attendue").first()
    lot = bulk.lot_create(candidature=eligible, actor=company_user(eligible.editeur))
    return {
        "pk": candidature.pk,
        "sid": sollicitation.pk,
        "fichier": fichier.pk,
        "dossier": {
            "pk": eligible.pk,
            "exigence_id": depot.exigence_id,
            "preuve_id": depot.preuve_attendue_id or 0,
            "depot_id": depot.pk,
            "lot_id": lot.pk,
        },
    }


def _kwargs(name, params, objects):
    if name.startswith("preuves:"):
        return {"pk": objects["fichier"]}
    if name.startswith("dossier:"):
        return {param: objects["dossier"][param] for param in params}
    return {param: objects[param] for param in params}


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "params"), ROUTES, ids=[name for name, _ in ROUTES])
def test_another_company_gets_404(client, other_company_objects, name, params):
    intruder = UserFactory(mandataire=True)
    CguAcceptance.objects.create(user=intruder, cgu=current_cgu())
    client.force_login(intruder)
    url = reverse(name, kwargs=_kwargs(name, params, other_company_objects))
    assert client.get(url).status_code in (404, 405)
    response = client.post(url, {"text": "x", "reason": "x"})
    assert response.status_code in (404, 405), f"{url} → {response.status_code}"
    assert client.get(url).status_code != 200


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(AGENCY_ACTIONS))
def test_the_company_gets_403_on_agency_actions(client, other_company_objects, name):
    candidature = CandidatureFactory(admin_soumise=True)
    member = company_user(candidature.editeur)
    CguAcceptance.objects.create(user=member, cgu=current_cgu())
    client.force_login(member)
    response = client.post(reverse(name, args=[candidature.pk]), {"text": "x", "reason": "x"})
    assert response.status_code == 403
