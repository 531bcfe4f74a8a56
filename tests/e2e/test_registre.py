"""A visitor, without an account, finds a referenced software in the public registry,
checks its attestation and the PDF they were given, then a withdrawn one."""

from playwright.sync_api import expect

from tests.college.test_registre import REASON, attestation_pdf, referenced, withdraw
from tests.e2e.conftest import screenshot
from tests.factories import CampagneFactory, EditeurFactory, ProfilFactory
from tests.segur_portal import seal_samples


def test_a_visitor_checks_an_attestation_from_the_registry(page, tmp_path):
    ville = CampagneFactory(dsr__code="MDV-LGC-Va2", dsr__title="Logiciel de gestion de cabinet")
    hopital = CampagneFactory(dsr__code="HOP-DPI-Va2", dsr__title="Dossier patient informatisé")
    teleconsultation = ProfilFactory(dsr=ville.dsr, name="Téléconsultation")
    pdf = seal_samples.genuine_pdf("MédiCab 7.2.1")
    referenced(
        numero="SEGUR-MDV-LGC-VA2-2026-00042",
        campagne=ville,
        editeur=EditeurFactory(raison_sociale="Cabinet Logiciels SAS"),
        nom_commercial="MédiCab",
        version_technique="7.2.1",
        profils=[ville.dsr.profils.get(name="Général"), teleconsultation],
        pdf=pdf,
    )
    referenced(
        numero="SEGUR-HOP-DPI-VA2-2026-00003",
        campagne=hopital,
        editeur=EditeurFactory(raison_sociale="Hôpital Numérique SA"),
        nom_commercial="DPI Horizon",
        version_technique="12.0",
    )
    withdrawn = referenced(
        numero="SEGUR-MDV-LGC-VA2-2026-00017",
        campagne=ville,
        editeur=EditeurFactory(raison_sociale="Ancien Éditeur SARL"),
        nom_commercial="VieuxCab",
        pdf=attestation_pdf("VieuxCab"),
    )
    withdraw(withdrawn)
    genuine = tmp_path / "attestation-medicab.pdf"
    genuine.write_bytes(pdf)
    forged = tmp_path / "attestation-modifiee.pdf"
    forged.write_bytes(attestation_pdf("MédiCab 9.9.9"))

    page.goto("/registre/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Logiciels référencés")
    table = page.get_by_role("table")
    # The withdrawn referencing stays, last, with its date and reason.
    expect(table.get_by_role("row")).to_have_count(4)
    withdrawn_row = table.get_by_role("row").filter(has_text="VieuxCab")
    expect(withdrawn_row).to_contain_text("Déréférencé le 15 avril 2026")
    expect(withdrawn_row).to_contain_text(REASON)
    screenshot(page, "registre-liste")

    page.get_by_label("DSR").select_option("MDV-LGC-Va2")
    page.get_by_role("button", name="Filtrer").click()
    expect(table.get_by_role("row")).to_have_count(3)
    expect(table).to_contain_text("Général, Téléconsultation")
    expect(table).not_to_contain_text("DPI Horizon")
    screenshot(page, "registre-filtre-dsr")

    table.get_by_role("link", name="SEGUR-MDV-LGC-VA2-2026-00042").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Attestation n° SEGUR-MDV-LGC-VA2-2026-00042"
    )
    expect(page.locator(".fr-alert--success")).to_contain_text("Attestation valide")
    expect(page.get_by_text("Cabinet Logiciels SAS — SIRET")).to_be_visible()

    page.get_by_label("Fichier PDF de l’attestation").set_input_files(str(genuine))
    page.get_by_role("button", name="Vérifier le fichier").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Ce fichier est l’attestation délivrée par l’ANS : cachet du portail valide et "
        "empreinte identique"
    )
    screenshot(page, "verifier-fichier-identique")

    page.get_by_label("Fichier PDF de l’attestation").set_input_files(str(forged))
    page.get_by_role("button", name="Vérifier le fichier").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "Ce fichier n’est pas l’attestation délivrée par l’ANS : il a pu être modifié"
    )
    screenshot(page, "verifier-fichier-modifie")

    page.get_by_role("button", name="Vérifier le fichier").click()
    expect(page.locator(".fr-error-text")).to_have_text(
        "Choisissez le fichier PDF de l’attestation à vérifier."
    )
    screenshot(page, "verifier-fichier-absent")

    page.goto("/verifier/")
    page.get_by_label("Numéro de référencement").fill("SEGUR-MDV-LGC-VA2-2026-00017")
    screenshot(page, "verifier-saisie")
    page.get_by_role("button", name="Vérifier", exact=True).click()
    expect(page.locator(".fr-alert--error")).to_contain_text("Attestation retirée le 15 avril 2026")
    expect(page.get_by_text(REASON)).to_be_visible()
    screenshot(page, "verifier-retiree")

    page.goto("/verifier/SEGUR-MDV-LGC-VA2-2026-99999/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Attestation inconnue")
    screenshot(page, "verifier-inconnue")
    # Chromium logs any document answered 404 as a console error: this one is expected.
    page.problems.remove(
        "console : Failed to load resource: the server responded with a status of 404 (Not Found)"
    )
