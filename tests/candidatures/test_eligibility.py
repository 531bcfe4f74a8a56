from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from candidatures.enums import CandidatureState
from candidatures.parc import model_csv
from candidatures.services import eligibility as services
from preuves.enums import FichierStatus
from tests.factories import (
    CandidatureFactory,
    ProfilFactory,
    UserFactory,
    company_user,
    siret_with_check_digit,
)
from tests.preuves import samples
from tests.preuves.factories import FichierFactory

pytestmark = pytest.mark.django_db
S = CandidatureState


def _data(candidature, **overrides):
    data = {
        "nie": "NIE-0042",
        "nil": "NIL-4242",
        "groupement": False,
        "distribue": False,
        "profils": [],
    }
    data.update(overrides)
    return data


def _save(
    candidature, actor=None, *, composants=(), membres=(), distributeurs=(), uploads=None, **data
):
    return services.eligibility_save(
        candidature=candidature,
        actor=actor or company_user(candidature.editeur),
        data=_data(candidature, **data),
        composants=list(composants),
        membres=list(membres),
        distributeurs=list(distributeurs),
        uploads=uploads or {},
    )


def _parc(candidature, content: bytes = None, name="parc.csv"):
    upload = SimpleUploadedFile(name, content or model_csv(), content_type="text/csv")
    return services.parc_upload(
        candidature=candidature, actor=company_user(candidature.editeur), upload=upload
    )


def _complete(candidature):
    """Everything the form needs, with files already checked and accepted."""
    candidature.cnda_depot = FichierFactory(accepted=True, editeur=candidature.editeur)
    candidature.lettre_engagement = FichierFactory(accepted=True, editeur=candidature.editeur)
    candidature.nie, candidature.nil = "NIE-0042", "NIL-4242"
    candidature.save()
    _parc(candidature)


def test_eligibility_save_keeps_general_whatever_is_chosen():
    candidature = CandidatureFactory(admin_validee=True)
    extra = ProfilFactory(dsr=candidature.dsr, name="Médecin traitant")
    _save(candidature, profils=[extra])
    assert set(candidature.profils.values_list("name", flat=True)) == {
        "Général",
        "Médecin traitant",
    }
    _save(candidature, profils=[])
    assert set(candidature.profils.values_list("name", flat=True)) == {"Général"}


def test_profiles_are_frozen_once_eligibility_is_submitted():
    candidature = CandidatureFactory(admin_validee=True)
    _complete(candidature)
    services.candidature_submit_eligibility(
        candidature=candidature, actor=company_user(candidature.editeur)
    )
    candidature.refresh_from_db()
    assert services.profiles_frozen(candidature)
    with pytest.raises(ValidationError, match="plus modifiable"):
        _save(candidature, profils=[ProfilFactory(dsr=candidature.dsr, name="Autre")])


def test_eligibility_not_editable_before_the_administrative_validation():
    with pytest.raises(ValidationError):
        _save(CandidatureFactory(admin_soumise=True))


def test_eligibility_save_only_by_the_company():
    candidature = CandidatureFactory(admin_validee=True)
    with pytest.raises(PermissionDenied):
        _save(candidature, actor=UserFactory(mandataire=True))


def test_eligibility_save_stores_uploaded_files_for_checking(django_capture_on_commit_callbacks):
    candidature = CandidatureFactory(admin_validee=True)
    with django_capture_on_commit_callbacks(execute=True):
        _save(
            candidature,
            uploads={
                "cnda_depot": SimpleUploadedFile("depot.png", samples.png_bytes()),
                "lettre_engagement": SimpleUploadedFile("lettre.pdf", b"<html>pas un PDF</html>"),
            },
        )
    candidature.refresh_from_db()
    assert candidature.cnda_depot.status == FichierStatus.ACCEPTEE
    assert candidature.lettre_engagement.status == FichierStatus.REFUSEE
    missing = services.eligibility_missing(candidature)
    assert any("lettre d’engagement signée : fichier refusé" in item for item in missing)


