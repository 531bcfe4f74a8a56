"""No dead end (issue 10, item 15): sign-up is found from the home and login pages; a person
whose company is already on the portal asks its mandataire for access, who accepts it in
« Mon entreprise »; the instructor's tile shows the real proof queue."""

import re
from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from candidatures.models import CguAcceptance
from candidatures.services.onboarding import current_cgu
from tests.e2e.conftest import login, screenshot
from tests.factories import TEST_PASSWORD, CandidatureFactory, UserFactory


def _log_out(page) -> None:
    page.context.clear_cookies()


def test_sign_up_is_found_from_the_home_and_login_pages(page):
    page.goto("/")
    page.get_by_role("link", name="Créer un compte éditeur").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Créer un compte éditeur")

    page.goto("/connexion/")
    page.get_by_role("link", name="Créer un compte éditeur").click()
    expect(page).to_have_url(re.compile(r"/inscription/$"))


def test_a_colleague_asks_the_mandataire_for_access_who_accepts_it(page):
    mandataire = UserFactory(
        mandataire=True, email="mandataire@exemple.fr", editeur__raison_sociale="Logiciels Santé SA"
    )
    CguAcceptance.objects.create(user=mandataire, cgu=current_cgu())
    editeur = mandataire.editeur
    requester = UserFactory(email="jeanne@exemple.fr", first_name="Jeanne", last_name="Barret")
    CguAcceptance.objects.create(user=requester, cgu=current_cgu())

    login(page, requester.email, TEST_PASSWORD)
    page.get_by_role("link", name="Rejoindre une entreprise déjà inscrite").click()
    # A mistyped SIRET is said at its field, what was typed kept.
    page.get_by_label("SIRET de l’entreprise").fill("12345678901234")
    page.get_by_label(re.compile("Message au mandataire")).fill("Service qualité")
    page.get_by_role("button", name="Envoyer ma demande au mandataire").click()
    expect(page.locator(".fr-input-group--error")).to_contain_text("clé de contrôle incorrecte")
    expect(page.get_by_label(re.compile("Message au mandataire"))).to_have_value("Service qualité")

    page.get_by_label("SIRET de l’entreprise").fill(
        f"{editeur.siret[:3]} {editeur.siret[3:6]} {editeur.siret[6:9]} {editeur.siret[9:]}"
    )
    page.get_by_role("button", name="Envoyer ma demande au mandataire").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Si une entreprise est inscrite sur le portail sous ce SIRET, son mandataire la reçoit"
    )
    expect(page.get_by_text("Demande en cours")).to_be_visible()
    screenshot(page, "acces-demande-envoyee")
    _log_out(page)

    login(page, mandataire.email, TEST_PASSWORD)
    page.get_by_role("navigation", name="Menu principal").get_by_role(
        "link", name="Mon entreprise"
    ).click()
    expect(page.get_by_role("heading", name="Demandes d’accès")).to_be_visible()
    expect(page.get_by_text("« Service qualité »")).to_be_visible()
    page.get_by_label("Rôle dans l’entreprise").first.select_option("representant")
    screenshot(page, "acces-demande-mandataire")
    page.get_by_role("button", name="Accepter Jeanne Barret").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Jeanne Barret a désormais accès à l’entreprise."
    )
    expect(page.get_by_role("cell", name="jeanne@exemple.fr")).to_be_visible()
    _log_out(page)

    login(page, requester.email, TEST_PASSWORD)
    expect(page.get_by_text("Logiciels Santé SA").first).to_be_visible()
    page.goto("/notifications/")
    expect(page.get_by_text("Votre accès à Logiciels Santé SA est ouvert")).to_be_visible()


def test_the_instructor_tile_shows_the_proof_queue(page):
    instructeur = UserFactory(instructeur=True, email="instructeur@exemple.fr")
    for days in (2, 1):
        CandidatureFactory(
            eligible=True,
            state="dossier_soumis",
            dossier_submitted_at=timezone.now() - timedelta(days=days),
        )
    login(page, instructeur.email, TEST_PASSWORD)
    tile = page.locator("#file-preuves")
    expect(tile).to_contain_text("2 dossier(s) à prendre, 0 en instruction dont 0 chez vous.")
    screenshot(page, "tableau-de-bord-instructeur-preuves")
    tile.get_by_role("link", name="Instruction des preuves").click()
    expect(page.get_by_role("table")).to_contain_text("À prendre")
