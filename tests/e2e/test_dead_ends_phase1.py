"""No dead end in phase 1 (issue 10, item 15), in the browser: the eligibility form says
what is required and keeps the chosen files through an error; the company's data page
is reached from the dashboard; a mistyped queue is « Page introuvable »."""

import re
from pathlib import Path

from playwright.sync_api import expect

from candidatures.models import CguAcceptance
from candidatures.services.onboarding import current_cgu
from tests.e2e.conftest import login, screenshot
from tests.factories import TEST_PASSWORD, CandidatureFactory, UserFactory, company_user
from tests.preuves import samples


def _ready(user):
    CguAcceptance.objects.create(user=user, cgu=current_cgu())
    return user


def test_chosen_files_survive_an_error_of_the_eligibility_form(page, tmp_path: Path):
    candidature = CandidatureFactory(admin_validee=True)
    member = _ready(company_user(candidature.editeur, email="editrice@logmed.example"))
    login(page, member.email, TEST_PASSWORD)
    page.goto(f"/candidatures/{candidature.pk}/eligibilite/")
    nie = page.get_by_label(re.compile(r"^\s*NIE"))
    expect(page.locator("label[for=id_nie]")).not_to_contain_text("Optionnel")
    expect(page.locator("label[for=id_cnda_depot]")).not_to_contain_text("Optionnel")
    depot, lettre = tmp_path / "depot-cnda.png", tmp_path / "lettre.pdf"
    depot.write_bytes(samples.png_bytes())
    lettre.write_bytes(samples.pdf_bytes())
    nie.fill("NIE é invalide")
    page.get_by_label(re.compile(r"^\s*NIL")).fill("NIL-4242")
    page.get_by_label("Attestation de dépôt de la demande de labellisation CNDA").set_input_files(
        str(depot)
    )
    page.get_by_label(
        "Lettre d’engagement signée sur les fonctionnalités minimales du DSR"
    ).set_input_files(str(lettre))
    page.get_by_role("button", name="Enregistrer le formulaire").click()
    expect(page.get_by_text("Numéro attendu tel que le CNDA l’a délivré")).to_be_visible()
    expect(page.get_by_text(re.compile("Fichier reçu : depot-cnda.png"))).to_be_visible()
    expect(page.get_by_text(re.compile("Fichier reçu : lettre.pdf"))).to_be_visible()
    screenshot(page, "eligibility-files-kept-after-error")

    # Only the number is corrected; no file is chosen again.
    page.get_by_label(re.compile(r"^\s*NIE")).fill("NIE-0042")
    page.get_by_role("button", name="Enregistrer le formulaire").click()
    expect(page.get_by_role("status")).to_contain_text("Formulaire d’éligibilité enregistré")
    expect(page.get_by_role("link", name="depot-cnda.png")).to_be_visible()
    expect(page.get_by_role("link", name="lettre.pdf")).to_be_visible()
    candidature.refresh_from_db()
    assert candidature.nie == "NIE-0042"
    assert candidature.cnda_depot.original_name == "depot-cnda.png"


def test_the_company_data_page_is_one_click_from_the_dashboard(page):
    mandataire = _ready(UserFactory(mandataire=True, email="mandataire@logmed.example"))
    login(page, mandataire.email, TEST_PASSWORD)
    page.get_by_role("link", name="Modifier les informations de l’entreprise").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Modifier les informations de l’entreprise"
    )
    page.goto("/tableau-de-bord/")
    page.get_by_role("link", name="Mon entreprise et ses comptes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mon entreprise")
    expect(
        page.get_by_role("link", name="Modifier les informations de l’entreprise")
    ).to_be_visible()


def test_a_mistyped_instruction_queue_is_page_not_found(page):
    instructeur = _ready(UserFactory(instructeur=True, email="instructrice@ans.example"))
    login(page, instructeur.email, TEST_PASSWORD)
    response = page.goto("/instruction/nimporte-quoi/")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page introuvable")
    # The browser logs the 404 this test asks for; nothing else may be logged.
    assert all("404" in problem for problem in page.problems), page.problems
    page.problems.clear()
