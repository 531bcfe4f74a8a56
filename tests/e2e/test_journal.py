"""A company reads its candidature's history, downloads the inclusion proofs of its
events and checks them against the roots the portal publishes; a visitor reads the
published digests and the registry's changes."""

import json
from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from candidatures.services import candidature as candidature_services
from candidatures.services.sollicitation import sollicitation_message_send, sollicitation_open
from segur_portal.journal import journal_sweep
from segur_portal.journal_format import sha256_hex, verify_inclusion
from tests.college.phase3 import mandataire
from tests.e2e.conftest import login, screenshot
from tests.factories import TEST_PASSWORD, CandidatureFactory, UserFactory


def test_a_company_checks_its_events_against_the_published_roots(page, tmp_path):
    candidature = CandidatureFactory(
        admin_soumise=True,
        nom_commercial="JournaLog",
        editeur__raison_sociale="Éditeur Chaîné SAS",
    )
    instructeur = UserFactory(instructeur=True)
    sollicitation = sollicitation_open(
        candidature=candidature, actor=instructeur, text="Joignez l’extrait Kbis, svp."
    )
    member = mandataire(candidature)
    sollicitation_message_send(
        sollicitation=sollicitation, actor=member, text="Le voici, à jour de ce mois."
    )
    candidature_services.candidature_validate_admin(candidature=candidature, actor=instructeur)
    # The night's sweep: today closed, timestamped by the local authority.
    journal_sweep(now=timezone.now() + timedelta(days=1))

    login(page, member.email, TEST_PASSWORD)
    page.goto(f"/candidatures/{candidature.pk}/")
    page.get_by_role("link", name="Historique complet et preuves d’inclusion").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Historique de la candidature {candidature.reference}"
    )
    history = page.locator(".portal-timeline")
    expect(history).to_contain_text("Sollicitation de l’ANS")
    expect(history).to_contain_text("Le voici, à jour de ce mois.")
    expect(history).to_contain_text("Agence du Numérique en Santé")
    screenshot(page, "journal-historique")

    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger les preuves d’inclusion").click()
    proofs = json.loads(download.value.path().read_text())
    assert proofs["candidature"] == candidature.reference and proofs["pending"] == []

    page.goto("/registre/journal/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("empreintes quotidiennes")
    expect(page.get_by_role("table")).to_contain_text("jeton RFC 3161")
    screenshot(page, "journal-empreintes")
    published = json.loads(page.request.get("/registre/journal.json").text())
    roots = {digest["day"]: digest["root"] for digest in published["digests"]}
    for proof in proofs["proofs"]:
        assert sha256_hex(proof["entry"].encode()) == proof["hash"]
        assert verify_inclusion(
            entry_hash=proof["hash"],
            leaf_index=proof["leaf_index"],
            tree_size=proof["tree_size"],
            path=proof["audit_path"],
            root=roots[proof["day"]],
        )

    page.goto("/registre/evolutions/")
    expect(page.get_by_role("table")).to_contain_text(
        "Candidature publiée en cours de référencement"
    )
    expect(page.get_by_role("table")).to_contain_text("JournaLog")
    screenshot(page, "journal-evolutions-registre")
