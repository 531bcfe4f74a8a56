import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage

from candidatures.enums import Nature, Perimetre, ProofKind, RemStatus
from candidatures.models import Exigence, PreuveAttendue, Profil, RemVersion, Scenario
from candidatures.services import referentiel as services
from tests.candidatures.sheets import Row, basic_rows, rem_csv
from tests.factories import DsrFactory, UserFactory

pytestmark = pytest.mark.django_db


def _import(dsr, rows=None, label="v1", actor=None, **kwargs):
    return services.rem_version_import(
        dsr=dsr,
        file=rem_csv(rows or basic_rows()),
        filename="REM.csv",
        label=label,
        actor=actor or UserFactory(admin=True),
        **kwargs,
    )


def test_rem_version_import_saves_a_draft_with_its_content():
    dsr = DsrFactory()
    result = _import(dsr)
    version = result.version
    assert version.status == RemStatus.DRAFT
    assert [e.identifier for e in version.exigences.order_by("position")] == [
        "INS.01",
        "DMP.02",
        "PREC.03",
    ]
    ins = version.exigences.get(identifier="INS.01")
    assert list(ins.scenarios.values_list("identifier", flat=True)) == ["INS.01.01", "INS.01.02"]
    proofs = PreuveAttendue.objects.filter(scenario__exigence=ins).order_by(
        "scenario__position", "position"
    )
    assert [(p.identifier, p.kind) for p in proofs] == [
        ("INS.01.01.01", ProofKind.VIDEO_CAPTURE),
        ("INS.01.01.02", ProofKind.FICHIER),
        ("INS.01.02.01", ProofKind.JUSTIFICATIF),
    ]
    assert version.exigences.get(identifier="PREC.03").nature == Nature.PRECONISATION
    assert ins.perimetre == Perimetre.VAGUE_2


def test_rem_version_import_keeps_the_source_file_and_its_hash():
    result = _import(DsrFactory())
    version = result.version
    content = rem_csv(basic_rows()).getvalue()
    import hashlib

    assert version.source_sha256 == hashlib.sha256(content).hexdigest()
    assert version.source_size == len(content)
    assert version.source_name == "REM.csv"
    with default_storage.open(version.source_file.name) as stored:
        assert stored.read() == content


def test_rem_version_import_creates_unknown_profiles_with_a_warning():
    dsr = DsrFactory()
    version = _import(dsr).version
    assert set(dsr.profils.values_list("name", flat=True)) == {"Général", "Médecin traitant"}
    assert any("Médecin traitant" in warning for warning in version.warnings)
    assert dsr.profils.get(name="Général").mandatory


def test_rem_version_import_matches_profiles_whatever_the_spelling():
    dsr = DsrFactory()
    rows = [Row("A.01", profile="GENERAL"), Row("A.02", profile="général")]
    version = _import(dsr, rows).version
    assert Profil.objects.filter(dsr=dsr).count() == 1
    assert set(version.exigences.values_list("profil__name", flat=True)) == {"Général"}


def test_rem_version_import_with_an_error_saves_nothing():
    dsr = DsrFactory()
    rows = [Row("A.01", statement="Premier énoncé"), Row("A.01", statement="Autre énoncé")]
    result = _import(dsr, rows)
    assert result.version is None
    assert result.parsed.errors
    assert RemVersion.objects.count() == 0
    assert Exigence.objects.count() == 0
    assert Scenario.objects.count() == 0


def test_rem_version_import_refuses_a_file_over_20_mo():
    dsr = DsrFactory()
    big = io.BytesIO(b"x" * (services.MAX_REM_FILE_BYTES + 1))
    result = services.rem_version_import(
        dsr=dsr, file=big, filename="gros.csv", label="v1", actor=UserFactory(admin=True)
    )
    assert result.version is None
    assert "20 Mo" in result.parsed.errors[0].message


def test_rem_version_import_refuses_a_label_already_used():
    dsr = DsrFactory()
    _import(dsr, label="v1.0")
    with pytest.raises(ValidationError) as error:
        _import(dsr, label="V1.0")
    assert "label" in error.value.message_dict


@pytest.mark.parametrize("trait", ["instructeur", "college", "mandataire"])
def test_rem_version_import_is_for_administrators(trait):
    with pytest.raises(PermissionDenied):
        _import(DsrFactory(), actor=UserFactory(**{trait: True}))


def test_rem_version_publish_then_never_again():
    admin = UserFactory(admin=True)
    version = _import(DsrFactory()).version
    services.rem_version_publish(version=version, actor=admin)
    version.refresh_from_db()
    assert version.status == RemStatus.PUBLISHED
    assert version.published_by == admin
    assert version.published_on is not None
    with pytest.raises(ValidationError):
        services.rem_version_publish(version=version, actor=admin)


def test_rem_version_discard_deletes_a_draft_and_its_file(django_capture_on_commit_callbacks):
    version = _import(DsrFactory()).version
    name = version.source_file.name
    with django_capture_on_commit_callbacks(execute=True):
        services.rem_version_discard(version=version, actor=UserFactory(admin=True))
    assert not RemVersion.objects.exists()
    assert not Exigence.objects.exists()
    assert not default_storage.exists(name)


def test_rem_version_discard_keeps_a_published_version():
    admin = UserFactory(admin=True)
    version = _import(DsrFactory()).version
    services.rem_version_publish(version=version, actor=admin)
    with pytest.raises(ValidationError):
        services.rem_version_discard(version=version, actor=admin)
    assert RemVersion.objects.filter(pk=version.pk).exists()


def test_preuve_attendue_set_kind_records_who_corrected_it():
    admin = UserFactory(admin=True)
    version = _import(DsrFactory()).version
    preuve = PreuveAttendue.objects.get(
        scenario__exigence__rem_version=version, identifier="INS.01.01.02"
    )
    services.preuve_attendue_set_kind(preuve=preuve, kind=ProofKind.LIEN_RAPPORT, actor=admin)
    preuve.refresh_from_db()
    assert (preuve.kind, preuve.kind_corrected_by) == (ProofKind.LIEN_RAPPORT, admin)
    with pytest.raises(ValidationError):
        services.preuve_attendue_set_kind(preuve=preuve, kind="inconnu", actor=admin)
    with pytest.raises(PermissionDenied):
        services.preuve_attendue_set_kind(
            preuve=preuve, kind=ProofKind.FICHIER, actor=UserFactory(instructeur=True)
        )
