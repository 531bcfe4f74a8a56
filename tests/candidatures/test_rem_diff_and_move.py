import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from candidatures.enums import ProofKind
from candidatures.models import Candidature, PreuveAttendue
from candidatures.selectors.referentiel import candidature_rem_impact, rem_diff
from candidatures.services import referentiel as services
from tests.candidatures.sheets import Row, basic_rows, rem_csv
from tests.factories import CampagneFactory, DsrFactory, EditeurFactory, UserFactory

pytestmark = pytest.mark.django_db


def _published(dsr, rows, label):
    admin = UserFactory(admin=True)
    version = services.rem_version_import(
        dsr=dsr, file=rem_csv(rows), filename="REM.csv", label=label, actor=admin
    ).version
    return services.rem_version_publish(version=version, actor=admin)


def _changed_rows():
    rows = basic_rows()
    rows[0].statement = rows[1].statement = "Le système DOIT faire autrement."
    rows[0].proofs = [("INS.01.01.01", "Vidéo montrant la saisie"), ("INS.01.01.03", "Trace")]
    rows[2].profile = "Général"
    del rows[3]  # PREC.03 removed
    rows.append(Row("NEW.04", scenario="NEW.04.01", proofs=[("NEW.04.01.01", "Vidéo")]))
    return rows


def test_rem_diff_lists_added_removed_and_changed_requirements():
    dsr = DsrFactory()
    old = _published(dsr, basic_rows(), "v1")
    new = _published(dsr, _changed_rows(), "v2")
    diff = rem_diff(old, new)
    assert diff.added == ["NEW.04"]
    assert diff.removed == ["PREC.03"]
    changes = {item.identifier: item.changes for item in diff.changed}
    assert set(changes) == {"INS.01", "DMP.02"}
    labels = {change.label: (change.before, change.after) for change in changes["INS.01"]}
    assert labels["Énoncé"] == ("Le système DOIT faire ceci.", "Le système DOIT faire autrement.")
    assert labels["Preuve INS.01.01.02"] == ("Log des appels", "")
    assert labels["Preuve INS.01.01.03"] == ("", "Trace")
    assert [(c.label, c.before, c.after) for c in changes["DMP.02"]] == [
        ("Profil", "Médecin traitant", "Général")
    ]


def test_rem_diff_sees_a_corrected_proof_kind():
    dsr = DsrFactory()
    old = _published(dsr, basic_rows(), "v1")
    new = _published(dsr, basic_rows(), "v2")
    assert rem_diff(old, new).is_empty
    preuve = PreuveAttendue.objects.get(
        scenario__exigence__rem_version=new, identifier="INS.01.01.02"
    )
    services.preuve_attendue_set_kind(
        preuve=preuve, kind=ProofKind.LIEN_RAPPORT, actor=UserFactory(admin=True)
    )
    (item,) = rem_diff(old, new).changed
    assert item.changes[0].label == "Type de la preuve INS.01.01.02"


def _candidature(dsr, version, profiles=("Général",)):
    candidature = Candidature.objects.create(
        editeur=EditeurFactory(), campagne=CampagneFactory(dsr=dsr), rem_version=version
    )
    candidature.profils.set(dsr.profils.filter(name__in=profiles))
    return candidature


def test_candidature_rem_impact_counts_the_proofs_of_its_profiles_only():
    dsr = DsrFactory()
    old = _published(dsr, basic_rows(), "v1")
    new = _published(dsr, _changed_rows(), "v2")
    candidature = _candidature(dsr, old)
    impact = candidature_rem_impact(candidature=candidature, target=new)
    # DMP.02 moves into Général: its proof comes with it. PREC.03 was never required.
    assert impact.added == [
        ("DMP.02", "DMP.02.01", "DMP.02.01.01"),
        ("INS.01", "INS.01.01", "INS.01.01.03"),
        ("NEW.04", "NEW.04.01", "NEW.04.01.01"),
    ]
    assert impact.removed == [("INS.01", "INS.01.01", "INS.01.01.02")]
    assert impact.exigences_added == ["DMP.02", "NEW.04"]
    assert impact.exigences_removed == []


def test_candidature_rem_move_applies_the_impact_that_was_shown():
    dsr = DsrFactory()
    old = _published(dsr, basic_rows(), "v1")
    new = _published(dsr, _changed_rows(), "v2")
    candidature = _candidature(dsr, old)
    instructeur = UserFactory(instructeur=True)
    impact = candidature_rem_impact(candidature=candidature, target=new)
    with pytest.raises(ValidationError, match="impact a changé"):
        services.candidature_rem_move(
            candidature=candidature, target=new, impact_digest="0" * 64, actor=instructeur
        )
    services.candidature_rem_move(
        candidature=candidature, target=new, impact_digest=impact.digest, actor=instructeur
    )
    candidature.refresh_from_db()
    assert candidature.rem_version == new


def test_candidature_rem_move_refuses_drafts_other_dsrs_and_editors():
    dsr = DsrFactory()
    old = _published(dsr, basic_rows(), "v1")
    candidature = _candidature(dsr, old)
    admin = UserFactory(admin=True)
    draft = services.rem_version_import(
        dsr=dsr, file=rem_csv(basic_rows()), filename="REM.csv", label="v2", actor=admin
    ).version
    other = _published(DsrFactory(), basic_rows(), "v1")
    for target in (draft, other, old):
        digest = candidature_rem_impact(candidature=candidature, target=target).digest
        with pytest.raises(ValidationError):
            services.candidature_rem_move(
                candidature=candidature, target=target, impact_digest=digest, actor=admin
            )
    with pytest.raises(PermissionDenied):
        services.candidature_rem_move(
            candidature=candidature,
            target=draft,
            impact_digest="x",
            actor=UserFactory(mandataire=True),
        )
