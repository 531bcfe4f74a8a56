"""The whole procedure in the browser, across the four roles: from the CGU to an
attestation verified by the public, then withdrawn; and the collège's réserves."""

import hashlib
import re
from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from candidatures.enums import CandidatureState
from candidatures.models import Candidature
from college.models import Attestation, Seance
from tests.college.phase3 import mandataire, on_agenda, seance_today, signed_candidature
from tests.e2e.conftest import login, screenshot
from tests.e2e.dossier_steps import proof_block, send_proof
from tests.e2e.steps import (
    accept_cgu_and_declare_company,
    file_candidature,
    fill_eligibility,
    logout,
)
from tests.factories import TEST_PASSWORD, CampagneFactory, UserFactory
from tests.preuves import corpus
from tests.preuves.dossiers import published_rem

S = CandidatureState


def _nav(page, name: str):
    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name=name).click()


def _send(page, identifier: str, path):
    send_proof(page, identifier, path)
    expect(proof_block(page, identifier).locator(".fichier-statut")).to_have_text(
        re.compile("Acceptée")
    )


def _open_seance(page):
    """Open the séance with the second member ticked too: a decision needs two members
    present (COLLEGE_QUORUM)."""
    members = page.get_by_role("group", name="Membres présents")
    members.get_by_text("Marie Membre").click()
    page.get_by_role("button", name="Ouvrir la séance").click()
    expect(page.get_by_role("status")).to_contain_text("Séance ouverte")


def _decide(page, candidature, kind: str, text: str, reserves=()):
    article = page.locator("article", has_text=candidature.reference)
    article.get_by_text(kind, exact=True).click()
    article.get_by_label("Texte de la décision").fill(text)
    for index, (reserve, exigences) in enumerate(reserves):
        article.get_by_label(re.compile(r"^\s*Réserve(\s|$)")).nth(index).fill(reserve)
        article.get_by_label(re.compile("^\\s*Exigences concernées")).nth(index).fill(exigences)
    article.get_by_role("button", name="Enregistrer la décision").click()
    expect(page.get_by_role("status")).to_contain_text(
        f"Décision enregistrée pour {candidature.reference}"
    )


