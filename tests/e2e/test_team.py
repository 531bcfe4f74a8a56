import re

from django.core import mail
from playwright.sync_api import expect

from tests.e2e.conftest import login, screenshot
from tests.factories import TEST_PASSWORD, UserFactory


def test_mandataire_invites_a_colleague_who_joins_then_is_removed(page, browser, live_server):
    mandataire = UserFactory(
        mandataire=True, email="mandataire@exemple.fr", editeur__raison_sociale="Logiciels Santé SA"
    )
    login(page, mandataire.email, TEST_PASSWORD)
    page.get_by_role("navigation", name="Menu principal").get_by_role(
        "link", name="Mon entreprise"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mon entreprise")

    # A bad address is refused at the field, in French, and the form keeps its values.
    page.get_by_label("Adresse électronique professionnelle de votre collègue").fill(
        "pas-une-adresse"
    )
    page.get_by_label("Rôle dans l’entreprise").select_option("representant")
    page.get_by_role("button", name="Envoyer l’invitation").click()
    expect(page.locator(".fr-input-group--error")).to_contain_text(
        "Saisissez une adresse de courriel valide"
    )
    expect(page.get_by_label("Rôle dans l’entreprise")).to_have_value("representant")

    page.get_by_label("Adresse électronique professionnelle de votre collègue").fill(
        "jeanne@exemple.fr"
    )
    page.get_by_role("button", name="Envoyer l’invitation").click()
    expect(page.locator(".fr-alert--success")).to_contain_text(
        "Invitation envoyée à jeanne@exemple.fr"
    )
    screenshot(page, "team-invitation-sent")

    (message,) = mail.outbox
    link = re.search(r"http://\S+(/invitation/\S+/)", message.body)[1]

    colleague_context = browser.new_context(base_url=live_server.url, locale="fr-FR")
    colleague_context.set_default_timeout(10_000)
    colleague = colleague_context.new_page()
    colleague.goto(link)
    expect(colleague.get_by_role("heading", level=1)).to_have_text("Rejoindre Logiciels Santé SA")
    colleague.get_by_label("Prénom").fill("Jeanne")
    colleague.get_by_label("Nom", exact=True).fill("Barret")
    colleague.get_by_label(re.compile(r"^\s*Mot de passe")).fill("un-mot-de-passe-solide")
    colleague.get_by_label("Confirmation du mot de passe").fill("un-mot-de-passe-solide")
    colleague.get_by_role("button", name="Créer mon compte").click()
    # The link opened the account; the password signs in.
    expect(colleague.locator(".fr-alert--success")).to_contain_text(
        "Connectez-vous avec votre adresse et le mot de passe choisi"
    )
    expect(colleague).to_have_url(re.compile(r"/connexion/"))
    login(colleague, "jeanne@exemple.fr", "un-mot-de-passe-solide")
    expect(colleague.get_by_role("heading", level=1)).to_have_text("Tableau de bord")
    expect(colleague.get_by_text("Logiciels Santé SA").first).to_be_visible()
    screenshot(colleague, "team-colleague-dashboard")

    page.reload()
    row = page.get_by_role("row").filter(has_text="jeanne@exemple.fr")
    expect(row).to_contain_text("Représentant")
    row.get_by_role("button", name="Retirer l’accès").click()
    expect(page.locator(".fr-alert--success")).to_contain_text("L’accès de Jeanne Barret est fermé")
    expect(page.get_by_role("row").filter(has_text="jeanne@exemple.fr")).to_contain_text(
        "Retiré le"
    )
    screenshot(page, "team-colleague-removed")

    # The removed colleague's next request finds the session closed.
    colleague.goto("/tableau-de-bord/")
    expect(colleague).to_have_url(re.compile(r"/connexion/"))
    colleague_context.close()
