"""The proof dossier in the browser, with the real Celery worker checking the files: the
editor deposits and submits, the instructor asks a complément, the editor adds a file,
the instructor finds everything conforme and closes the instruction."""

import re

import pytest
from django.core.files.storage import default_storage
from playwright.sync_api import expect

from candidatures.enums import CandidatureState
from candidatures.models import CguAcceptance
from candidatures.proof_kinds import MO
from candidatures.services.onboarding import current_cgu
from preuves.depot import dossier
from preuves.models import DossierSoumission, Fichier
from tests.e2e.axe import assert_no_serious_axe_violations
from tests.e2e.conftest import login, screenshot
from tests.e2e.dossier_steps import proof_block, send_proof
from tests.factories import TEST_PASSWORD, UserFactory, company_user
from tests.preuves import corpus
from tests.preuves.dossiers import eligible_candidature
from tests.worker import wait_for

pytestmark = pytest.mark.worker

# The worker decides within a second or two; the page polls every 2 s.
LIVE = 30_000


def _logout(page):
    page.get_by_role("button", name="Se déconnecter").click()


def _item(page, identifier: str):
    return page.locator(f'[data-item][data-identifier="{identifier}"]')


@pytest.fixture
def stored_files():
    """The worker shares the project's test storage: remove what the test stored."""
    yield
    for fichier in Fichier.objects.all():
        default_storage.delete(fichier.storage_name)


