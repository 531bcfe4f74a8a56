"""Every URL that names an object, walked as an attacker: anonymous, another company,
and the collège on a candidature it does not judge. GET and POST; no answer shows the
victim's data, and nothing in the database changes.

The routes come from the URL resolver: a new URL with an object in it fails
`test_every_object_url_is_walked` until it is given its object here.
"""

import hashlib
import re
import uuid

import pytest
from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from candidatures.models import CguAcceptance
from candidatures.services.onboarding import current_cgu
from candidatures.services.sollicitation import sollicitation_open
from candidatures.services.support import support_demande_open
from college.models import Decision, Reserve
from preuves.models import Depot, DepotLot
from segur_portal.api_tokens import api_token_create
from segur_portal.models import Invitation, Notification
from segur_portal.models_api import WebhookDelivery, WebhookEndpoint
from tests.college.phase3 import signed_candidature
from tests.factories import CandidatureFactory, UserFactory, company_user

SECRET = "SOCIETE-SECRETE-7Q"
SECRET_PRODUCT = "PRODUIT-SECRET-7Q"
# Public pages, and the token links tested one by one in tests/security/test_tokens.py.
PUBLIC = {
    "referentiel:diff", "referentiel:dsr", "referentiel:rem", "referentiel:rem_csv",
    "registre:parc", "registre:journal_token", "verifier:attestation", ":invitation_accept",
    ":password_reset_confirm", ":signup_confirm", "instruction:queue_phase",
    "referentiel_admin:campagne_new", "referentiel_admin:import",
}  # fmt: skip
POST_DATA = {
    "text": "x", "reason": "x", "comment": "x", "note": "x", "verdict": "conforme",
    "password": "x", "consent": "on", "status": "certifie", "url": "https://x.example",
    "present": "1", "kind": "sans_reserve", "user": "1",
}  # fmt: skip
PARAM = re.compile(r"<(?:\w+:)?(\w+)>")


def _object_routes() -> list[tuple[str, tuple[str, ...]]]:
    def walk(patterns, namespace="", prefix=""):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                yield from walk(
                    entry.url_patterns, entry.namespace or namespace, prefix + str(entry.pattern)
                )
            elif isinstance(entry, URLPattern):
                route = prefix + str(entry.pattern)
                params = tuple(PARAM.findall(route))
                if params and not route.startswith("admin/"):
                    yield f"{namespace}:{entry.name}", params

    return sorted(set(walk(get_resolver().url_patterns)))


ROUTES = [(name, params) for name, params in _object_routes() if name not in PUBLIC]


@pytest.fixture
def victim():
    """Company A, with an object behind every kind of URL."""
    judged = signed_candidature(editeur__raison_sociale=SECRET, nom_commercial=SECRET_PRODUCT)
    editeur = judged.editeur
    submitted = CandidatureFactory(
        admin_soumise=True, editeur=editeur, nom_commercial=SECRET_PRODUCT
    )
    instructeur = judged.instructeur
    sollicitation = sollicitation_open(candidature=submitted, actor=instructeur, text="Précisez.")
    owner = editeur.members.first()
    member = company_user(editeur)
    inscription = judged.inscriptions.get()
    decision = Decision.objects.create(
        inscription=inscription,
        kind="reserves_non_bloquantes",
        text="Réserves.",
        recorded_by=instructeur,
        reserves_due_at=timezone.now() + timezone.timedelta(days=20),
    )
    reserve = Reserve.objects.create(decision=decision, position=1, text="Corriger.")
    depot = Depot.objects.filter(candidature=judged, fichier__isnull=False).first()
    invitation = Invitation.objects.create(
        editeur=editeur,
        email="invite@exemple.fr",
        company_role="salarie",
        token_hash="0" * 64,
        invited_by=owner,
        created_at=timezone.now(),
        expires_at=timezone.now() + timezone.timedelta(days=7),
    )
    notification = Notification.objects.create(recipient=owner, title=SECRET, body=SECRET)
    demande = support_demande_open(actor=owner, subject=SECRET, text=SECRET_PRODUCT)
    lot = DepotLot.objects.create(candidature=judged, editeur=editeur, created_by=owner,
                                  expires_at=timezone.now() + timezone.timedelta(days=1))  # fmt: skip
    token, _raw = api_token_create(actor=owner, name=SECRET, scope="ecriture", days=30)
    endpoint = WebhookEndpoint.objects.create(
        editeur=editeur, url="https://recepteur.example/segur", description=SECRET,
        events=["fichier.verifie"], secret="s" * 64, created_by=owner,
    )  # fmt: skip
    now = timezone.now()
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event="fichier.verifie", event_id=uuid.uuid4(), body=SECRET,
        expires_at=now + timezone.timedelta(days=1), next_attempt_at=now, queued_at=now,
    )  # fmt: skip
    return {
        "token": token,
        "endpoint": endpoint,
        "delivery": delivery,
        "candidature": judged,
        "submitted": submitted,
        "sollicitation": sollicitation,
        "depot": depot,
        "inscription": inscription,
        "seance": inscription.seance,
        "reserve": reserve,
        "invitation": invitation,
        "member": member,
        "notification": notification,
        "demande": demande,
        "lot": lot,
    }


