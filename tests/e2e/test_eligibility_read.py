"""The instructor reads the whole submitted eligibility form, opens an annex, then
validates the eligibility (issue 10, item 2)."""

from playwright.sync_api import expect

from candidatures.enums import CandidatureState
from candidatures.models import CguAcceptance
from candidatures.services.onboarding import current_cgu
from preuves.models import FichierDownload
from tests.candidatures.test_eligibility_read import submitted_form
from tests.e2e.conftest import login, screenshot
from tests.factories import TEST_PASSWORD, UserFactory


def test_the_instructor_reads_the_form_then_validates_the_eligibility(page):
    candidature = submitted_form(rows=2)
    instructeur = UserFactory(instructeur=True, email="instructrice@ans.example")
    CguAcceptance.objects.create(user=instructeur, cgu=current_cgu())
    login(page, instructeur.email, TEST_PASSWORD)
    page.goto(f"/candidatures/{candidature.pk}/")
    page.get_by_role("link", name="lire le formulaire d’éligibilité complet").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Formulaire d’éligibilité")
    members = page.get_by_role("table", name="Membres du groupement (2)")
    expect(members.get_by_role("cell", name="Membre 1 SARL")).to_be_visible()
    expect(page.get_by_role("table", name="Distributeurs mandatés (2)")).to_be_visible()
    expect(page.get_by_role("table", name="Composants additionnels (2)")).to_be_visible()
    expect(page.get_by_role("table", name="Versions du parc client (2)")).to_be_visible()
    screenshot(page, "eligibility-read-instructor")
    with page.expect_download() as download:
        members.get_by_role("link", name="mandat-1.pdf").click()
    assert download.value.suggested_filename == "mandat-1.pdf"
    mandat = candidature.membres_groupement.get(raison_sociale="Membre 1 SARL").mandat
    assert FichierDownload.objects.filter(fichier=mandat, user=instructeur).exists()

    page.get_by_role("button", name="Valider l’éligibilité").click()
    expect(page.get_by_role("status")).to_contain_text("l’espace de dépôt des preuves est ouvert")
    candidature.refresh_from_db()
    assert candidature.state == CandidatureState.ELIGIBLE
