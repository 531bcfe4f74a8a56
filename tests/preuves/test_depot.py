from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from candidatures.enums import CandidatureState
from candidatures.models import Candidature, Exigence, Profil
from preuves import depot as services
from preuves.enums import FichierStatus
from preuves.models import Depot, DossierSoumission
from tests.factories import UserFactory, company_user
from tests.preuves import samples
from tests.preuves.dossiers import deposit_everything, eligible_candidature, upload

pytestmark = pytest.mark.django_db
S = CandidatureState


def _item(candidature, identifier):
    return next(i for i in services.dossier(candidature).items if i.identifier == identifier)


def test_dossier_lists_the_required_items_of_the_chosen_profiles():
    candidature = eligible_candidature()
    dossier = services.dossier(candidature)
    assert [item.identifier for item in dossier.items] == [
        "INS.01.01.01",
        "INS.01.01.02",
        "INS.01.02.01",
        "GAZ.05.01.01",
        "SSI.07",
    ]
    # Préconisations never; other profiles only when chosen.
    candidature.profils.add(Profil.objects.get(dsr=candidature.dsr, name="Médecin traitant"))
    assert "DMP.02.01.01" in [item.identifier for item in services.dossier(candidature).items]


def test_dossier_adds_the_wave_1_perimetre_when_the_declarations_call_for_it():
    candidature = eligible_candidature()
    Exigence.objects.filter(rem_version=candidature.rem_version, identifier="SSI.07").update(
        perimetre="vague_1"
    )
    assert "SSI.07" not in [i.identifier for i in services.dossier(candidature).items]
    Candidature.objects.filter(pk=candidature.pk).update(
        numero_referencement_v1="SEGUR-V1-42", v1_audit_non_conformite=True
    )
    candidature.refresh_from_db()
    assert "SSI.07" in [i.identifier for i in services.dossier(candidature).items]


def test_dossier_runs_a_fixed_number_of_queries(django_assert_num_queries):
    small = eligible_candidature()
    deposit_everything(small)
    with django_assert_num_queries(5) as small_queries:
        len(services.dossier(small).items)
    from tests.candidatures.sheets import Row
    from tests.preuves.dossiers import published_rem

    rows = [
        Row(f"R.{n:03}", scenario=f"R.{n:03}.01", proofs=[(f"R.{n:03}.01.01", "Vidéo")])
        for n in range(120)
    ]
    version = published_rem(rows=rows)
    from tests.factories import CandidatureFactory

    big = CandidatureFactory(eligible=True, campagne__dsr=version.dsr, rem_version=version)
    deposit_everything(big)
    with django_assert_num_queries(len(small_queries.captured_queries)):
        assert len(services.dossier(big).items) == 120


def test_add_files_stores_them_for_checking(django_capture_on_commit_callbacks):
    candidature = eligible_candidature()
    member = company_user(candidature.editeur)
    item = _item(candidature, "INS.01.01.01")
    with django_capture_on_commit_callbacks(execute=True):
        depots = services.depot_add_files(
            candidature=candidature,
            item=item,
            uploads=[
                upload("saisie.png", samples.png_bytes()),
                upload("faux.png", samples.HTML_PAGE),
            ],
            actor=member,
        )
    statuses = sorted(Depot.objects.get(pk=d.pk).fichier.status for d in depots)
    assert statuses == [FichierStatus.ACCEPTEE, FichierStatus.REFUSEE]
    assert _item(candidature, "INS.01.01.01").status == "fournie"


def test_add_files_refuses_a_file_over_the_kind_limit():
    candidature = eligible_candidature()
    item = _item(candidature, "INS.01.01.02")  # a log: 1 Mo
    with pytest.raises(ValidationError, match="1 Mo"):
        services.depot_add_files(
            candidature=candidature,
            item=item,
            uploads=[upload("trace.log", b"x" * (2**20 + 1))],
            actor=company_user(candidature.editeur),
        )
    assert not Depot.objects.exists()


def test_a_report_link_must_be_https_and_only_for_that_kind():
    candidature = eligible_candidature()
    member = company_user(candidature.editeur)
    gazelle = _item(candidature, "GAZ.05.01.01")
    with pytest.raises(ValidationError):
        services.depot_add_link(
            candidature=candidature, item=gazelle, url="http://x.example", actor=member
        )
    services.depot_add_link(
        candidature=candidature, item=gazelle, url="https://gazelle.example/r/1", actor=member
    )
    assert _item(candidature, "GAZ.05.01.01").status == "fournie"
    with pytest.raises(ValidationError):
        services.depot_add_link(
            candidature=candidature,
            item=_item(candidature, "INS.01.01.01"),
            url="https://x.example",
            actor=member,
        )