def test_deposit_submit_and_instruct_a_dossier(page, celery_worker, stored_files, tmp_path):
    candidature = eligible_candidature()
    editor = company_user(candidature.editeur, email="editrice@logmed.example")
    CguAcceptance.objects.create(user=editor, cgu=current_cgu())
    UserFactory(instructeur=True, email="instructrice@ans.example")
    video = tmp_path / "saisie-identite.mp4"
    with video.open("wb") as target:
        corpus.write_sized(target, corpus.mp4_bytes(), 3 * MO)
    justificatif = tmp_path / "homologation-cnda.pdf"
    justificatif.write_bytes(corpus.pdf_bytes())
    disguised = tmp_path / "capture.png"
    disguised.write_bytes(corpus.pe_bytes())
    log = tmp_path / "appels.log"
    log.write_text("2026-11-20 10:02:11 appel INSi : identité qualifiée\n")
    capture = tmp_path / "chiffrement.png"
    capture.write_bytes(corpus.png_bytes())

    # The editor deposits: a video, slowly enough to watch the progress bar.
    login(page, editor.email, TEST_PASSWORD)
    page.goto(f"/candidatures/{candidature.pk}/")
    page.get_by_role("link", name="Déposer les preuves").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dossier de preuves")
    expect(page.get_by_text("0 / 5 preuves fournies")).to_be_visible()
    network = page.context.new_cdp_session(page)
    network.send("Network.enable")
    network.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": MO},
    )
    send_proof(page, "INS.01.01.01", video)
    expect(_item(page, "INS.01.01.01").locator("[data-progress-label]")).to_have_text(
        re.compile(r"Envoi : \d+ % — [\d,]+ Mo sur 3 Mo")
    )
    screenshot(page, "dossier-upload-progress")
    network.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    video_item = _item(page, "INS.01.01.01")
    expect(video_item.get_by_role("link", name="saisie-identite.mp4")).to_be_visible(timeout=LIVE)
    expect(video_item.locator(".fichier-statut")).to_have_text(re.compile("Acceptée"), timeout=LIVE)
    expect(video_item.locator(".fr-badge").first).to_have_text("Fournie")
    expect(page.get_by_text("1 / 5 preuves fournies")).to_be_visible()  # no reload

    # A program named .png is refused, with the reason.
    send_proof(page, "INS.01.01.01", disguised)
    refused = _item(page, "INS.01.01.01").locator("li", has_text="capture.png")
    expect(refused).to_contain_text(
        "le contenu du fichier est de type application/vnd.microsoft.portable-executable "
        "(programme exécutable Windows)",
        timeout=LIVE,
    )
    screenshot(page, "dossier-refused")
    _item(page, "INS.01.01.01").get_by_role("button", name="Retirer capture.png").click()
    expect(_item(page, "INS.01.01.01").get_by_text("capture.png")).to_have_count(0)

    # The rest of the dossier: a PDF, a log, a link, a capture.
    send_proof(page, "INS.01.02.01", justificatif)
    send_proof(page, "INS.01.01.02", log)
    send_proof(page, "SSI.07", capture)
    gazelle = proof_block(page, "GAZ.05.01.01")
    gazelle.get_by_label("Ou le lien https vers le rapport").fill(
        "https://gazelle.services.esante.gouv.fr/rapport/4242"
    )
    gazelle.get_by_role("button", name="Enregistrer le lien").click()
    for identifier in ("INS.01.02.01", "INS.01.01.02", "SSI.07"):
        expect(_item(page, identifier).locator(".fichier-statut")).to_have_text(
            re.compile("Acceptée"), timeout=LIVE
        )
    expect(page.get_by_text("5 / 5 preuves fournies")).to_be_visible()
    screenshot(page, "dossier-complete")
    assert_no_serious_axe_violations(page)
    page.get_by_role("button", name="Soumettre le dossier de preuves complet").click()
    page.get_by_role("button", name="Soumettre définitivement le dossier").click()
    expect(page.get_by_role("status")).to_contain_text("Dossier de preuves complet soumis")
    wait_for(lambda: DossierSoumission.objects.filter(receipt__isnull=False).exists())
    page.reload()
    expect(page.get_by_role("link", name="Récépissé de dépôt (PDF)")).to_be_visible()
    _logout(page)

    # The instructor takes the dossier and asks a complément on INS.01.
    login(page, "instructrice@ans.example", TEST_PASSWORD)
    page.get_by_role("navigation", name="Menu principal").get_by_role(
        "link", name="File d’instruction"
    ).click()
    page.get_by_role("tab", name="Instruction des preuves").click()
    page.get_by_role("link", name=candidature.reference).click()
    page.get_by_role("button", name="Prendre en instruction").click()
    expect(page.get_by_role("status")).to_contain_text("Candidature prise en instruction")
    page.locator("#exigence-{}".format(_exigence_pk(candidature, "INS.01"))).get_by_text(
        "Inclure dans la demande de complément"
    ).click()
    page.get_by_label("Demande à l’éditeur").fill(
        "La vidéo ne montre pas la récupération de l’identité par le téléservice INSi."
    )
    page.get_by_role("button", name="Envoyer la demande de complément").click()
    expect(page.get_by_role("status")).to_contain_text("Demande de complément envoyée")
    _logout(page)

    # The editor adds a video there, and answers.
    login(page, editor.email, TEST_PASSWORD)
    page.goto(f"/candidatures/{candidature.pk}/preuves/")
    # Under instruction the checklist lists only what the complément reopened.
    expect(page.locator("#ligne-" + _item_key(candidature, "GAZ.05.01.01"))).to_have_count(0)
    expect(page.get_by_role("link", name="Voir INS.01.01.01")).to_be_visible()
    insi = tmp_path / "recuperation-insi.mp4"
    insi.write_bytes(corpus.mp4_bytes())
    send_proof(page, "INS.01.01.01", insi)
    expect(
        _item(page, "INS.01.01.01").locator("li", has_text="recuperation-insi.mp4")
    ).to_contain_text("Acceptée", timeout=LIVE)
    page.goto(f"/candidatures/{candidature.pk}/")
    page.get_by_label("Message").fill("Vidéo de la récupération INSi ajoutée sous INS.01.01.01.")
    page.get_by_role("button", name="Répondre à l’ANS").click()
    expect(page.get_by_role("status")).to_contain_text("Réponse envoyée")
    _logout(page)

    # The instructor finds every requirement conforme and closes the instruction.
    login(page, "instructrice@ans.example", TEST_PASSWORD)
    page.goto(f"/candidatures/{candidature.pk}/preuves/")
    for identifier in ("GAZ.05", "INS.01", "SSI.07"):
        block = page.locator(f"#exigence-{_exigence_pk(candidature, identifier)}")
        block.get_by_label(f"Verdict sur {identifier}").select_option("conforme")
        block.get_by_role("button", name="Enregistrer le verdict").click()
        expect(page.get_by_role("status")).to_contain_text("Verdict enregistré")
    screenshot(page, "dossier-instruction")
    page.get_by_role("button", name="Clore l’instruction : preuves validées").click()
    page.get_by_role("button", name="Clore définitivement l’instruction").click()
    expect(page.get_by_role("status")).to_contain_text("Instruction close")
    candidature.refresh_from_db()
    # The worker then issues the convention (college.services), which it may already
    # have done: the only way there is through « preuves validées ».
    assert candidature.state in (
        CandidatureState.PREUVES_VALIDEES,
        CandidatureState.CONVENTION_ENVOYEE,
    )


def _item_key(candidature, identifier: str) -> str:
    return next(item.key for item in dossier(candidature).items if item.identifier == identifier)


def _exigence_pk(candidature, identifier: str) -> int:
    return candidature.rem_version.exigences.get(identifier=identifier).pk