def test_distributors_and_groupement_members_are_saved():
    candidature = CandidatureFactory(admin_validee=True)
    member_siret = siret_with_check_digit("7328293200007")
    _save(
        candidature,
        groupement=True,
        distribue=True,
        composants=[
            {
                "editeur_nom": "Composants SA",
                "nom_commercial": "DMP Connect",
                "version": "2.1",
                "nil": "NIL-77",
                "service_socle": "dmp",
            }  # fmt: skip
        ],
        membres=[{"raison_sociale": "Partenaire SAS", "siret": member_siret}],
        distributeurs=[
            {
                "raison_sociale": "Distrib SA",
                "siret": member_siret,
                "mandat_signe_le": date(2026, 1, 1),
                "mandat_fin_le": date(2027, 1, 1),
            }  # fmt: skip
        ],
    )
    candidature.refresh_from_db()
    assert candidature.composants.get().service_socle == "dmp"
    assert candidature.distributeurs.get().raison_sociale == "Distrib SA"
    missing = services.eligibility_missing(candidature)
    assert "le mandat de Partenaire SAS : fichier à déposer" in missing


def test_parc_upload_publishes_the_versions():
    candidature = CandidatureFactory(admin_validee=True)
    parsed = _parc(candidature)
    assert parsed.ok
    candidature.refresh_from_db()
    assert candidature.parc_received_at is not None
    assert candidature.versions_parc.count() == len(parsed.versions) > 0


def test_parc_upload_with_errors_changes_nothing():
    candidature = CandidatureFactory(admin_validee=True)
    _parc(candidature)
    before = list(candidature.versions_parc.values_list("version_technique", flat=True))
    bad = "N° de version technique;Nom de version commerciale\n4.0;MédiLog\n".encode()
    parsed = _parc(candidature, bad)
    assert not parsed.ok
    assert "Colonne obligatoire absente" in parsed.errors[0].message
    assert list(candidature.versions_parc.values_list("version_technique", flat=True)) == before


def test_submit_eligibility_lists_what_is_missing():
    candidature = CandidatureFactory(admin_validee=True)
    with pytest.raises(ValidationError) as error:
        services.candidature_submit_eligibility(
            candidature=candidature, actor=company_user(candidature.editeur)
        )
    message = error.value.messages[0]
    for expected in ["le NIE", "le NIL", "attestation de dépôt", "lettre d’engagement",
                     "liste des versions du parc client"]:  # fmt: skip
        assert expected in message


def test_submit_eligibility_waits_for_files_still_being_checked():
    candidature = CandidatureFactory(admin_validee=True)
    _complete(candidature)
    candidature.cnda_depot = FichierFactory(editeur=candidature.editeur)
    candidature.save()
    assert candidature.cnda_depot.status == FichierStatus.EN_VERIFICATION
    with pytest.raises(ValidationError, match="vérification du fichier en cours"):
        services.candidature_submit_eligibility(
            candidature=candidature, actor=company_user(candidature.editeur)
        )


def test_submit_eligibility_refused_from_j4_on():
    candidature = CandidatureFactory(admin_validee=True)
    _complete(candidature)
    with pytest.raises(ValidationError, match="J4"):
        services.candidature_submit_eligibility(
            candidature=candidature,
            actor=company_user(candidature.editeur),
            now=candidature.campagne.j4,
        )


def test_submit_then_validate_eligibility_opens_the_proof_space():
    candidature = CandidatureFactory(admin_validee=True)
    _complete(candidature)
    services.candidature_submit_eligibility(
        candidature=candidature, actor=company_user(candidature.editeur)
    )
    services.candidature_validate_eligibility(
        candidature=candidature, actor=UserFactory(instructeur=True)
    )
    candidature.refresh_from_db()
    assert candidature.state == S.ELIGIBLE
    assert candidature.eligible_at is not None
    assert [t.to_state for t in candidature.transitions.all()] == [
        S.ELIGIBILITE_SOUMISE,
        S.ELIGIBLE,
    ]


def test_wave_1_flags_only_for_wave_1_software():
    candidature = CandidatureFactory(admin_validee=True)
    _save(candidature, v1_audit_non_conformite=True)
    candidature.refresh_from_db()
    assert not candidature.v1_audit_non_conformite
    v1 = CandidatureFactory(admin_validee=True, numero_referencement_v1="SEGUR-V1-00042")
    _save(v1, v1_audit_non_conformite=True)
    v1.refresh_from_db()
    assert v1.v1_audit_non_conformite and v1.wave_1_perimetre_applies