def test_remove_keeps_the_deposit_on_record():
    candidature = eligible_candidature()
    member = company_user(candidature.editeur)
    deposit_everything(candidature, member)
    depot = Depot.objects.filter(candidature=candidature).first()
    services.depot_remove(depot=depot, actor=member)
    depot.refresh_from_db()
    assert depot.removed_at is not None and depot.removed_by == member
    assert len(services.dossier(candidature).missing()) == 1


def test_deposits_are_for_the_company_only():
    candidature = eligible_candidature()
    with pytest.raises(PermissionDenied):
        services.depot_add_files(
            candidature=candidature,
            item=_item(candidature, "INS.01.01.01"),
            uploads=[upload("a.png", samples.png_bytes())],
            actor=UserFactory(mandataire=True),
        )


def test_deposits_close_at_j6_before_submission():
    candidature = eligible_candidature()
    with pytest.raises(ValidationError, match="J6"):
        services.depot_add_files(
            candidature=candidature,
            item=_item(candidature, "INS.01.01.01"),
            uploads=[upload("a.png", samples.png_bytes())],
            actor=company_user(candidature.editeur),
            now=candidature.campagne.j6,
        )


def test_submit_requires_every_required_item_with_an_accepted_file():
    candidature = eligible_candidature()
    member = company_user(candidature.editeur)
    with pytest.raises(ValidationError, match="5 preuve"):
        services.dossier_submit(candidature=candidature, actor=member)
    deposit_everything(candidature, member)
    refused = Depot.objects.get(preuve_attendue__identifier="INS.01.01.02").fichier
    refused.status, refused.refusal_reason = FichierStatus.REFUSEE, "Format refusé."
    refused.save()
    with pytest.raises(ValidationError, match="1 preuve.*INS.01.01.02"):
        services.dossier_submit(candidature=candidature, actor=member)
    assert _item(candidature, "INS.01.01.02").status == "refusee"


def test_submit_accepts_missing_cnda_homologations_when_in_progress():
    candidature = eligible_candidature()
    member = company_user(candidature.editeur)
    deposit_everything(candidature, member)
    Depot.objects.filter(preuve_attendue__identifier="INS.01.02.01").delete()
    with pytest.raises(ValidationError, match="INS.01.02.01"):
        services.dossier_submit(candidature=candidature, actor=member)
    Candidature.objects.filter(pk=candidature.pk).update(cnda_homologation="en_cours_actif")
    candidature.refresh_from_db()
    services.dossier_submit(candidature=candidature, actor=member)
    candidature.refresh_from_db()
    assert candidature.state == S.DOSSIER_SOUMIS


def test_submit_refuses_without_a_cnda_status():
    candidature = eligible_candidature()
    Candidature.objects.filter(pk=candidature.pk).update(cnda_homologation="non_depose")
    candidature.refresh_from_db()
    deposit_everything(candidature)
    with pytest.raises(ValidationError, match="certifié"):
        services.dossier_submit(candidature=candidature, actor=company_user(candidature.editeur))


def test_submit_records_the_reception_and_the_manifest(django_capture_on_commit_callbacks):
    candidature = eligible_candidature()
    member = company_user(candidature.editeur)
    deposit_everything(candidature, member)
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        soumission = services.dossier_submit(candidature=candidature, actor=member, now=now)
    candidature.refresh_from_db()
    assert candidature.dossier_submitted_at == now
    assert len(soumission.manifest) == 5
    files = [entry for entry in soumission.manifest if entry["fichier"]]
    assert all(len(entry["sha256"]) == 64 and entry["taille"] > 0 for entry in files)
    soumission = DossierSoumission.objects.get(pk=soumission.pk)
    assert soumission.receipt.detected_mime == "application/pdf"
    assert soumission.receipt.status == FichierStatus.ACCEPTEE


def test_submit_refused_from_j6_on():
    candidature = eligible_candidature()
    deposit_everything(candidature)
    with pytest.raises(ValidationError, match="J6"):
        services.dossier_submit(
            candidature=candidature,
            actor=company_user(candidature.editeur),
            now=candidature.campagne.j6,
        )


def test_sweep_closes_eligible_candidatures_not_submitted_by_j6():
    candidature = eligible_candidature()
    j6 = candidature.campagne.j6
    assert services.candidatures_close_unsubmitted(now=j6 - timedelta(seconds=1)) == 0
    assert services.candidatures_close_unsubmitted(now=j6) == 1
    assert services.candidatures_close_unsubmitted(now=j6 + timedelta(minutes=1)) == 0
    candidature.refresh_from_db()
    assert candidature.state == S.REJETEE
    assert "J6" in candidature.closed_reason
