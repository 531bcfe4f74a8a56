"""Phase 1 in the browser: from the CGU to an eligible candidature, and a clock that
rejects an unanswered sollicitation."""

import re
from datetime import timedelta
from pathlib import Path

from django.core import mail
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from candidatures.enums import CandidatureState
from candidatures.models import Candidature, CguAcceptance, Sollicitation
from candidatures.services.onboarding import current_cgu
from tests.e2e.conftest import login, screenshot
from tests.e2e.steps import (
    accept_cgu_and_declare_company,
    file_candidature,
    fill_eligibility,
    logout,
)
from tests.factories import (
    TEST_PASSWORD,
    CampagneFactory,
    CandidatureFactory,
    RemVersionFactory,
    UserFactory,
    company_user,
)


def test_phase_1_from_the_cgu_to_an_eligible_candidature(page, tmp_path: Path):
    campagne = CampagneFactory()
    RemVersionFactory(dsr=campagne.dsr)
    editor = UserFactory(email="nouvelle@editeur.example")
    instructeur = UserFactory(instructeur=True, email="instructrice@ans.example")

    # The editor: CGU, company, candidature, submission.
    login(page, editor.email, TEST_PASSWORD)
    accept_cgu_and_declare_company(page)
    file_candidature(page, campagne)
    screenshot(page, "phase1-draft")
    page.get_by_role("button", name="Soumettre la candidature administrative").click()
    expect(page.get_by_role("status")).to_contain_text("Candidature administrative soumise")
    candidature = Candidature.objects.get()
    logout(page)

    # The instructor asks a question.
    login(page, instructeur.email, TEST_PASSWORD)
    page.get_by_role("navigation", name="Menu principal").get_by_role(
        "link", name="File d’instruction"
    ).click()
    page.get_by_role("link", name=candidature.reference).click()
    page.get_by_label("Message").first.fill("Merci de confirmer le numéro de version technique.")
    page.get_by_role("button", name="Envoyer la sollicitation").click()
    expect(page.get_by_role("status")).to_contain_text("Sollicitation envoyée")
    logout(page)

    # The editor answers, seeing the clock.
    login(page, editor.email, TEST_PASSWORD)
    page.goto(f"/candidatures/{candidature.pk}/")
    expect(page.get_by_role("heading", name="L’ANS attend votre réponse")).to_be_visible()
    expect(
        page.get_by_text(re.compile("jours ouvrés restants — jusqu’au .* inclus")).first
    ).to_be_visible()
    screenshot(page, "phase1-sollicitation")
    page.get_by_label("Message").fill("La version technique est bien 4.2.1.")
    page.get_by_role("button", name="Répondre à l’ANS").click()
    expect(page.get_by_role("status")).to_contain_text("Réponse envoyée")
    logout(page)

    # The instructor validates.
    login(page, instructeur.email, TEST_PASSWORD)
    page.goto(f"/candidatures/{candidature.pk}/")
    expect(
        page.locator(".portal-thread").get_by_text("La version technique est bien 4.2.1.")
    ).to_be_visible()
    page.get_by_role("button", name="Valider la candidature administrative").click()
    expect(page.get_by_role("status")).to_contain_text("Candidature administrative validée")
    logout(page)

    # The editor fills and submits the eligibility form.
    login(page, editor.email, TEST_PASSWORD)
    page.goto(f"/candidatures/{candidature.pk}/")
    fill_eligibility(page, tmp_path)
    screenshot(page, "phase1-eligibility")
    page.get_by_role("link", name="Retour à la candidature").click()
    page.get_by_role("button", name="Soumettre le formulaire d’éligibilité").click()
    expect(page.get_by_role("status")).to_contain_text("Formulaire d’éligibilité soumis")
    logout(page)

    # The instructor validates the eligibility: the proof space opens.
    login(page, instructeur.email, TEST_PASSWORD)
    page.goto(f"/candidatures/{candidature.pk}/")
    page.get_by_role("button", name="Valider l’éligibilité").click()
    expect(page.get_by_role("status")).to_contain_text("l’espace de dépôt des preuves est ouvert")
    logout(page)
    login(page, editor.email, TEST_PASSWORD)
    page.goto(f"/candidatures/{candidature.pk}/")
    expect(
        page.get_by_role("heading", name=re.compile("l’espace de dépôt des preuves est ouvert"))
    ).to_be_visible()
    screenshot(page, "phase1-eligible")
    candidature.refresh_from_db()
    assert candidature.state == CandidatureState.ELIGIBLE
    assert [t.to_state for t in candidature.transitions.all()] == [
        "admin_soumise", "admin_validee", "eligibilite_soumise", "eligible",
    ]  # fmt: skip


def test_an_unanswered_sollicitation_rejects_the_candidature_after_5_working_days(page):
    candidature = CandidatureFactory(admin_soumise=True)
    member = company_user(candidature.editeur, email="editrice@logmed.example")
    CguAcceptance.objects.create(user=member, cgu=current_cgu())
    from candidatures.services.sollicitation import sollicitation_open

    sollicitation = sollicitation_open(
        candidature=candidature, actor=UserFactory(instructeur=True), text="Précisez le NIL."
    )
    # Time moves on: the request was made nine days ago, the sweep passes.
    moved = timezone.now() - timedelta(days=9)
    Sollicitation.objects.filter(pk=sollicitation.pk).update(
        opened_at=moved, due_at=moved + (sollicitation.due_at - sollicitation.opened_at)
    )
    mail.outbox.clear()
    call_command("sweep")
    login(page, member.email, TEST_PASSWORD)
    page.goto(f"/candidatures/{candidature.pk}/")
    expect(page.get_by_role("heading", name=re.compile("^Rejetée le"))).to_be_visible()
    expect(page.get_by_text(re.compile("dans le délai de 5 jours ouvrés")).first).to_be_visible()
    screenshot(page, "phase1-rejected-by-clock")
    assert any(
        message.to == [member.email] and "Candidature rejetée" in message.subject
        for message in mail.outbox
    )


def test_leaving_a_form_with_unsaved_typing_asks_first(page):
    candidature = CandidatureFactory()
    member = company_user(candidature.editeur)
    CguAcceptance.objects.create(user=member, cgu=current_cgu())
    login(page, member.email, TEST_PASSWORD)
    page.goto(f"/candidatures/{candidature.pk}/administratif/")
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.dismiss()))
    # Typed, not yet saved: no change event has fired, the autosave has not run.
    page.get_by_label("Dénomination commerciale").press_sequentially("MédiLog Pro")
    page.close(run_before_unload=True)
    page.wait_for_timeout(500)
    assert dialogs == ["beforeunload"]


def test_a_saved_form_leaves_without_asking(page):
    candidature = CandidatureFactory()
    member = company_user(candidature.editeur)
    CguAcceptance.objects.create(user=member, cgu=current_cgu())
    login(page, member.email, TEST_PASSWORD)
    page.goto(f"/candidatures/{candidature.pk}/administratif/")
    field = page.get_by_label("Dénomination commerciale")
    field.fill("MédiLog Pro")
    field.blur()
    expect(page.get_by_text(re.compile("Enregistré automatiquement à"))).to_be_visible()
    candidature.refresh_from_db()
    assert candidature.nom_commercial == "MédiLog Pro"
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.dismiss()))
    # Nothing left unsaved: the page closes without a question.
    with page.expect_event("close"):
        page.close(run_before_unload=True)
    assert dialogs == []
