import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from candidatures.enums import ProofKind
from candidatures.models import Candidature, CandidatureRemMove, PreuveAttendue
from candidatures.selectors.candidature import timeline
from candidatures.selectors.referentiel import candidature_rem_impact, rem_diff
from candidatures.services import referentiel as services
from preuves.depot import dossier
from preuves.models import Depot
from segur_portal.models import Notification
from tests.candidatures.sheets import Row, basic_rows, rem_csv
from tests.factories import (
    CampagneFactory,
    DsrFactory,
    EditeurFactory,
    UserFactory,
    company_user,
)
from tests.preuves.factories import FichierFactory

pytestmark = pytest.mark.django_db
REASON = "Mise à jour du DSR publiée le 26/10."


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
            candidature=candidature, target=new, impact_digest="0" * 64, actor=instructeur,
            reason=REASON,
        )  # fmt: skip
    services.candidature_rem_move(
        candidature=candidature, target=new, impact_digest=impact.digest, actor=instructeur,
        reason=REASON,
    )  # fmt: skip
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
                candidature=candidature, target=target, impact_digest=digest, actor=admin,
                reason=REASON,
            )  # fmt: skip
    with pytest.raises(PermissionDenied):
        services.candidature_rem_move(
            candidature=candidature,
            target=draft,
            impact_digest="x",
            actor=UserFactory(mandataire=True),
            reason=REASON,
        )


# The move leaves a trace, says what it changes, and carries the deposits


def _with_deposits(candidature):
    """A deposit on every expected proof of the candidature's version."""
    member = company_user(candidature.editeur)
    for preuve in PreuveAttendue.objects.filter(
        scenario__exigence__rem_version=candidature.rem_version,
        scenario__exigence__profil__in=candidature.profils.all(),
    ).select_related("scenario__exigence"):
        Depot.objects.create(
            candidature=candidature,
            exigence=preuve.scenario.exigence,
            preuve_attendue=preuve,
            fichier=FichierFactory(
                editeur=candidature.editeur, original_name=f"{preuve.identifier}.pdf"
            ),
            deposited_by=member,
        )
    return member


def test_the_impact_lists_changed_requirements_and_the_deposits_they_concern():
    dsr = DsrFactory()
    old = _published(dsr, basic_rows(), "v1")
    new = _published(dsr, _changed_rows(), "v2")
    candidature = _candidature(dsr, old)
    _with_deposits(candidature)
    impact = candidature_rem_impact(candidature=candidature, target=new)
    # INS.01 is required by both versions; only its text changed.
    assert [item.identifier for item in impact.exigences_changed] == ["INS.01"]
    labels = [change.label for change in impact.exigences_changed[0].changes]
    assert "Énoncé" in labels
    by_proof = {depot.preuve: depot for depot in impact.depots}
    assert by_proof["INS.01.01.02"].why == "retiree"
    assert by_proof["INS.01.01.01"].why == "modifiee"
    assert by_proof["INS.01.01.01"].name == "INS.01.01.01.pdf"


def test_a_statement_change_alone_changes_the_digest():
    dsr = DsrFactory()
    old = _published(dsr, basic_rows(), "v1")
    reworded = basic_rows()
    reworded[0].statement = reworded[1].statement = "Le système DOIT le faire mieux."
    new = _published(dsr, reworded, "v2")
    candidature = _candidature(dsr, old)
    impact = candidature_rem_impact(candidature=candidature, target=new)
    assert (impact.added, impact.removed, impact.exigences_added) == ([], [], [])
    assert [item.identifier for item in impact.exigences_changed] == ["INS.01"]
    same = candidature_rem_impact(
        candidature=candidature, target=_published(dsr, basic_rows(), "v3")
    )
    assert same.digest != impact.digest


