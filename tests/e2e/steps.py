"""Steps of the procedure in the browser, shared by the end-to-end tests."""

import re
from pathlib import Path

from playwright.sync_api import expect

from candidatures.parc import model_csv
from tests.preuves import samples


def logout(page):
    page.get_by_role("button", name="Se déconnecter").click()


def accept_cgu_and_declare_company(page, *, raison_sociale="Logiciels Médicaux SA"):
    """From a confirmed account without company: the CGU, then the company."""
    page.goto("/candidatures/nouvelle/")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Conditions générales d’utilisation du référencement"
    )
    # DSFR checkboxes are drawn by their label, which takes the click.
    page.locator("label[for=id_accept]").click()
    page.get_by_role("button", name="Accepter les CGU").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Déclarer mon entreprise")
    page.get_by_label("SIRET").fill("552 100 554 00013")
    page.get_by_label("Raison sociale").fill(raison_sociale)
    page.get_by_label("Nom et prénom du représentant légal").fill("Claire Dupont")
    page.get_by_label("Titre du représentant légal").fill("Présidente")
    page.get_by_label("Courriel du représentant légal").fill("claire@logmed.example")
    page.get_by_label(re.compile("^\\s*Téléphone du représentant légal")).fill("01 23 45 67 89")
    page.get_by_label("Nom et prénom du contact pour le référencement").fill("Marc Lemoine")
    page.get_by_label("Courriel du contact").fill("marc@logmed.example")
    page.get_by_label("Téléphone du contact").fill("06 12 34 56 78")
    page.get_by_role("button", name="Déclarer l’entreprise").click()
    expect(page.get_by_role("status")).to_contain_text(f"Entreprise {raison_sociale} déclarée")


def file_candidature(page, campagne, *, name="MédiLog", version="4.2.1"):
    """A new candidature, saved as a draft; the page shows it."""
    page.get_by_role("link", name="Nouvelle candidature").click()
    page.get_by_label("DSR").select_option(str(campagne.pk))
    page.get_by_label("Dénomination commerciale").fill(name)
    page.get_by_label(re.compile("^\\s*Numéro de version technique")).fill(version)
    page.get_by_label("Date prévisionnelle du dépôt du dossier de preuves complet").fill(
        "2027-03-01"
    )
    page.get_by_role("button", name="Enregistrer le brouillon").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{name} {version}")


def fill_eligibility(page, tmp_path: Path):
    """The eligibility form, complete, from the candidature's page back to it."""
    page.get_by_role("link", name="Remplir le formulaire d’éligibilité").click()
    parc = tmp_path / "parc.csv"
    parc.write_bytes(model_csv())
    page.get_by_label("Liste des versions du parc client").set_input_files(str(parc))
    page.get_by_role("button", name="Envoyer la liste").click()
    expect(page.get_by_role("status")).to_contain_text("Liste des versions reçue")
    depot, lettre = tmp_path / "depot-cnda.png", tmp_path / "lettre.pdf"
    depot.write_bytes(samples.png_bytes())
    lettre.write_bytes(samples.pdf_bytes())
    page.get_by_label(re.compile("^\\s*NIE")).fill("NIE-0042")
    page.get_by_label(re.compile("^\\s*NIL")).fill("NIL-4242")
    page.get_by_label("Attestation de dépôt de la demande de labellisation CNDA").set_input_files(
        str(depot)
    )
    page.get_by_label(
        "Lettre d’engagement signée sur les fonctionnalités minimales du DSR"
    ).set_input_files(str(lettre))
    page.get_by_role("button", name="Ajouter un composant").click()
    page.get_by_label("Éditeur du composant").fill("Composants SA")
    page.get_by_label("Dénomination commerciale").last.fill("Connecteur DMP")
    page.get_by_label("Version", exact=True).fill("2.0")
    page.get_by_label("NIL", exact=True).fill("NIL-77")
    page.get_by_label("Service socle concerné").select_option("dmp")
    page.get_by_role("button", name="Enregistrer le formulaire").click()
    expect(page.get_by_role("status")).to_contain_text("Formulaire d’éligibilité enregistré")
    expect(page.get_by_text("Le formulaire est complet")).to_be_visible()


def confirmation_shown(page, modal_id: str, *, says: str, shot: str):
    """The confirmation modal `modal_id`, opened, saying `says`: checked by axe-core once
    the design system has faded it in, and captured. Returns the modal."""
    from tests.e2e.axe import assert_no_serious_axe_violations
    from tests.e2e.conftest import screenshot

    modal = page.locator(f"#{modal_id}")
    expect(modal).to_be_visible()
    expect(modal).to_contain_text(says)
    page.wait_for_function(
        f"() => getComputedStyle(document.getElementById('{modal_id}')).opacity === '1'"
    )
    assert_no_serious_axe_violations(page, include=f"#{modal_id}")
    screenshot(page, shot)
    return modal
