"""Exchanges with the ANS in the browser: a sollicitation as a conversation of several
messages, closed by the instructor; a question to the support and its answer."""

import re
from pathlib import Path

from playwright.sync_api import expect

from candidatures.enums import SollicitationStatus
from candidatures.models import CguAcceptance, Sollicitation, SupportDemande
from candidatures.services.onboarding import current_cgu
from tests.e2e.conftest import login, screenshot
from tests.e2e.steps import logout
from tests.factories import TEST_PASSWORD, CandidatureFactory, UserFactory, company_user
from tests.preuves import samples


def _thread(page):
    return page.locator(".portal-thread").first


def test_a_three_message_exchange_then_the_instructor_closes_it(page, tmp_path: Path):
    candidature = CandidatureFactory(admin_soumise=True, nom_commercial="MédiLog")
    editor = company_user(candidature.editeur, email="editrice@logmed.example")
    CguAcceptance.objects.create(user=editor, cgu=current_cgu())
    instructeur = UserFactory(instructeur=True, email="instructrice@ans.example")
    detail = f"/candidatures/{candidature.pk}/"

    # 1. The instructor asks.
    login(page, instructeur.email, TEST_PASSWORD)
    page.goto(detail)
    expect(page.get_by_text("La première réponse de l’éditeur arrête le délai")).to_be_visible()
    page.get_by_label("Message").fill("Merci de joindre l’attestation de dépôt CNDA.")
    page.get_by_role("button", name="Envoyer la sollicitation").click()
    expect(page.get_by_role("status")).to_contain_text("Sollicitation envoyée")
    logout(page)

    # 2. The editor answers with an attachment, without leaving the page: the clock stops.
    login(page, editor.email, TEST_PASSWORD)
    page.goto(detail)
    thread = _thread(page)
    expect(thread.get_by_text("Votre première réponse arrête le délai")).to_be_visible()
    # An empty message comes back with its error at the field, without reloading.
    thread.get_by_role("button", name="Répondre à l’ANS").click()
    expect(thread.get_by_text("Écrivez votre message.")).to_be_visible()
    attestation = tmp_path / "attestation-cnda.pdf"
    attestation.write_bytes(samples.pdf_bytes())
    thread.get_by_label("Message").fill("Voici l’attestation.")
    thread.get_by_label(re.compile("Pièces jointes")).set_input_files(str(attestation))
    url_before = page.url
    thread.get_by_role("button", name="Répondre à l’ANS").click()
    expect(thread.get_by_role("status")).to_have_text(
        "Réponse envoyée à l’ANS : le délai de la sollicitation est arrêté."
    )
    assert page.url == url_before
    expect(thread.get_by_text("Voici l’attestation.")).to_be_visible()
    expect(thread.get_by_role("link", name="attestation-cnda.pdf")).to_be_visible()
    expect(thread.get_by_text("Acceptée")).to_be_visible()
    # The form is empty again, under the newest message.
    expect(thread.get_by_label("Message")).to_have_value("")
    logout(page)

    # 3. The instructor writes again: the exchange goes on, the clock stays stopped.
    login(page, instructeur.email, TEST_PASSWORD)
    page.goto(detail)
    thread = _thread(page)
    expect(thread.get_by_text("Voici l’attestation.")).to_be_visible()
    thread.get_by_label("Message").fill("Bien reçu. La date de dépôt est-elle la bonne ?")
    thread.get_by_role("button", name="Écrire à l’éditeur").click()
    expect(thread.get_by_role("status")).to_have_text("Message envoyé à l’éditeur.")
    texts = thread.locator(".portal-message .portal-message__text").all_inner_texts()
    assert [text.strip() for text in texts] == [
        "Merci de joindre l’attestation de dépôt CNDA.",
        "Voici l’attestation.",
        "Bien reçu. La date de dépôt est-elle la bonne ?",
    ]
    screenshot(page, "echanges-conversation")

    # The instructor closes the exchange, after confirming in a modal.
    page.get_by_role("button", name="Clore l’échange").click()
    dialog = page.get_by_role("dialog", name="Clore cet échange ?")
    expect(dialog).to_be_visible()
    screenshot(page, "echanges-clore-confirmation")
    dialog.get_by_role("button", name="Clore définitivement").click()
    expect(page.get_by_role("status")).to_contain_text("Échange clos")
    expect(
        _thread(page)
        .get_by_text("Échanges clos")
        .or_(_thread(page).get_by_text("Close", exact=True))
    ).to_be_visible()
    sollicitation = Sollicitation.objects.get(candidature=candidature)
    assert sollicitation.status == SollicitationStatus.CLOSE
    assert sollicitation.closed_by == instructeur
    assert sollicitation.messages.count() == 3
    logout(page)

    # The editor can no longer write.
    login(page, editor.email, TEST_PASSWORD)
    page.goto(detail)
    thread = _thread(page)
    expect(thread.get_by_text("Plus aucun message ne peut être envoyé")).to_be_visible()
    expect(thread.get_by_role("button", name="Répondre à l’ANS")).to_have_count(0)
    screenshot(page, "echanges-close-editeur")


def test_a_question_to_the_support_and_its_answer(page):
    candidature = CandidatureFactory()
    editor = company_user(candidature.editeur, email="editeur@logmed.example")
    CguAcceptance.objects.create(user=editor, cgu=current_cgu())
    agent = UserFactory(instructeur=True, email="support@ans.example")

    login(page, editor.email, TEST_PASSWORD)
    page.get_by_role("navigation", name="Menu principal").get_by_role(
        "link", name="Support"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Support")
    page.get_by_label("Objet").fill("Format de la liste du parc client")
    page.get_by_label("Votre question").fill("Quel séparateur attendez-vous dans le CSV ?")
    page.get_by_role("button", name="Envoyer la question").click()
    expect(page.get_by_role("status")).to_contain_text("Question envoyée au support")
    expect(page.get_by_text("En attente de l’ANS")).to_be_visible()
    logout(page)

    login(page, agent.email, TEST_PASSWORD)
    page.get_by_role("navigation", name="Menu principal").get_by_role(
        "link", name="Support des éditeurs"
    ).click()
    row = page.get_by_role("row").filter(has_text="Format de la liste du parc client")
    expect(row.get_by_text("À répondre")).to_be_visible()
    screenshot(page, "support-boite-ans")
    row.get_by_role("link", name="Format de la liste du parc client").click()
    page.get_by_label("Message").fill("Le point-virgule, en UTF-8.")
    page.get_by_role("button", name="Répondre à l’éditeur").click()
    expect(page.get_by_role("status")).to_have_text("Réponse envoyée à l’éditeur.")
    expect(page.locator("#support-statut").get_by_text("Répondue")).to_be_visible()
    logout(page)

    login(page, editor.email, TEST_PASSWORD)
    page.goto("/support/")
    page.get_by_role("link", name="Format de la liste du parc client").click()
    expect(page.get_by_text("Le point-virgule, en UTF-8.")).to_be_visible()
    expect(
        page.locator(".portal-message--ans").get_by_text(
            re.compile("^Agence du Numérique en Santé — ")
        )
    ).to_be_visible()
    screenshot(page, "support-reponse-editeur")
    demande = SupportDemande.objects.get()
    assert not demande.awaits_agency
    assert demande.messages.count() == 2
