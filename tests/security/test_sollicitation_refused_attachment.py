"""A refused attachment does not answer a sollicitation: the message that stopped the
clock no longer counts, and the sollicitation opens again, on its own clock, so that the
company can send the corrected file. Later messages of the conversation do not move the
clock, whatever their attachments."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from candidatures.enums import CandidatureState, SollicitationStatus
from candidatures.models import CguAcceptance, Sollicitation
from candidatures.services import sollicitation as services
from candidatures.services.onboarding import current_cgu
from preuves import services as fichier_services
from preuves.enums import FichierStatus
from segur_portal.models import Notification
from tests.factories import CandidatureFactory, UserFactory, company_user
from tests.preuves import corpus, samples

pytestmark = pytest.mark.django_db


@pytest.fixture
def opened():
    candidature = CandidatureFactory(admin_soumise=True)
    instructeur = UserFactory(instructeur=True)
    sollicitation = services.sollicitation_open(
        candidature=candidature, actor=instructeur, text="Joignez l’attestation CNDA."
    )
    return sollicitation, company_user(candidature.editeur)


def _answer(sollicitation, member, name, content, now=None):
    services.sollicitation_answer(
        sollicitation=sollicitation,
        actor=member,
        text="Voici le document.",
        files=[SimpleUploadedFile(name, content)],
        now=now,
    )
    sollicitation.refresh_from_db()
    return sollicitation.messages.filter(from_agency=False).last().fichiers.get()


def test_a_refused_attachment_opens_the_sollicitation_again(opened):
    sollicitation, member = opened
    due_at = sollicitation.due_at
    fichier = _answer(sollicitation, member, "attestation.pdf", corpus.pe_bytes())
    assert sollicitation.status == SollicitationStatus.REPONDUE
    fichier = fichier_services.fichier_check(fichier_id=fichier.pk)
    assert fichier.status == FichierStatus.REFUSEE
    sollicitation.refresh_from_db()
    assert sollicitation.status == SollicitationStatus.OUVERTE
    assert sollicitation.answered_at is None
    assert sollicitation.due_at == due_at
    notice = Notification.objects.get(recipient=member, title__startswith="Pièce jointe refusée")
    assert "attestation.pdf" in notice.body
    assert "programme exécutable Windows" in notice.body
    assert Notification.objects.filter(
        recipient=sollicitation.opened_by, title__startswith="Réponse incomplète"
    ).exists()


def test_the_company_then_answers_with_the_corrected_file(opened):
    sollicitation, member = opened
    refused = _answer(sollicitation, member, "attestation.pdf", corpus.pe_bytes())
    fichier_services.fichier_check(fichier_id=refused.pk)
    sollicitation.refresh_from_db()
    corrected = _answer(sollicitation, member, "attestation.pdf", samples.pdf_bytes())
    assert fichier_services.fichier_check(fichier_id=corrected.pk).is_accepted
    sollicitation.refresh_from_db()
    assert sollicitation.status == SollicitationStatus.REPONDUE
    assert sollicitation.messages.filter(from_agency=False).count() == 2


def test_an_accepted_attachment_keeps_the_answer(opened):
    sollicitation, member = opened
    fichier = _answer(sollicitation, member, "attestation.pdf", samples.pdf_bytes())
    fichier_services.fichier_check(fichier_id=fichier.pk)
    sollicitation.refresh_from_db()
    assert sollicitation.status == SollicitationStatus.REPONDUE


def test_a_refusal_after_the_deadline_lets_the_sweep_apply_it(opened):
    sollicitation, member = opened
    fichier = _answer(sollicitation, member, "attestation.pdf", corpus.pe_bytes())
    fichier_services.fichier_check(fichier_id=fichier.pk)
    services.sollicitations_sweep(now=sollicitation.effective_due_at + timedelta(minutes=1))
    sollicitation.refresh_from_db()
    assert sollicitation.status != SollicitationStatus.OUVERTE
    assert sollicitation.candidature.state == CandidatureState.REJETEE


def test_an_agency_attachment_refused_changes_nothing(opened):
    sollicitation, _member = opened
    instructeur = sollicitation.opened_by
    message = sollicitation.messages.get()
    fichier = fichier_services.fichier_receive(
        upload=SimpleUploadedFile("note.pdf", corpus.pe_bytes()),
        rule=services.ATTACHMENT_RULE,
        editeur=sollicitation.candidature.editeur,
        actor=instructeur,
    )
    message.fichiers.add(fichier)
    fichier_services.fichier_check(fichier_id=fichier.pk)
    sollicitation.refresh_from_db()
    assert sollicitation.status == SollicitationStatus.OUVERTE


def test_through_the_page_the_answer_form_comes_back(
    client, opened, django_capture_on_commit_callbacks
):
    sollicitation, member = opened
    CguAcceptance.objects.create(user=member, cgu=current_cgu())
    client.force_login(member)
    candidature = sollicitation.candidature
    url = reverse("candidatures:sollicitation_answer", args=[candidature.pk, sollicitation.pk])
    # The check runs in-process once the answer commits, as the worker would.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url,
            {"text": "Voici.", "files": [SimpleUploadedFile("capture.png", corpus.pe_bytes())]},
        )
    assert response.status_code == 302
    assert Sollicitation.objects.get(pk=sollicitation.pk).status == SollicitationStatus.OUVERTE
    page = client.get(reverse("candidatures:detail", args=[candidature.pk]))
    assert "Répondre à l’ANS" in page.text
    assert "Refusée" in page.text
    assert timezone.now() < sollicitation.effective_due_at


def test_the_conversation_after_the_answer_does_not_keep_a_refused_answer(opened):
    sollicitation, member = opened
    fichier = _answer(sollicitation, member, "attestation.pdf", corpus.pe_bytes())
    services.sollicitation_message_send(
        sollicitation=sollicitation, actor=sollicitation.opened_by, text="Bien reçu, merci."
    )
    fichier_services.fichier_check(fichier_id=fichier.pk)
    sollicitation.refresh_from_db()
    assert sollicitation.status == SollicitationStatus.OUVERTE
    assert sollicitation.messages.count() == 3


def test_the_page_announces_the_reopening_when_the_check_ends(client, opened):
    sollicitation, member = opened
    CguAcceptance.objects.create(user=member, cgu=current_cgu())
    client.force_login(member)
    fichier = _answer(sollicitation, member, "attestation.pdf", corpus.pe_bytes())
    url = reverse(
        "candidatures:sollicitation_status", args=[sollicitation.candidature_id, sollicitation.pk]
    )
    # The page was drawn while the answer stood; the check then refuses the file.
    assert client.get(url, {"vu": "repondue"}).status_code == 204
    fichier_services.fichier_check(fichier_id=fichier.pk)
    response = client.get(url, {"vu": "repondue"})
    assert response.status_code == 200
    assert "attend de nouveau une réponse" in response.text
