"""A financing body checks three PDFs said to be the same attestation: the genuine one,
one re-saved after a change, and one sealed by a look-alike certificate. The page tells
them apart, check by check, then shows the seal's published certificate."""

from playwright.sync_api import expect

from tests.college.test_registre import referenced
from tests.e2e.conftest import screenshot
from tests.segur_portal import seal_samples

NUMERO = "SEGUR-MDV-LGC-VA2-2026-00042"


def _check(page, path) -> None:
    page.get_by_label("Fichier PDF de l’attestation").set_input_files(str(path))
    page.get_by_role("button", name="Vérifier le fichier").click()


def _line(page, label: str):
    return page.locator("li", has=page.locator("strong", has_text=label))


def test_the_page_tells_a_genuine_a_re_saved_and_a_forged_pdf_apart(page, tmp_path):
    genuine = seal_samples.genuine_pdf("MédiCab 7.2.1")
    referenced(numero=NUMERO, nom_commercial="MédiCab", version_technique="7.2.1", pdf=genuine)
    files = {
        "authentique": genuine,
        "reenregistree": seal_samples.resaved_pdf(genuine),
        "contrefaite": seal_samples.forged_pdf("MédiCab 7.2.1"),
    }
    for name, content in files.items():
        (tmp_path / f"attestation-{name}.pdf").write_bytes(content)

    page.goto(f"/verifier/{NUMERO}/")
    _check(page, tmp_path / "attestation-authentique.pdf")
    expect(page.get_by_role("status")).to_contain_text(
        "Ce fichier est l’attestation délivrée par l’ANS : cachet du portail valide"
    )
    for label in [
        "Intégrité",
        "Signataire",
        "Horodatage",
        "Modifications",
        "Empreinte enregistrée",
    ]:
        expect(_line(page, label).locator(".fr-badge")).to_have_text("Vérifié")
    expect(_line(page, "Horodatage")).to_contain_text("Horodaté le")
    screenshot(page, "verifier-cachet-authentique")

    _check(page, tmp_path / "attestation-reenregistree.pdf")
    expect(page.get_by_role("alert")).to_contain_text(
        "Ce fichier n’est pas l’attestation délivrée par l’ANS : il a pu être modifié"
    )
    expect(_line(page, "Intégrité").locator(".fr-badge")).to_have_text("Vérifié")
    expect(_line(page, "Modifications").locator(".fr-badge")).to_have_text("Échec")
    expect(_line(page, "Modifications")).to_contain_text("modifié après son scellement")
    screenshot(page, "verifier-cachet-reenregistree")

    _check(page, tmp_path / "attestation-contrefaite.pdf")
    expect(page.get_by_role("alert")).to_contain_text(
        "Ce fichier n’est pas l’attestation délivrée par l’ANS"
    )
    expect(_line(page, "Signataire").locator(".fr-badge")).to_have_text("Échec")
    expect(_line(page, "Signataire")).to_contain_text("n’est pas le cachet du portail")
    expect(_line(page, "Modifications").locator(".fr-badge")).to_have_text("Vérifié")
    screenshot(page, "verifier-cachet-contrefaite")

    page.get_by_role("link", name="certificat du cachet et mode d’emploi").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Certificat du cachet du portail")
    expect(page.get_by_text("Portail de démonstration")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger le certificat du cachet (PEM)").click()
    assert download.value.suggested_filename == "cachet-portail-segur.pem"
    screenshot(page, "verifier-certificat")