def _kwargs(name: str, params, objects, *, candidature) -> dict:
    depot = objects["depot"]
    values = {
        "pk": candidature.pk,
        "sid": objects["sollicitation"].pk,
        "exigence_id": depot.exigence_id,
        "preuve_id": depot.preuve_attendue_id or 0,
        "depot_id": depot.pk,
        "lot_id": objects["lot"].pk,
        # The API (api-v1:*) answers 401 to a session without a token: walked here for the
        # session, and token by token in tests/api/.
        "candidature_id": candidature.pk,
        "fichier_id": depot.fichier_id,
        "reserve_id": objects["reserve"].pk,
        "sollicitation_id": objects["sollicitation"].pk,
        "rest": f"candidatures/{candidature.pk}/inconnu",
    }
    by_route = {
        "preuves:download": depot.fichier_id,
        "preuves:status": depot.fichier_id,
        "preuves:preview": depot.fichier_id,
        ":notification_open": objects["notification"].pk,
        ":team_invitation_revoke": objects["invitation"].pk,
        ":team_remove": objects["member"].pk,
        "college:conflict": objects["inscription"].pk,
        "college:decision": objects["inscription"].pk,
        "college:reserve_answer": objects["reserve"].pk,
        "college:reserve_lift": objects["reserve"].pk,
        "college:reserve_return": objects["reserve"].pk,
        "college:seance": objects["seance"].pk,
        "college:seance_close": objects["seance"].pk,
        "college:seance_open": objects["seance"].pk,
        "college:seance_presence": objects["seance"].pk,
        "referentiel_admin:campagne_edit": candidature.campagne.pk,
        "referentiel_admin:discard": candidature.rem_version.pk,
        "referentiel_admin:proof_kind": depot.preuve_attendue_id,
        "referentiel_admin:publish": candidature.rem_version.pk,
        "referentiel_admin:version": candidature.rem_version.pk,
        "support:demande": objects["demande"].pk,
        "support:message": objects["demande"].pk,
        ":api_token_revoke": objects["token"].pk,
        ":webhook_rotate": objects["endpoint"].pk,
        ":webhook_disable": objects["endpoint"].pk,
        ":webhook_redeliver": objects["delivery"].pk,
    }
    if name in by_route:
        values["pk"] = by_route[name]
    if name == "referentiel_admin:campagne_edit":
        values["code"] = candidature.campagne.dsr.code
    if name.startswith("candidatures:sollicitation") or name == "api-v1:sollicitation_answer":
        values["candidature_id"] = objects["submitted"].pk
    if name.startswith("candidatures:sollicitation"):
        values["pk"] = objects["submitted"].pk
    return {param: values[param] for param in params}


def _snapshot() -> str:
    """Every row of the portal's own tables, hashed: any write shows."""
    digest = hashlib.sha256()
    for app in ("segur_portal", "candidatures", "preuves", "college"):
        for model in apps.get_app_config(app).get_models():
            rows = model.objects.order_by("pk").values()
            fields = [f.attname for f in model._meta.concrete_fields if f.attname != "last_login"]
            for row in rows:
                digest.update(repr([row[field] for field in fields]).encode())
    return digest.hexdigest()


def _walk(client, objects, *, candidature, skip=()):
    problems = []
    for name, params in ROUTES:
        if name in skip:
            continue
        url = reverse(
            name.removeprefix(":"), kwargs=_kwargs(name, params, objects, candidature=candidature)
        )
        for method in ("get", "post"):
            response = getattr(client, method)(url, POST_DATA if method == "post" else None)
            body = b"".join(response.streaming_content) if response.streaming else response.content
            if response.status_code == 200 or response.status_code == 500:
                problems.append(f"{method.upper()} {url} → {response.status_code}")
            elif SECRET.encode() in body or SECRET_PRODUCT.encode() in body:
                problems.append(f"{method.upper()} {url} montre les données de la victime")
    return problems


@pytest.mark.django_db
def test_every_object_url_is_walked(victim):
    for name, params in ROUTES:
        _kwargs(name, params, victim, candidature=victim["candidature"])


@pytest.mark.django_db
def test_anonymous_reaches_nothing(client, victim):
    before = _snapshot()
    problems = _walk(client, victim, candidature=victim["candidature"])
    assert problems == []
    assert _snapshot() == before


@pytest.mark.django_db
def test_another_company_reaches_nothing(client, victim):
    intruder = UserFactory(mandataire=True)
    CguAcceptance.objects.create(user=intruder, cgu=current_cgu())
    client.force_login(intruder)
    before = _snapshot()
    problems = _walk(client, victim, candidature=victim["candidature"])
    assert problems == []
    assert _snapshot() == before


@pytest.mark.django_db
def test_the_college_reaches_no_candidature_it_does_not_judge(client, victim):
    member = UserFactory(college=True)
    CguAcceptance.objects.create(user=member, cgu=current_cgu())
    client.force_login(member)
    before = _snapshot()
    # The collège's own séance pages are its job; on a candidature not on any agenda,
    # and on the company's files outside a judged dossier, it gets nothing.
    problems = _walk(
        client,
        victim,
        candidature=victim["submitted"],
        skip={name for name, _ in ROUTES if name.startswith(("college:", "preuves:", ":"))},
    )
    assert problems == []
    assert _snapshot() == before
