from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from playwright.sync_api import expect

from tests.e2e.conftest import login, screenshot
from tests.factories import TEST_PASSWORD, UserFactory

DRIMBOX = Path(settings.BASE_DIR) / "fixtures" / "rem" / "ans_rem_va2_drimbox_prepub_exigences.csv"


def test_admin_imports_previews_publishes_and_the_public_finds_a_requirement(page):
    call_command("loaddata", Path(settings.BASE_DIR) / "fixtures" / "referentiel.json", verbosity=0)
    admin = UserFactory(admin=True)
    login(page, admin.email, TEST_PASSWORD)
    page.get_by_role("navigation", name="Menu principal").get_by_role(
        "link", name="Gestion du référentiel"
    ).click()
    page.get_by_role("link", name="Importer un REM pour RAD-DRIMBOX-Va2").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Importer un REM — RAD-DRIMBOX-Va2")

    page.get_by_label("Feuille REM").set_input_files(str(DRIMBOX))
    page.get_by_label("Version").fill("IT4 du 14/03/2023")
    page.get_by_role("button", name="Lire la feuille").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(
        "REM RAD-DRIMBOX-Va2 — IT4 du 14/03/2023"
    )
    expect(page.locator(".fr-callout__title").first).to_have_text("230")
    expect(page.get_by_text("avertissement(s)")).to_be_visible()
    screenshot(page, "referentiel-preview")
    page.get_by_role("button", name="Publier cette version").click()

    expect(page.locator(".fr-alert--success")).to_contain_text("est publiée")
    page.get_by_role("button", name="Se déconnecter").click()

    page.goto("/referentiel/RAD-DRIMBOX-Va2/rem/")
    page.get_by_label("Identifiant ou texte").fill("DMP/AIRS.06")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.get_by_text("1 exigence(s) correspondent à la recherche.")).to_be_visible()
    page.get_by_role("button", name="DMP/AIRS.06").click()
    expect(page.get_by_text("Scénario DMP/AIRS.06.01")).to_be_visible()
    expect(page.get_by_text("Message SOAP contenant le jeton VIHF").first).to_be_visible()
    screenshot(page, "referentiel-public-search")