def test_from_the_cgu_to_a_verified_attestation_then_withdrawn(page, tmp_path):
    version = published_rem()
    campagne = CampagneFactory(dsr=version.dsr)
    editor = UserFactory(email="claire@logmed.example", first_name="Claire", last_name="Dupont")
    UserFactory(instructeur=True, email="instructrice@ans.example")
    UserFactory(college=True, email="membre@ans.example", first_name="Paul", last_name="Collège")
    UserFactory(college=True, first_name="Marie", last_name="Membre")
    UserFactory(admin=True, email="admin@ans.example")

    # Éditeur — phase 1.
    login(page, editor.email, TEST_PASSWORD)
    accept_cgu_and_declare_company(page)
    file_candidature(page, campagne)
    page.get_by_role("button", name="Soumettre la candidature administrative").click()
    candidature = Candidature.objects.get()
    logout(page)
    login(page, "instructrice@ans.example", TEST_PASSWORD)
    page.goto(f"/candidatures/{candidature.pk}/")
    page.get_by_role("button", name="Valider la candidature administrative").click()
    logout(page)
    login(page, editor.email, TEST_PASSWORD)
    page.goto(f"/candidatures/{candidature.pk}/")
    fill_eligibility(page, tmp_path)
    page.get_by_role("link", name="Retour à la candidature").click()
    page.get_by_role("button", name="Soumettre le formulaire d’éligibilité").click()
    logout(page)
    login(page, "instructrice@ans.example", TEST_PASSWORD)
    page.goto(f"/candidatures/{candidature.pk}/")
    page.get_by_role("button", name="Valider l’éligibilité").click()
    logout(page)

    # Éditeur — phase 2: the proofs, checked in-process here, and the CNDA status.
    files = {
        "INS.01.01.01": ("saisie.mp4", corpus.mp4_bytes()),
        "INS.01.01.02": ("appels.log", b"appel INSi : identite qualifiee\n"),
        "INS.01.02.01": ("homologation.pdf", corpus.pdf_bytes()),
        "SSI.07": ("chiffrement.png", corpus.png_bytes()),
    }
    login(page, editor.email, TEST_PASSWORD)
    page.goto(f"/candidatures/{candidature.pk}/")
    page.get_by_role("link", name="Déposer les preuves").click()
    for identifier, (name, content) in files.items():
        path = tmp_path / name
        path.write_bytes(content)
        _send(page, identifier, path)
    gazelle = proof_block(page, "GAZ.05.01.01")
    gazelle.get_by_label("Ou le lien https vers le rapport").fill("https://gazelle.example/r/1")
    gazelle.get_by_role("button", name="Enregistrer le lien").click()
    page.get_by_label(re.compile("Statut des homologations CNDA")).select_option("certifie")
    page.get_by_role("button", name="Enregistrer le statut").click()
    page.get_by_role("button", name="Soumettre le dossier de preuves complet").click()
    # The confirmation names what becomes final.
    confirmation = page.get_by_role("dialog", name="Soumettre le dossier de preuves complet ?")
    expect(confirmation).to_contain_text("Le dossier de 5 preuve(s) fournie(s) est transmis")
    screenshot(page, "procedure-submit-confirm")
    confirmation.get_by_role("button", name="Soumettre définitivement le dossier").click()
    expect(page.get_by_role("status")).to_contain_text("Dossier de preuves complet soumis")
    logout(page)

    # Instructrice — phase 3: every requirement conforme, instruction closed.
    login(page, "instructrice@ans.example", TEST_PASSWORD)
    page.goto(f"/candidatures/{candidature.pk}/preuves/")
    page.get_by_role("button", name="Prendre en instruction").click()
    # A refused verdict, then the filter: the page filters, no dead end.
    gazelle = page.locator(f"#exigence-{version.exigences.get(identifier='GAZ.05').pk}")
    gazelle.get_by_label("Verdict sur GAZ.05").select_option("non_conforme")
    gazelle.get_by_role("button", name="Enregistrer le verdict").click()
    expect(page.locator(".fr-error-text").first).to_contain_text("Dites en quoi l’exigence")
    page.get_by_label("Section").select_option("GAZ")
    page.get_by_role("button", name="Filtrer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dossier de preuves")
    expect(page.get_by_role("heading", name=re.compile("^INS"))).to_have_count(0)
    page.problems.remove(
        "console : Failed to load resource: the server responded with a status of 400 (Bad Request)"
    )
    page.goto(f"/candidatures/{candidature.pk}/preuves/")
    for identifier in ("GAZ.05", "INS.01", "SSI.07"):
        page.get_by_label(f"Verdict sur {identifier}").select_option("conforme")
        page.locator(f"#exigence-{version.exigences.get(identifier=identifier).pk}").get_by_role(
            "button", name="Enregistrer le verdict"
        ).click()
    page.get_by_role("button", name="Clore l’instruction : preuves validées").click()
    confirmation = page.get_by_role("dialog", name="Clore l’instruction ?")
    expect(confirmation).to_contain_text("Les verdicts des 3 exigences deviennent définitifs")
    confirmation.get_by_role("button", name="Clore définitivement l’instruction").click()
    expect(page.get_by_role("status")).to_contain_text("Instruction close")
    logout(page)

    # Éditeur: the convention, issued on closing, signed with the password.
    seance = Seance.objects.create(
        date=timezone.localdate(), starts_at=timezone.now() + timedelta(minutes=1)
    )
    login(page, editor.email, TEST_PASSWORD)
    page.goto(f"/candidatures/{candidature.pk}/")
    page.get_by_role("link", name="Lire et signer la convention").click()
    page.get_by_label("Mot de passe de votre compte").fill(TEST_PASSWORD)
    page.locator("label[for=id_consent]").click()
    screenshot(page, "procedure-sign")
    page.get_by_role("button", name="Signer la convention").click()
    expect(page.get_by_role("status")).to_contain_text("Convention signée")
    expect(page.get_by_text(re.compile("Inscrite à la séance du collège"))).to_be_visible()
    logout(page)
    # The séance starts: it opens from its start time.
    Seance.objects.filter(pk=seance.pk).update(starts_at=timezone.now() - timedelta(minutes=1))

    # Membre du collège: the séance, its decision, its closing.
    login(page, "membre@ans.example", TEST_PASSWORD)
    _nav(page, "Séances du collège")
    page.get_by_role("link", name=re.compile(f"{seance.starts_at:%Y}")).first.click()
    # The member opening the séance is ticked present already.
    expect(
        page.get_by_role("group", name="Membres présents").get_by_label("Paul Collège")
    ).to_be_checked()
    _open_seance(page)
    _decide(page, candidature, "Référencement attribué sans réserve", "Conforme au REM.")
    screenshot(page, "procedure-seance")
    page.get_by_role("button", name="Clore la séance").click()
    page.get_by_role("button", name="Clore définitivement la séance").click()
    expect(page.get_by_role("status")).to_contain_text("Séance close")
    expect(page.get_by_role("link", name="Procès-verbal de la séance (PDF)")).to_be_visible()
    logout(page)

    # Éditeur: the attestation.
    attestation = Attestation.objects.get(candidature=candidature)
    login(page, editor.email, TEST_PASSWORD)
    page.goto(f"/candidatures/{candidature.pk}/")
    expect(page.get_by_role("heading", name=re.compile(attestation.numero))).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger l’attestation (PDF)").click()
    pdf = tmp_path / "attestation.pdf"
    download.value.save_as(pdf)
    assert hashlib.sha256(pdf.read_bytes()).hexdigest() == attestation.sha256
    screenshot(page, "procedure-referencee")
    logout(page)

    # The public: the registry, the verification page, the file checked.
    page.goto("/registre/")
    page.get_by_role("link", name=attestation.numero).click()
    expect(page.get_by_text("Attestation valide")).to_be_visible()
    page.get_by_label(re.compile("Fichier d’attestation|attestation", re.I)).first.set_input_files(
        str(pdf)
    )
    page.get_by_role("button", name=re.compile("Vérifier")).click()
    expect(page.get_by_role("status")).to_contain_text(
        "cachet du portail valide et empreinte identique"
    )
    screenshot(page, "procedure-verifier")

    # Administrateur: déréférencement; the public page says so.
    login(page, "admin@ans.example", TEST_PASSWORD)
    page.goto(f"/candidatures/{candidature.pk}/")
    page.get_by_text("Déréférencer ce logiciel").click()
    page.get_by_label("Motif").fill("Défaut de sécurité non corrigé dans les délais.")
    page.get_by_role("button", name="Déréférencer", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Logiciel déréférencé")
    logout(page)
    page.goto(f"/verifier/{attestation.numero}/")
    expect(page.get_by_text(re.compile("Attestation retirée le"))).to_be_visible()
    expect(page.get_by_text("Défaut de sécurité non corrigé dans les délais.")).to_be_visible()


def test_reserves_non_bloquantes_lifted_and_reserves_bloquantes_refused(page, tmp_path):
    lifted, refused = signed_candidature(), signed_candidature()
    seance = seance_today()
    for candidature in (lifted, refused):
        on_agenda(seance, candidature)
    UserFactory(college=True, email="membre@ans.example", first_name="Paul", last_name="Collège")
    UserFactory(college=True, first_name="Marie", last_name="Membre")

    login(page, "membre@ans.example", TEST_PASSWORD)
    page.goto(f"/college/seances/{seance.pk}/")
    # The member opening the séance is ticked present already.
    expect(
        page.get_by_role("group", name="Membres présents").get_by_label("Paul Collège")
    ).to_be_checked()
    _open_seance(page)
    _decide(
        page,
        lifted,
        "Référencement non attribué : réserves non bloquantes",
        "Une correction mineure à apporter.",
        [("L’INS doit s’afficher dans l’en-tête du dossier.", "INS.01")],
    )
    _decide(
        page,
        refused,
        "Référencement refusé : réserves bloquantes",
        "Le DMP n’est pas alimenté.",
        [("Alimentation du DMP absente.", "DMP.02"), ("Chiffrement absent.", "SSI.07")],
    )
    screenshot(page, "procedure-reserves-seance")
    page.get_by_role("button", name="Clore la séance").click()
    page.get_by_role("button", name="Clore définitivement la séance").click()
    expect(page.get_by_role("status")).to_contain_text("Séance close")
    logout(page)

    # The refused one reads why.
    login(page, mandataire(refused).email, TEST_PASSWORD)
    page.goto(f"/candidatures/{refused.pk}/")
    expect(page.get_by_role("heading", name=re.compile("^Refusée le"))).to_be_visible()
    expect(page.get_by_text("Alimentation du DMP absente.", exact=True)).to_be_visible()
    logout(page)

    # The other answers its réserve with a file.
    login(page, mandataire(lifted).email, TEST_PASSWORD)
    page.goto(f"/candidatures/{lifted.pk}/")
    expect(page.get_by_text(re.compile("Réserves à lever jusqu’au .* inclus"))).to_be_visible()
    capture = tmp_path / "en-tete-ins.png"
    capture.write_bytes(corpus.png_bytes())
    reserve = page.locator("article.portal-reserve")
    reserve.get_by_label("Ce qui a été corrigé").fill("L’INS s’affiche désormais (version 4.2.2).")
    reserve.get_by_label(re.compile("Preuves de la correction")).set_input_files(str(capture))
    reserve.get_by_role("button", name="Répondre à la réserve 1").click()
    expect(page.get_by_role("status")).to_contain_text("Réponse à la réserve 1 envoyée")
    screenshot(page, "procedure-reserve-answered")
    logout(page)

    # The instructor lifts it: referenced.
    login(page, lifted.instructeur.email, TEST_PASSWORD)
    page.goto(f"/candidatures/{lifted.pk}/")
    page.get_by_role("button", name="Lever la réserve 1").click()
    expect(page.get_by_role("status")).to_contain_text("Réserve 1 levée")
    lifted.refresh_from_db()
    refused.refresh_from_db()
    assert (lifted.state, refused.state) == (S.REFERENCEE, S.REFUSEE)
    logout(page)
    page.goto("/registre/")
    expect(page.get_by_role("link", name=lifted.attestation.numero)).to_be_visible()
    expect(
        page.get_by_text(refused.nom_commercial + " " + refused.version_technique)
    ).to_have_count(0)


def test_cnda_en_cours_actif_is_shown_to_the_college_and_referenced_once_certified(page, tmp_path):
    candidature = signed_candidature(cnda_pending=True)
    seance = seance_today()
    on_agenda(seance, candidature)
    UserFactory(college=True, email="membre@ans.example", first_name="Paul", last_name="Collège")
    UserFactory(college=True, first_name="Marie", last_name="Membre")

    # The collège sees the homologation pending, and why « sans réserve » is refused.
    login(page, "membre@ans.example", TEST_PASSWORD)
    page.goto(f"/college/seances/{seance.pk}/")
    _open_seance(page)
    article = page.locator("article", has_text=candidature.reference)
    expect(article.locator("[data-cnda]")).to_contain_text(
        "non obtenues En cours actif au CNDA — preuve INS.01.02.01 manquante"
    )
    decision = article.get_by_role("group", name=re.compile("^Décision"))
    expect(decision).to_contain_text("Référencement sans réserve impossible.")
    article.get_by_text("Référencement attribué sans réserve", exact=True).click()
    article.get_by_label("Texte de la décision").fill("Conforme au REM.")
    article.get_by_role("button", name="Enregistrer la décision").click()
    article = page.locator("article", has_text=candidature.reference)
    expect(article.locator(".fr-fieldset--error")).to_contain_text(
        "Homologations CNDA non obtenues"
    )
    screenshot(page, "procedure-cnda-refused")
    # Chromium logs any document answered 400 as a console error: this one is expected.
    page.problems.remove(
        "console : Failed to load resource: the server responded with a status of 400 (Bad Request)"
    )
    logout(page)

    # The company deposits the homologation delivered by the CNDA and declares it.
    login(page, mandataire(candidature).email, TEST_PASSWORD)
    page.goto(f"/candidatures/{candidature.pk}/")
    expect(page.locator("#cnda-phase3")).to_contain_text("Homologations CNDA non obtenues")
    page.get_by_role("link", name="Homologations CNDA du dossier de preuves").click()
    homologation = tmp_path / "homologation-dmp.pdf"
    homologation.write_bytes(corpus.pdf_bytes())
    page.get_by_label(re.compile("Preuve de l’homologation INS.01.02.01")).set_input_files(
        str(homologation)
    )
    page.get_by_role("button", name="Déposer la preuve INS.01.02.01").click()
    expect(page.get_by_role("status")).to_contain_text("Preuve INS.01.02.01 reçue")
    page.get_by_role("button", name="Déclarer les homologations CNDA certifiées").click()
    expect(page.get_by_role("status")).to_contain_text("Homologations CNDA déclarées certifiées")
    expect(page.locator("[data-cnda-status]")).to_contain_text("Certifiées — preuve acceptée")
    screenshot(page, "procedure-cnda-certified")
    logout(page)

    # Now the collège references it.
    login(page, "membre@ans.example", TEST_PASSWORD)
    page.goto(f"/college/seances/{seance.pk}/")
    expect(
        page.locator("article", has_text=candidature.reference).locator("[data-cnda]")
    ).to_contain_text("obtenues Certifiées — preuve acceptée")
    _decide(page, candidature, "Référencement attribué sans réserve", "Conforme au REM.")
    page.get_by_role("button", name="Clore la séance").click()
    page.get_by_role("button", name="Clore définitivement la séance").click()
    expect(page.get_by_role("status")).to_contain_text("Séance close")
    candidature.refresh_from_db()
    assert candidature.state == S.REFERENCEE
