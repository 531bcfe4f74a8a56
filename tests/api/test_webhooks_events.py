"""The events come from the real services (file checked, sollicitation opened and
closing soon, state changed, decision notified, attestation issued) and reach only the
company's own endpoints, and only those that subscribed to them."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from candidatures.enums import ProofKind
from candidatures.services import sollicitation as sollicitations
from candidatures.services.candidature import candidature_withdraw
from college import services as college
from college.models import Attestation
from preuves import services as preuves
from segur_portal import webhooks
from segur_portal.enums import WebhookEvent
from segur_portal.models_api import WebhookDelivery
from tests.api.conftest import ready_user
from tests.api.receiver import Receiver
from tests.college.phase3 import open_seance_with, signed_candidature
from tests.factories import CandidatureFactory, UserFactory
from tests.preuves import samples
from tests.preuves.dossiers import eligible_candidature

E = WebhookEvent


@pytest.fixture
def receiver():
    with Receiver() as receiver:
        yield receiver


@pytest.fixture
def companies(db, receiver):
    """Company A: one endpoint for every event, one for state changes only. Company B:
    one endpoint for every event."""
    a = eligible_candidature()
    b = eligible_candidature()
    a_member = ready_user(a.editeur, company_role="mandataire")
    b_member = ready_user(b.editeur, company_role="mandataire")
    for member, path, events in [
        (a_member, "/a-tout", E.values),
        (a_member, "/a-etat", [E.CANDIDATURE_ETAT]),
        (b_member, "/b", E.values),
    ]:
        _endpoint, secret = webhooks.webhook_endpoint_create(
            actor=member, url=receiver.url(path), events=list(events)
        )
        receiver.secrets.append(secret)
    return a, a_member, b, b_member


def _types(receiver, path) -> list[str]:
    return [request.json["type"] for request in receiver.on(path)]


def _one(receiver, path, event) -> dict:
    (request,) = [r for r in receiver.on(path) if r.json["type"] == event]
    assert request.signed and request.status == 200
    assert request.headers["X-Segur-Event"] == event
    return request.json["donnees"]


def test_a_checked_file_is_told_to_its_company(
    companies, receiver, django_capture_on_commit_callbacks
):
    a, a_member, _b, _b_member = companies
    content = samples.png_bytes()
    with django_capture_on_commit_callbacks(execute=True):
        fichier = preuves.fichier_receive(
            upload=SimpleUploadedFile("capture.png", content),
            rule=preuves.rule_for_kind(ProofKind.VIDEO_CAPTURE),
            editeur=a.editeur,
            actor=a_member,
        )
    fichier.refresh_from_db()
    assert fichier.status == "acceptee"
    data = _one(receiver, "/a-tout", E.FICHIER_VERIFIE)
    assert data["fichier"]["id"] == str(fichier.pk)
    assert data["fichier"]["statut"] == "acceptee"
    assert data["fichier"]["sha256"] == fichier.sha256
    assert data["fichier"]["url"].endswith(f"/api/v1/fichiers/{fichier.pk}")
    assert _types(receiver, "/a-etat") == [] and _types(receiver, "/b") == []


def test_a_refused_file_is_told_with_its_reason(
    companies, receiver, django_capture_on_commit_callbacks
):
    a, a_member, _b, _b_member = companies
    with django_capture_on_commit_callbacks(execute=True):
        preuves.fichier_receive(
            upload=SimpleUploadedFile("capture.png", b"\x7fELF pas une image"),
            rule=preuves.rule_for_kind(ProofKind.VIDEO_CAPTURE),
            editeur=a.editeur,
            actor=a_member,
        )
    data = _one(receiver, "/a-tout", E.FICHIER_VERIFIE)
    assert data["fichier"]["statut"] == "refusee" and data["fichier"]["motif_refus"]


def test_a_sollicitation_opened_closing_and_expired_is_told(
    companies, receiver, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    a, _a_member, _b, _b_member = companies
    candidature = CandidatureFactory(editeur=a.editeur, admin_soumise=True)
    instructeur = UserFactory(instructeur=True)
    with capture(execute=True):
        sollicitation = sollicitations.sollicitation_open(
            candidature=candidature,
            actor=instructeur,
            text="Merci de préciser le NIL du composant principal.",
            # An attachment of the agency: owned by the company, but not its upload.
            files=[SimpleUploadedFile("demande.pdf", samples.pdf_bytes())],
        )
    opened = _one(receiver, "/a-tout", E.SOLLICITATION_OUVERTE)
    assert opened["candidature"]["id"] == candidature.pk
    assert opened["candidature"]["reference"] == candidature.reference
    assert opened["sollicitation"]["id"] == sollicitation.pk
    assert opened["sollicitation"]["phase"] == sollicitation.phase
    echeance = sollicitation.effective_due_at.isoformat().replace("+00:00", "Z")
    assert opened["sollicitation"]["echeance"].startswith(echeance[:19])
    # The agency's attachment was checked, but it is not the company's upload.
    assert _types(receiver, "/a-tout") == [E.SOLLICITATION_OUVERTE]

    with capture(execute=True):
        sollicitations.sollicitations_sweep(now=sollicitation.reminder_last_at)
    closing = _one(receiver, "/a-tout", E.SOLLICITATION_ECHEANCE)
    assert closing["sollicitation"]["id"] == sollicitation.pk
    # Told at the sweep's instant, the last working day.
    last = receiver.on("/a-tout")[-1]
    assert last.timestamp == int(sollicitation.reminder_last_at.timestamp())

    with capture(execute=True):
        sollicitations.sollicitations_sweep(now=sollicitation.effective_due_at)
    changed = _one(receiver, "/a-tout", E.CANDIDATURE_ETAT)
    assert (changed["de"], changed["vers"]) == ("admin_soumise", "rejetee")
    assert changed["candidature"]["id"] == candidature.pk
    assert "5 jours ouvrés" in changed["motif"]
    assert _types(receiver, "/a-etat") == [E.CANDIDATURE_ETAT]
    assert _types(receiver, "/b") == []


def test_a_state_change_reaches_only_its_company(
    companies, receiver, django_capture_on_commit_callbacks
):
    _a, _a_member, b, b_member = companies
    with django_capture_on_commit_callbacks(execute=True):
        candidature_withdraw(candidature=b, actor=b_member, reason="Version abandonnée.")
    data = _one(receiver, "/b", E.CANDIDATURE_ETAT)
    assert (data["candidature"]["id"], data["de"], data["vers"]) == (b.pk, "eligible", "retiree")
    assert _types(receiver, "/a-tout") == [] and _types(receiver, "/a-etat") == []


def test_a_decision_and_its_attestation_are_told(
    companies, receiver, django_capture_on_commit_callbacks
):
    a, _a_member, _b, _b_member = companies
    candidature = signed_candidature(editeur=a.editeur)
    before = len(receiver.on("/a-tout"))
    seance, (member, *_) = open_seance_with(candidature)
    inscription = seance.inscriptions.get()
    college.decision_record(
        inscription=inscription,
        actor=member,
        kind="sans_reserve",
        text="Conforme au REM.",
        reserves=[],
    )
    with django_capture_on_commit_callbacks(execute=True):
        college.seance_close(seance=seance, actor=member)

    told = receiver.on("/a-tout")[before:]
    assert [r.json["type"] for r in told] == [
        E.CANDIDATURE_ETAT,
        E.DECISION_NOTIFIEE,
        E.ATTESTATION_DELIVREE,
    ]
    decision = _one(receiver, "/a-tout", E.DECISION_NOTIFIEE)
    assert decision["decision"]["nature"] == "sans_reserve"
    assert decision["decision"]["texte"] == "Conforme au REM."
    attestation = Attestation.objects.get(candidature=candidature)
    issued = _one(receiver, "/a-tout", E.ATTESTATION_DELIVREE)
    assert issued["attestation"]["numero"] == attestation.numero
    assert issued["attestation"]["sha256"] == attestation.sha256 != ""
    assert issued["candidature"]["id"] == candidature.pk
    assert [r.json["donnees"]["vers"] for r in receiver.on("/a-etat")][-1] == "referencee"
    assert _types(receiver, "/b") == []


def test_a_disabled_endpoint_and_an_unsubscribed_event_get_nothing(
    companies, receiver, django_capture_on_commit_callbacks
):
    a, a_member, _b, _b_member = companies
    everything = a.editeur.webhook_endpoints.get(url__endswith="/a-tout")
    webhooks.webhook_endpoint_disable(endpoint=everything, actor=a_member)
    candidature = CandidatureFactory(editeur=a.editeur, admin_soumise=True)
    with django_capture_on_commit_callbacks(execute=True):
        sollicitations.sollicitation_open(
            candidature=candidature, actor=UserFactory(instructeur=True), text="Une question."
        )
        candidature_withdraw(candidature=a, actor=a_member, reason="Abandon.")
    assert _types(receiver, "/a-tout") == []
    assert _types(receiver, "/a-etat") == [E.CANDIDATURE_ETAT]
    assert not WebhookDelivery.objects.filter(event=E.SOLLICITATION_OUVERTE).exists()


def test_an_event_rolled_back_is_never_sent(
    companies, receiver, django_capture_on_commit_callbacks
):
    _a, _a_member, b, b_member = companies
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        candidature_withdraw(candidature=b, actor=b_member, reason="Retrait.")
        assert WebhookDelivery.objects.count() == 1
        raise RuntimeError("l’opération échoue après le changement d’état")
    assert callbacks == [] and receiver.requests == []
    assert not WebhookDelivery.objects.exists()


def test_every_event_of_the_list_has_a_service_that_emits_it():
    # The tests above see each one arrive: keep the list and them in step.
    assert set(E.values) == {
        "fichier.verifie",
        "sollicitation.ouverte",
        "sollicitation.echeance_proche",
        "candidature.etat",
        "decision.notifiee",
        "attestation.delivree",
    }


def test_deliveries_expire_24_hours_after_their_event(
    companies, django_capture_on_commit_callbacks
):
    _a, _a_member, b, b_member = companies
    with django_capture_on_commit_callbacks(execute=False):
        candidature_withdraw(candidature=b, actor=b_member, reason="Retrait.")
    delivery = WebhookDelivery.objects.get()
    assert delivery.expires_at - delivery.created_at == timedelta(hours=24)
