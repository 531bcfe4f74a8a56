"""An infected file on the deposit page, with the real worker and the real clamd: its
status in French, the signature's name, and no download link."""

import re

import pytest
from django.core.files.storage import default_storage
from playwright.sync_api import expect

from candidatures.models import CguAcceptance
from candidatures.services.onboarding import current_cgu
from preuves.enums import FichierStatus
from preuves.models import Fichier
from tests.clamav import EICAR
from tests.e2e.conftest import login
from tests.e2e.dossier_steps import proof_block, send_proof
from tests.factories import TEST_PASSWORD, company_user
from tests.preuves.dossiers import eligible_candidature

pytestmark = pytest.mark.worker

LIVE = 30_000


def test_an_infected_file_shows_its_status_and_no_link(page, celery_worker, tmp_path):
    candidature = eligible_candidature()
    editor = company_user(candidature.editeur, email="editrice@logmed.example")
    CguAcceptance.objects.create(user=editor, cgu=current_cgu())
    infected = tmp_path / "appels.log"
    infected.write_bytes(EICAR)
    try:
        login(page, editor.email, TEST_PASSWORD)
        page.goto(f"/candidatures/{candidature.pk}/preuves/")
        item = send_proof(page, "INS.01.01.02", infected)
        statut = item.locator(".fichier-statut")
        expect(statut).to_contain_text("Infectée", timeout=LIVE)
        expect(statut).to_contain_text("Eicar-Test-Signature.UNOFFICIAL")
        page.reload()
        item = proof_block(page, "INS.01.01.02")
        expect(item.locator("[data-infected]")).to_have_text("appels.log")
        expect(item.get_by_role("link", name=re.compile("appels.log"))).to_have_count(0)
        assert Fichier.objects.get().status == FichierStatus.INFECTEE
    finally:
        for fichier in Fichier.objects.all():
            default_storage.delete(fichier.storage_name)
