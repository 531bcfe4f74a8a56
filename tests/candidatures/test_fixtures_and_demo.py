from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from candidatures.enums import Phase, RemStatus
from candidatures.models import Campagne, Candidature, Dsr, Profil, RemVersion, Sollicitation
from candidatures.services.candidature import campagnes_open_for_filing
from college.models import Attestation, Decision, Seance
from preuves.depot import dossier
from preuves.models import DossierSoumission, ExigenceVerdict, Fichier
from segur_portal.demo import seed_demo

SPEC_DSR_CODES = {
    "BIO-SGL-Va1", "BIO-LOINC-Va1", "RAD-RIS-Va1", "HOP-RI-Va1", "HOP-DPI-Va1", "HOP-PFI-Va1",
    "MDV-LGC-Va1", "BIO-SGL-Va2", "RAD-RIS-Va2", "RAD-DRIMBOX-Va2", "HOP-DPI-Va2", "HOP-PFI-Va2",
    "MDV-LGC-Va2", "OFF-LGO-Va2",
}  # fmt: skip

pytestmark = pytest.mark.django_db


def test_fixture_holds_every_dsr_of_the_spec_with_a_mandatory_general_profile():
    call_command("loaddata", Path(settings.BASE_DIR) / "fixtures" / "referentiel.json", verbosity=0)
    assert set(Dsr.objects.values_list("code", flat=True)) == SPEC_DSR_CODES
    for dsr in Dsr.objects.all():
        assert dsr.profils.filter(name="Général", mandatory=True).exists(), dsr.code
    assert set(Profil.objects.filter(dsr__code="MDV-LGC-Va2").values_list("name", flat=True)) >= {
        "Général",
        "Médecin traitant",
        "Suivi de l'enfant",
        "Centre de santé",
        "Connexion PSC par CIBA",
    }


def test_seed_demo_loads_a_real_rem_and_campaigns_in_phase_one(
    settings, django_capture_on_commit_callbacks
):
    settings.DEBUG = True
    with django_capture_on_commit_callbacks(execute=True):
        seed_demo()
    seed_demo()
    version = RemVersion.objects.get(dsr__code="RAD-DRIMBOX-Va2")
    assert version.status == RemStatus.PUBLISHED
    assert version.exigences.count() == 230
    assert Campagne.objects.count() == 2
    for campagne in Campagne.objects.all():
        assert campagne.phase_at(timezone.now()) == Phase.IDENTIFICATION
        # No guichet without a published REM: both are open for filing.
        assert campagne.dsr.rem_versions.filter(status=RemStatus.PUBLISHED).exists()
    assert set(campagnes_open_for_filing().values_list("dsr__code", flat=True)) == {
        "RAD-DRIMBOX-Va2", "MDV-LGC-Va2",
    }  # fmt: skip
    states = sorted(Candidature.objects.values_list("state", flat=True))
    assert states == [
        "admin_soumise", "admin_soumise", "brouillon", "eligible", "en_instruction",
        "referencee", "refusee", "reserves_non_bloquantes",
    ]  # fmt: skip
    assert Sollicitation.objects.filter(status="ouverte").count() == 1
    eligible = Candidature.objects.get(state="eligible")
    assert eligible.versions_parc.exists()
    assert eligible.cnda_depot.status == "acceptee"
    # One dossier partly deposited, one complete and in instruction, with real files.
    partial = dossier(eligible)
    provided = [i for i in partial.required_items() if i.status == "fournie"]
    assert 0 < len(provided) < len(partial.required_items())
    instructed = Candidature.objects.get(state="en_instruction")
    assert not dossier(instructed).missing()
    assert instructed.instructeur.email == "instructeur@demo.segur.fr"
    assert DossierSoumission.objects.filter(candidature=instructed).count() == 1
    assert ExigenceVerdict.objects.filter(candidature=instructed, verdict="conforme").count() == 5
    kinds = set(
        Fichier.objects.filter(depots__candidature=instructed).values_list(
            "detected_mime", flat=True
        )
    )
    assert {"video/mp4", "application/pdf"} <= kinds
    names = Fichier.objects.filter(depots__candidature=instructed).values_list(
        "original_name", flat=True
    )
    assert "demonstration-DMP-AIRS.06.01.01.mp4" in names
    # Phase 3: a closed séance with its minutes; the registry and the verification page
    # show a real entry.
    seance = Seance.objects.get(status="close")
    assert seance.minutes is not None and seance.inscriptions.count() == 3
    attestation = Attestation.objects.get()
    assert attestation.sha256 and attestation.candidature.state == "referencee"
    assert Decision.objects.get(kind="reserves_non_bloquantes").reserves.count() == 2