def test_the_move_is_logged_notified_and_carries_the_deposits(django_capture_on_commit_callbacks):
    dsr = DsrFactory()
    old = _published(dsr, basic_rows(), "v1")
    new = _published(dsr, _changed_rows(), "v2")
    candidature = _candidature(dsr, old)
    member = _with_deposits(candidature)
    instructeur = UserFactory(instructeur=True)
    impact = candidature_rem_impact(candidature=candidature, target=new)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.candidature_rem_move(
            candidature=candidature, target=new, impact_digest=impact.digest,
            actor=instructeur, reason=REASON,
        )  # fmt: skip
    move = CandidatureRemMove.objects.get(candidature=candidature)
    assert (move.from_version, move.to_version, move.actor, move.reason) == (
        old, new, instructeur, REASON,
    )  # fmt: skip
    assert move.impact["exigences_modifiees"]["INS.01"]
    # The history says it, to the company too.
    entries = timeline(candidature, for_agency=False)
    entry = next(e for e in entries if e.title == "Version du REM : v1 → v2")
    assert REASON in entry.text
    # Notified in the portal and by e-mail.
    notification = Notification.objects.get(recipient=member)
    assert "v1" in notification.body and "v2" in notification.body and REASON in notification.body
    assert any("Nouvelle version du REM" in message.subject for message in mail.outbox)
    # Kept proofs follow their requirement; a dropped one stays on the old version.
    depots = {d.preuve_attendue.identifier: d for d in candidature.depots.select_related(
        "preuve_attendue__scenario__exigence__rem_version")}  # fmt: skip
    assert depots["INS.01.01.01"].preuve_attendue.scenario.exigence.rem_version == new
    assert depots["INS.01.01.02"].preuve_attendue.scenario.exigence.rem_version == old
    candidature.refresh_from_db()
    provided = {item.identifier for item in dossier(candidature).items if item.depots}
    assert "INS.01.01.01" in provided


def test_a_move_needs_a_reason():
    dsr = DsrFactory()
    old = _published(dsr, basic_rows(), "v1")
    new = _published(dsr, _changed_rows(), "v2")
    candidature = _candidature(dsr, old)
    digest = candidature_rem_impact(candidature=candidature, target=new).digest
    with pytest.raises(ValidationError) as error:
        services.candidature_rem_move(
            candidature=candidature, target=new, impact_digest=digest,
            actor=UserFactory(instructeur=True), reason="   ",
        )  # fmt: skip
    assert "reason" in error.value.message_dict
    candidature.refresh_from_db()
    assert candidature.rem_version == old
    assert not CandidatureRemMove.objects.exists()


def test_the_move_page_asks_the_reason_at_the_field(client):
    dsr = DsrFactory()
    old = _published(dsr, basic_rows(), "v1")
    new = _published(dsr, _changed_rows(), "v2")
    candidature = _candidature(dsr, old)
    _with_deposits(candidature)
    client.force_login(UserFactory(instructeur=True))
    url = reverse("candidatures:rem_move", args=[candidature.pk])
    page = client.get(url, {"version": new.pk})
    html = page.content.decode()
    assert "Exigences modifiées" in html
    assert "INS.01.01.01.pdf" in html
    response = client.post(url, {"version": new.pk, "digest": page.context["impact"].digest})
    assert response.status_code == 422
    assert response.context["form"].errors["reason"]
    candidature.refresh_from_db()
    assert candidature.rem_version == old


def test_the_administration_shows_the_moves_of_a_candidature(client):
    dsr = DsrFactory()
    old = _published(dsr, basic_rows(), "v1")
    new = _published(dsr, _changed_rows(), "v2")
    candidature = _candidature(dsr, old)
    digest = candidature_rem_impact(candidature=candidature, target=new).digest
    services.candidature_rem_move(
        candidature=candidature, target=new, impact_digest=digest,
        actor=UserFactory(instructeur=True), reason=REASON,
    )  # fmt: skip
    client.force_login(UserFactory(admin=True))
    page = client.get(reverse("admin:candidatures_candidature_change", args=[candidature.pk]))
    assert page.status_code == 200
    assert REASON in page.content.decode()
