"""Phase 3 at the service layer: convention, séances, decisions, réserves, attestation."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.utils import timezone

from candidatures.enums import CandidatureState
from candidatures.models import Candidature
from college import services
from college.enums import AttestationStatus, DecisionKind, ReserveStatus, SeanceStatus
from college.models import Attestation, Convention, Decision, Inscription, Seance, SeanceMembre
from preuves import instruction
from preuves.cnda import cnda_certify, cnda_proof_deposit, cnda_state
from preuves.depot import dossier
from preuves.enums import FichierStatus
from preuves.models import Fichier
from segur_portal.models import Notification
from tests.college.phase3 import (
    CNDA_PROOF,
    mandataire,
    on_agenda,
    open_seance_with,
    seance_today,
    signature,
    signed_candidature,
    validated_candidature,
)
from tests.college.test_documents import pdf_text
from tests.factories import UserFactory, company_user
from tests.preuves import samples
from tests.preuves.dossiers import upload

pytestmark = pytest.mark.django_db
S = CandidatureState
R = services.ReserveInput


def _titles(candidature):
    return list(
        Notification.objects.filter(recipient__editeur=candidature.editeur).values_list(
            "title", flat=True
        )
    )


# Convention


def test_closing_the_instruction_issues_the_convention(django_capture_on_commit_callbacks):
    candidature = validated_candidature()
    type(candidature).objects.filter(pk=candidature.pk).update(state=S.EN_INSTRUCTION)
    candidature.refresh_from_db()
    for _key, _title, blocks in dossier(candidature).sections:
        for block in blocks:
            instruction.verdict_record(candidature=candidature, exigence=block.exigence,
                                       verdict="conforme", comment="", actor=candidature.instructeur)  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        instruction.instruction_close(candidature=candidature, actor=candidature.instructeur)
    candidature.refresh_from_db()
    assert candidature.state == S.CONVENTION_ENVOYEE
    convention = Convention.objects.get(candidature=candidature)
    assert convention.document.detected_mime == "application/pdf"
    assert convention.sha256 == convention.document.sha256 and len(convention.sha256) == 64
    assert any("Convention de référencement à signer" in t for t in _titles(candidature))


def test_issuing_is_for_the_agency_and_happens_once():
    candidature = validated_candidature()
    with pytest.raises(PermissionDenied):
        services.convention_issue(candidature=candidature, actor=mandataire(candidature))
    first = services.convention_issue(candidature=candidature, actor=candidature.instructeur)
    candidature.refresh_from_db()
    again = services.convention_issue(candidature=candidature, actor=candidature.instructeur)
    assert first == again and Convention.objects.count() == 1


def test_signing_checks_identity_consent_and_the_document():
    candidature = validated_candidature()
    convention = services.convention_issue(candidature=candidature, actor=candidature.instructeur)
    signer = mandataire(candidature)
    with pytest.raises(ValidationError) as refused:
        services.convention_sign(
            convention=convention,
            actor=signer,
            signature=signature(convention, password="pas le bon", consent=False),
        )
    assert set(refused.value.message_dict) == {"password", "consent"}
    with pytest.raises(ValidationError, match="émise de nouveau"):
        services.convention_sign(
            convention=convention,
            actor=signer,
            signature=signature(convention, document_sha256="0" * 64),
        )
    salarie = company_user(candidature.editeur, company_role="salarie")
    with pytest.raises(PermissionDenied):
        services.convention_sign(
            convention=convention, actor=salarie, signature=signature(convention)
        )
    convention.refresh_from_db()
    assert not convention.is_signed
    candidature.refresh_from_db()
    assert candidature.state == S.CONVENTION_ENVOYEE


def test_the_signed_convention_states_what_was_issued_even_if_the_company_changed(tmp_path):
    candidature = validated_candidature()
    issued_name = candidature.editeur.raison_sociale
    convention = services.convention_issue(candidature=candidature, actor=candidature.instructeur)
    type(candidature.editeur).objects.filter(pk=candidature.editeur_id).update(
        raison_sociale="Nouveau Nom SAS"
    )
    signed = services.convention_sign(
        convention=convention, actor=mandataire(candidature), signature=signature(convention)
    )
    with default_storage.open(signed.signed_document.storage_name) as stored:
        text = pdf_text(stored.read(), tmp_path)
    assert issued_name in text and "Nouveau Nom SAS" not in text


def test_the_declared_legal_representative_may_sign_even_as_a_salarie():
    candidature = validated_candidature()
    representative = company_user(
        candidature.editeur, company_role="salarie", email=candidature.editeur.representant_email
    )
    assert services.can_sign_convention(representative, candidature)


def test_signing_records_the_signature_and_puts_the_candidature_on_the_next_seance():
    now = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # a Tuesday
    candidature = validated_candidature()
    convention = services.convention_issue(
        candidature=candidature, actor=candidature.instructeur, now=now
    )
    signer = mandataire(candidature)
    signed = services.convention_sign(
        convention=convention,
        actor=signer,
        signature=signature(convention, ip="192.0.2.10", user_agent="Firefox"),
        now=now,
    )
    assert (signed.signed_by, signed.signed_at, signed.signed_ip) == (signer, now, "192.0.2.10")
    assert signed.signed_sha256 == convention.sha256
    assert candidature.editeur.raison_sociale in signed.consent_text
    assert signed.signed_document.sha256 != convention.sha256  # it carries the signature block
    candidature.refresh_from_db()
    assert candidature.state == S.CONVENTION_SIGNEE
    inscription = Inscription.objects.get(candidature=candidature)
    # Séances on Thursdays at 14:00 Paris: Thursday 3 December 2026.
    assert inscription.seance.date == date(2026, 12, 3)
    assert inscription.signed_at == now
    with pytest.raises(ValidationError):
        services.convention_sign(
            convention=convention, actor=signer, signature=signature(convention)
        )


# Séances


def test_seances_are_planned_weekly_ahead_and_moved_off_public_holidays(settings):
    settings.COLLEGE_WEEKDAY = 3
    settings.COLLEGE_WEEKS_AHEAD = 3
    # Thursday 14 May 2026 is Ascension Day: that week's séance is on Friday 15 May.
    now = datetime(2026, 5, 11, 8, 0, tzinfo=UTC)
    assert services.seances_plan(now=now) == 3
    assert services.seances_plan(now=now) == 0
    assert list(Seance.objects.values_list("date", flat=True)) == [
        date(2026, 5, 15), date(2026, 5, 21), date(2026, 5, 28),
    ]  # fmt: skip
    first = Seance.objects.first()
    assert timezone.localtime(first.starts_at).hour == 14


def test_opening_lists_the_members_and_brings_the_agenda_before_the_college():
    candidature = signed_candidature()
    seance = seance_today()
    on_agenda(seance, candidature)
    present, absent = UserFactory(college=True), UserFactory(college=True)
    with pytest.raises(ValidationError):
        services.seance_open(seance=seance, actor=present, present_ids=[])
    services.seance_open(seance=seance, actor=present, present_ids=[present.pk])
    assert dict(SeanceMembre.objects.values_list("user_id", "present")) == {
        present.pk: True,
        absent.pk: False,
    }
    candidature.refresh_from_db()
    assert candidature.state == S.EN_COLLEGE
    with pytest.raises(PermissionDenied):
        services.seance_open(seance=seance, actor=candidature.instructeur, present_ids=[present.pk])


def test_a_seance_opens_on_its_day_only():
    future = Seance.objects.create(
        date=timezone.localdate() + timedelta(days=3),
        starts_at=timezone.now() + timedelta(days=3),
    )
    member = UserFactory(college=True)
    with pytest.raises(ValidationError, match="le jour prévu"):
        services.seance_open(seance=future, actor=member, present_ids=[member.pk])


def test_a_seance_opens_from_its_start_time_not_hours_early_nor_days_late():
    # Thursday 3 December 2026 at 14:00 Paris (13:00 UTC).
    seance = Seance.objects.create(
        date=date(2026, 12, 3), starts_at=datetime(2026, 12, 3, 13, 0, tzinfo=UTC)
    )
    member = UserFactory(college=True)
    for too_early in (
        datetime(2026, 12, 2, 13, 0, tzinfo=UTC),  # the day before
        datetime(2026, 12, 3, 2, 0, tzinfo=UTC),  # 03:00 Paris on its day: 11 hours early
        datetime(2026, 12, 3, 12, 59, tzinfo=UTC),
    ):
        with pytest.raises(ValidationError, match="à partir du jeudi 3 décembre 2026 à 14:00"):
            services.seance_open(seance=seance, actor=member, present_ids=[member.pk],
                                 now=too_early)  # fmt: skip
    with pytest.raises(ValidationError, match="n’a pas été ouverte le jour prévu"):
        services.seance_open(seance=seance, actor=member, present_ids=[member.pk],
                             now=datetime(2026, 12, 3, 23, 0, tzinfo=UTC))  # fmt: skip
    services.seance_open(seance=seance, actor=member, present_ids=[member.pk],
                         now=datetime(2026, 12, 3, 13, 0, tzinfo=UTC))  # fmt: skip
    seance.refresh_from_db()
    assert seance.status == SeanceStatus.OUVERTE


def test_a_seance_not_opened_on_its_day_passes_its_agenda_to_the_next(settings):
    settings.COLLEGE_WEEKDAY = 3
    candidature = signed_candidature(now=datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    inscription = Inscription.objects.get(candidature=candidature)
    assert inscription.seance.date == date(2026, 12, 3)
    # Friday 4 December, Paris: Thursday's séance was never opened.
    friday = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
    assert services.seances_sweep(now=datetime(2026, 12, 3, 22, 0, tzinfo=UTC)) == 0
    assert services.seances_sweep(now=friday) == 1
    assert services.seances_sweep(now=friday) == 0
    inscription.refresh_from_db()
    assert inscription.seance.status == SeanceStatus.NON_TENUE
    assert "Séance du 03/12/2026 non tenue" in inscription.deferred_reason
    carried = Inscription.objects.exclude(pk=inscription.pk).get(candidature=candidature)
    assert carried.seance.date == date(2026, 12, 10) and carried.carried_over
    assert carried.carried_over_reason == inscription.deferred_reason
    candidature.refresh_from_db()
    assert candidature.state == S.CONVENTION_SIGNEE


def test_a_decision_needs_the_quorum_of_members_present_without_conflict(settings):
    settings.COLLEGE_QUORUM = 2
    candidature = signed_candidature()
    seance, (first, second) = open_seance_with(candidature, members=2)
    inscription = seance.inscriptions.get()
    assert services.deciders(inscription) == 2
    # A member who declares a conflict does not count for this candidature.
    services.conflict_declare(inscription=inscription, actor=second)
    assert services.deciders(inscription) == 1
    with pytest.raises(ValidationError, match="Quorum non atteint : 1 membre présent sans"):
        services.decision_record(inscription=inscription, actor=first, kind="sans_reserve",
                                 text="Conforme.", reserves=[])  # fmt: skip
    assert not Decision.objects.exists()
    late = UserFactory(college=True)
    SeanceMembre.objects.create(seance=seance, user=late, present=False)
    services.seance_presence_set(seance=seance, actor=first, user_id=late.pk, present=True)
    services.decision_record(inscription=inscription, actor=first, kind="sans_reserve",
                             text="Conforme.", reserves=[])  # fmt: skip
    assert Decision.objects.filter(inscription=inscription).exists()


def test_without_quorum_at_the_closing_the_candidatures_are_carried_over_with_the_reason(
    django_capture_on_commit_callbacks,
):
    decided, undecided = signed_candidature(), signed_candidature()
    now = timezone.now()
    seance, (first, second) = open_seance_with(decided, undecided, members=2, now=now)
    by = {i.candidature_id: i for i in seance.inscriptions.all()}
    services.decision_record(inscription=by[decided.pk], actor=first, kind="sans_reserve",
                             text="Conforme.", reserves=[])  # fmt: skip
    # The second member leaves: nobody can decide any more, even what was recorded.
    services.seance_presence_set(seance=seance, actor=first, user_id=second.pk, present=False)
    _close(seance, first, django_capture_on_commit_callbacks, now=now)
    for candidature in (decided, undecided):
        candidature.refresh_from_db()
        assert candidature.state == S.CONVENTION_SIGNEE
        old = Inscription.objects.get(seance=seance, candidature=candidature)
        assert old.deferred_reason.startswith("Quorum non atteint en séance du ")
        assert ": 1 membre présent sans conflit d’intérêts" in old.deferred_reason
        new = Inscription.objects.exclude(seance=seance).get(candidature=candidature)
        assert new.carried_over and new.carried_over_reason == old.deferred_reason
        assert new.seance.status == SeanceStatus.PLANIFIEE
    assert not Attestation.objects.exists()
    assert Decision.objects.get(inscription=by[decided.pk]).notified_at is None
    seance.refresh_from_db()
    assert seance.status == SeanceStatus.CLOSE


def test_a_seance_everybody_left_still_closes_and_carries_its_agenda_over(
    django_capture_on_commit_callbacks,
):
    candidature = signed_candidature()
    seance, (first, second) = open_seance_with(candidature, members=2)
    for member in (first, second):
        services.seance_presence_set(seance=seance, actor=first, user_id=member.pk, present=False)
    _close(seance, first, django_capture_on_commit_callbacks)
    candidature.refresh_from_db()
    assert candidature.state == S.CONVENTION_SIGNEE
    assert (
        candidature.transitions.filter(name="carry_over")
        .get()
        .reason.endswith(
            ": aucun membre présent sans conflit d’intérêts sur cette candidature, il en faut 2 ; aucune décision ne pouvait être prise."
        )
    )


def test_decisions_are_checked_before_anything_is_recorded():
    candidature = signed_candidature()
    seance, (member, *_) = open_seance_with(candidature)
    inscription = seance.inscriptions.get()
    cases = [
        (DecisionKind.SANS_RESERVE, "", [], "text", "Écrivez le texte de la décision"),
        (DecisionKind.SANS_RESERVE, "Conforme.", [R("Corriger X", [])], "reserves", "aucune réserve"),
        (DecisionKind.RESERVES_NON_BLOQUANTES, "À corriger.", [], "reserves", "au moins une"),
        (DecisionKind.RESERVES_BLOQUANTES, "Refus.", [R("INS absent", ["XX.99"])], "reserves",
         "Réserve 1 : XX.99 ne figure pas dans le REM"),
        ("peut-etre", "?", [], "kind", "l’une des trois décisions"),
    ]  # fmt: skip
    for kind, text, reserves, field, words in cases:
        with pytest.raises(ValidationError) as refused:
            services.decision_record(
                inscription=inscription, actor=member, kind=kind, text=text, reserves=reserves
            )
        assert words in " ".join(refused.value.message_dict[field]), (kind, refused.value)
    assert not Decision.objects.exists()


def test_a_member_with_a_conflict_or_absent_does_not_record_the_decision():
    candidature = signed_candidature()
    seance, (present, other, third) = open_seance_with(candidature, members=3)
    absent = UserFactory(college=True)
    SeanceMembre.objects.create(seance=seance, user=absent, present=False)
    inscription = seance.inscriptions.get()
    services.conflict_declare(inscription=inscription, actor=present, note="Ancien employeur")
    with pytest.raises(PermissionDenied, match="conflit d’intérêts"):
        services.decision_record(
            inscription=inscription, actor=present, kind="sans_reserve", text="Ok", reserves=[]
        )
    with pytest.raises(ValidationError, match="membres présents"):
        services.decision_record(
            inscription=inscription, actor=absent, kind="sans_reserve", text="Ok", reserves=[]
        )
    services.decision_record(
        inscription=inscription, actor=other, kind="sans_reserve", text="Conforme.", reserves=[]
    )
    # Whoever recorded it cannot then claim a conflict on it.
    with pytest.raises(ValidationError):
        services.conflict_declare(inscription=inscription, actor=other)


def test_recording_again_replaces_the_reserves():
    candidature = signed_candidature()
    seance, (member, *_) = open_seance_with(candidature)
    inscription = seance.inscriptions.get()
    for reserves in ([R("Première", ["INS.01"]), R("Deuxième", [])], [R("Seule", ["GAZ.05"])]):
        decision = services.decision_record(
            inscription=inscription,
            actor=member,
            kind=DecisionKind.RESERVES_NON_BLOQUANTES,
            text="À corriger.",
            reserves=reserves,
        )
    assert [
        (r.text, [e.identifier for e in r.exigences.all()]) for r in decision.reserves.all()
    ] == [("Seule", ["GAZ.05"])]


def _close(seance, member, django_capture_on_commit_callbacks, now=None):
    with django_capture_on_commit_callbacks(execute=True):
        return services.seance_close(seance=seance, actor=member, now=now)


def test_closing_applies_and_notifies_every_decision(django_capture_on_commit_callbacks):
    referenced, reserved, refused, undecided = (signed_candidature() for _ in range(4))
    now = timezone.now()
    seance, (member, *_) = open_seance_with(referenced, reserved, refused, undecided, now=now)
    by = {i.candidature_id: i for i in seance.inscriptions.all()}
    services.decision_record(inscription=by[referenced.pk], actor=member,
                             kind="sans_reserve", text="Conforme au REM.", reserves=[])  # fmt: skip
    services.decision_record(
        inscription=by[reserved.pk], actor=member, kind="reserves_non_bloquantes",
        text="Deux corrections mineures.", reserves=[R("Afficher l’INS", ["INS.01"])],
    )  # fmt: skip
    services.decision_record(
        inscription=by[refused.pk], actor=member, kind="reserves_bloquantes",
        text="Le DMP n’est pas alimenté.", reserves=[R("Alimentation du DMP absente", [])],
    )  # fmt: skip
    _close(seance, member, django_capture_on_commit_callbacks, now=now)

    states = dict(Candidature.objects.values_list("pk", "state"))
    assert states[referenced.pk] == S.REFERENCEE
    assert states[reserved.pk] == S.RESERVES_NON_BLOQUANTES
    assert states[refused.pk] == S.REFUSEE
    assert states[undecided.pk] == S.CONVENTION_SIGNEE
    # The undecided one waits for the next séance.
    carried = Inscription.objects.exclude(seance=seance).get(candidature=undecided)
    assert carried.carried_over and carried.seance.date > seance.date
    attestation = Attestation.objects.get(candidature=referenced)
    assert re.fullmatch(r"SEGUR-MDV-T\d+-VA2-\d{4}-00001", attestation.numero)
    assert attestation.fichier and attestation.sha256 == attestation.fichier.sha256
    decision = Decision.objects.get(inscription__candidature=reserved)
    assert decision.notified_at == now
    assert decision.reserves_due_at == services.deadline_after_calendar_days(now, 28)
    seance.refresh_from_db()
    assert seance.status == SeanceStatus.CLOSE and seance.minutes is not None
    assert any("Logiciel référencé" in t for t in _titles(referenced))
    assert any("Réserves non bloquantes à lever" in t for t in _titles(reserved))
    body = Notification.objects.filter(
        recipient__editeur=refused.editeur, title__startswith="Référencement refusé"
    ).values_list("body", flat=True)
    assert any(
        "Le DMP n’est pas alimenté." in b and "Alimentation du DMP absente" in b for b in body
    )
    # Closed: nothing changes any more.
    with pytest.raises(ValidationError):
        services.decision_record(
            inscription=by[undecided.pk], actor=member, kind="sans_reserve", text="x", reserves=[]
        )
    with pytest.raises(ValidationError):
        services.conflict_declare(inscription=by[undecided.pk], actor=member)
    with pytest.raises(ValidationError):
        services.seance_close(seance=seance, actor=member)


# Réserves non bloquantes


def _reserved(django_capture_on_commit_callbacks, count=2, now=None, cnda_pending=False):
    now = now or timezone.now()
    candidature = signed_candidature(now=now, cnda_pending=cnda_pending)
    seance, (member, *_) = open_seance_with(candidature, now=now)
    services.decision_record(
        inscription=seance.inscriptions.get(),
        actor=member,
        kind="reserves_non_bloquantes",
        text="Corrections mineures.",
        reserves=[R(f"Réserve {n}", ["INS.01"]) for n in range(1, count + 1)],
        now=now,
    )
    _close(seance, member, django_capture_on_commit_callbacks, now=now)
    candidature.refresh_from_db()
    return candidature, Decision.objects.get(inscription__candidature=candidature)


def test_answering_every_reserve_submits_the_lifting_and_lifting_all_references(
    django_capture_on_commit_callbacks,
):
    candidature, decision = _reserved(django_capture_on_commit_callbacks)
    first, second = decision.reserves.all()
    editor = mandataire(candidature)
    with pytest.raises(ValidationError) as refused:
        services.reserve_answer(reserve=first, actor=editor, comment=" ", uploads=[])
    assert set(refused.value.message_dict) == {"comment", "fichiers"}
    services.reserve_answer(
        reserve=first, actor=editor, comment="Corrigé en 4.2.2.",
        uploads=[upload("correction.pdf", samples.pdf_bytes())],
    )  # fmt: skip
    candidature.refresh_from_db()
    assert candidature.state == S.RESERVES_NON_BLOQUANTES  # one still to answer
    services.reserve_answer(
        reserve=second, actor=editor, comment="Corrigé aussi.",
        uploads=[upload("capture.png", samples.png_bytes())],
    )  # fmt: skip
    candidature.refresh_from_db()
    assert candidature.state == S.LEVEE_SOUMISE
    instructeur = candidature.instructeur
    with pytest.raises(PermissionDenied):
        services.reserve_lift(reserve=first, actor=editor)
    # An insufficient answer goes back to the editor, who answers again.
    services.reserve_return(reserve=second, actor=instructeur, comment="La capture est floue.")
    candidature.refresh_from_db()
    second.refresh_from_db()
    assert (candidature.state, second.status) == (S.RESERVES_NON_BLOQUANTES, ReserveStatus.A_LEVER)
    services.reserve_answer(
        reserve=second, actor=editor, comment="Capture nette.",
        uploads=[upload("capture-nette.png", samples.png_bytes())],
    )  # fmt: skip
    services.reserve_lift(reserve=first, actor=instructeur)
    with django_capture_on_commit_callbacks(execute=True):
        services.reserve_lift(reserve=second, actor=instructeur)
    candidature.refresh_from_db()
    assert candidature.state == S.REFERENCEE
    attestation = Attestation.objects.get(candidature=candidature)
    assert attestation.sha256
    assert any("Réserves levées" in t for t in _titles(candidature))


def test_answers_are_refused_after_the_deadline(django_capture_on_commit_callbacks):
    candidature, decision = _reserved(django_capture_on_commit_callbacks, count=1)
    with pytest.raises(ValidationError, match="délai de levée des réserves a expiré"):
        services.reserve_answer(
            reserve=decision.reserves.get(),
            actor=mandataire(candidature),
            comment="Trop tard.",
            uploads=[upload("c.pdf", samples.pdf_bytes())],
            now=decision.reserves_due_at,
        )


def test_the_sweep_reminds_twice_then_refuses_at_the_deadline(django_capture_on_commit_callbacks):
    candidature, decision = _reserved(django_capture_on_commit_callbacks, count=1)
    due = decision.reserves_due_at
    half = services.halfway(decision.notified_at, due)
    assert services.reserves_sweep(now=half - timedelta(minutes=1)) == 0
    assert services.reserves_sweep(now=half) == 1
    assert services.reserves_sweep(now=half + timedelta(hours=1)) == 0
    assert services.reserves_sweep(now=due - timedelta(days=7)) == 1
    assert services.reserves_sweep(now=due - timedelta(days=6)) == 0
    reminders = [t for t in _titles(candidature) if t.startswith("Réserves à lever jusqu’au")]
    assert len(reminders) == 2 * candidature.editeur.members.count()
    assert services.reserves_sweep(now=due) == 1
    assert services.reserves_sweep(now=due + timedelta(minutes=1)) == 0
    candidature.refresh_from_db()
    assert candidature.state == S.REFUSEE
    assert "4 semaines" in candidature.closed_reason


def test_answers_in_time_are_not_refused_by_the_sweep_but_by_the_instructor(
    django_capture_on_commit_callbacks,
):
    candidature, decision = _reserved(django_capture_on_commit_callbacks, count=1)
    services.reserve_answer(
        reserve=decision.reserves.get(), actor=mandataire(candidature), comment="Corrigé.",
        uploads=[upload("c.pdf", samples.pdf_bytes())],
    )  # fmt: skip
    # The sweep only tells the instructor (see below): it does not refuse.
    services.reserves_sweep(now=decision.reserves_due_at + timedelta(days=1))
    candidature.refresh_from_db()
    assert candidature.state == S.LEVEE_SOUMISE
    with pytest.raises(ValidationError, match="court encore"):
        services.levee_refuse(candidature=candidature, actor=candidature.instructeur, reason="Non")
    services.levee_refuse(
        candidature=candidature,
        actor=candidature.instructeur,
        reason="La correction ne couvre pas l’exigence INS.01.",
        now=decision.reserves_due_at + timedelta(days=1),
    )
    candidature.refresh_from_db()
    assert candidature.state == S.REFUSEE


def _stuck(django_capture_on_commit_callbacks, **kwargs):
    """Left by a lost race before the candidature was locked: every réserve lifted, the
    candidature still « levée soumise »."""
    candidature, decision = _reserved(django_capture_on_commit_callbacks, **kwargs)
    for reserve in decision.reserves.all():
        services.reserve_answer(reserve=reserve, actor=mandataire(candidature), comment="Corrigé.",
                                uploads=[upload("c.pdf", samples.pdf_bytes())])  # fmt: skip
    decision.reserves.update(
        status=ReserveStatus.LEVEE, lifted_at=timezone.now(), lifted_by=candidature.instructeur
    )
    candidature.refresh_from_db()
    assert candidature.state == S.LEVEE_SOUMISE
    return candidature, decision


def test_the_sweep_references_a_lifting_whose_reserves_are_all_lifted_once(
    django_capture_on_commit_callbacks,
):
    candidature, decision = _stuck(django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.reserves_sweep(now=timezone.now()) == 1
    assert services.reserves_sweep(now=timezone.now()) == 0
    candidature.refresh_from_db()
    assert candidature.state == S.REFERENCEE
    attestation = Attestation.objects.get(candidature=candidature)
    assert attestation.sha256  # rendered after the commit
    grant = candidature.transitions.get(name="grant_referencing")
    assert grant.actor == candidature.instructeur and "balayage" in grant.reason
    assert any("Réserves levées" in t for t in _titles(candidature))


def test_the_sweep_waits_for_the_cnda_homologations_before_referencing_a_lifting(
    django_capture_on_commit_callbacks,
):
    candidature, decision = _stuck(django_capture_on_commit_callbacks, cnda_pending=True)
    assert services.reserves_sweep(now=timezone.now()) == 0
    candidature.refresh_from_db()
    assert candidature.state == S.LEVEE_SOUMISE
    _cnda_certify(candidature, django_capture_on_commit_callbacks)
    assert services.reserves_sweep(now=timezone.now()) == 1
    candidature.refresh_from_db()
    assert candidature.state == S.REFERENCEE


def test_the_sweep_tells_the_instructor_once_that_a_submitted_lifting_waits_past_its_deadline(
    django_capture_on_commit_callbacks,
):
    candidature, decision = _reserved(django_capture_on_commit_callbacks, count=1)
    services.reserve_answer(reserve=decision.reserves.get(), actor=mandataire(candidature),
                            comment="Corrigé.", uploads=[upload("c.pdf", samples.pdf_bytes())])  # fmt: skip
    due = decision.reserves_due_at
    assert services.reserves_sweep(now=due - timedelta(minutes=1)) == 0
    assert services.reserves_sweep(now=due) == 1
    assert services.reserves_sweep(now=due + timedelta(days=1)) == 0
    candidature.refresh_from_db()
    assert candidature.state == S.LEVEE_SOUMISE  # answered in time: never refused by the clock
    assert (
        Notification.objects.filter(
            recipient=candidature.instructeur, title__startswith="Levée des réserves à instruire"
        ).count()
        == 1
    )


def test_the_sweep_reopens_a_lifting_whose_reserve_waits_for_an_answer_again(
    django_capture_on_commit_callbacks,
):
    candidature, decision = _stuck(django_capture_on_commit_callbacks, count=2)
    decision.reserves.filter(position=2).update(status=ReserveStatus.A_LEVER)
    assert services.reserves_sweep(now=timezone.now()) == 1
    candidature.refresh_from_db()
    assert candidature.state == S.RESERVES_NON_BLOQUANTES


# CNDA homologations « en cours actif » at J6 (DSR §4.4)


def _cnda_certify(candidature, django_capture_on_commit_callbacks):
    """The company deposits the homologation's proof (checked) and declares it obtained."""
    member = mandataire(candidature)
    (item,) = cnda_state(candidature).items
    with django_capture_on_commit_callbacks(execute=True):
        cnda_proof_deposit(candidature=candidature, item=item, actor=member,
                           uploads=[upload("homologation.pdf", samples.pdf_bytes())])  # fmt: skip
    cnda_certify(candidature=candidature, actor=member)
    candidature.refresh_from_db()


def test_sans_reserve_is_refused_until_the_cnda_homologations_are_obtained(
    django_capture_on_commit_callbacks,
):
    candidature = signed_candidature(cnda_pending=True)
    seance, (member, *_) = open_seance_with(candidature)
    inscription = seance.inscriptions.get()
    with pytest.raises(ValidationError) as refused:
        services.decision_record(inscription=inscription, actor=member, kind="sans_reserve",
                                 text="Conforme au REM.", reserves=[])  # fmt: skip
    assert "Homologations CNDA non obtenues (En cours actif au CNDA — preuve INS.01.02.01 " in (
        " ".join(refused.value.message_dict["kind"])
    )
    assert not Decision.objects.exists()
    # Delivered during the séance: the collège may now reference.
    _cnda_certify(candidature, django_capture_on_commit_callbacks)
    services.decision_record(inscription=inscription, actor=member, kind="sans_reserve",
                             text="Conforme au REM.", reserves=[])  # fmt: skip
    _close(seance, member, django_capture_on_commit_callbacks)
    candidature.refresh_from_db()
    assert candidature.state == S.REFERENCEE
    assert Attestation.objects.filter(candidature=candidature).exists()


def test_the_last_reserve_is_not_lifted_while_the_cnda_homologations_are_pending(
    django_capture_on_commit_callbacks,
):
    candidature, decision = _reserved(
        django_capture_on_commit_callbacks, count=1, cnda_pending=True
    )
    reserve = decision.reserves.get()
    services.reserve_answer(reserve=reserve, actor=mandataire(candidature), comment="Corrigé.",
                            uploads=[upload("c.pdf", samples.pdf_bytes())])  # fmt: skip
    with pytest.raises(ValidationError, match="Dernière réserve.*Homologations CNDA non obtenues"):
        services.reserve_lift(reserve=reserve, actor=candidature.instructeur)
    reserve.refresh_from_db()
    candidature.refresh_from_db()
    assert (reserve.status, candidature.state) == (ReserveStatus.REPONSE_SOUMISE, S.LEVEE_SOUMISE)
    _cnda_certify(candidature, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        services.reserve_lift(reserve=reserve, actor=candidature.instructeur)
    candidature.refresh_from_db()
    assert candidature.state == S.REFERENCEE


def test_a_sans_reserve_decision_whose_cnda_proof_no_longer_stands_is_carried_over(
    django_capture_on_commit_callbacks,
):
    candidature = signed_candidature()
    seance, (member, *_) = open_seance_with(candidature)
    inscription = seance.inscriptions.get()
    services.decision_record(inscription=inscription, actor=member, kind="sans_reserve",
                             text="Conforme au REM.", reserves=[])  # fmt: skip
    # A later check finds a virus in the homologation's proof before the séance closes.
    Fichier.objects.filter(
        depots__candidature=candidature, depots__preuve_attendue__identifier=CNDA_PROOF
    ).update(status=FichierStatus.INFECTEE, virus_signature="Eicar-Test-Signature")
    _close(seance, member, django_capture_on_commit_callbacks)
    candidature.refresh_from_db()
    assert candidature.state == S.CONVENTION_SIGNEE
    assert not Attestation.objects.filter(candidature=candidature).exists()
    inscription.refresh_from_db()
    assert "Homologations CNDA non obtenues" in inscription.deferred_reason
    carried = Inscription.objects.exclude(seance=seance).get(candidature=candidature)
    assert carried.carried_over and carried.carried_over_reason == inscription.deferred_reason
    transition = candidature.transitions.filter(name="carry_over").get()
    assert transition.reason == inscription.deferred_reason


# Attestation and déréférencement


def test_numbers_follow_each_other_per_dsr_and_year_and_are_never_given_twice():
    assert services.numero_prefix("MDV-LGC-Va2", 2026) == "SEGUR-MDV-LGC-VA2-2026"
    numbers = [services.numero_allocate(dsr_code="MDV-LGC-Va2", year=2026) for _ in range(3)]
    assert numbers == [f"SEGUR-MDV-LGC-VA2-2026-0000{n}" for n in (1, 2, 3)]
    assert services.numero_allocate(dsr_code="MDV-LGC-Va2", year=2027).endswith("2027-00001")
    assert services.numero_allocate(dsr_code="RAD-DRIMBOX-Va2", year=2026).endswith("-00001")


def test_dereferencing_withdraws_the_attestation_with_its_reason(
    django_capture_on_commit_callbacks,
):
    candidature = signed_candidature()
    seance, (member, *_) = open_seance_with(candidature)
    services.decision_record(inscription=seance.inscriptions.get(), actor=member,
                             kind="sans_reserve", text="Conforme.", reserves=[])  # fmt: skip
    _close(seance, member, django_capture_on_commit_callbacks)
    candidature.refresh_from_db()
    with pytest.raises(PermissionDenied):
        services.candidature_dereference(candidature=candidature, actor=member, reason="x")
    admin = UserFactory(admin=True)
    with pytest.raises(ValidationError):
        services.candidature_dereference(candidature=candidature, actor=admin, reason=" ")
    services.candidature_dereference(
        candidature=candidature, actor=admin, reason="Défaut de sécurité non corrigé."
    )
    candidature.refresh_from_db()
    attestation = candidature.attestation
    assert candidature.state == S.DEREFERENCEE
    assert attestation.status == AttestationStatus.RETIREE
    assert attestation.withdrawn_reason == "Défaut de sécurité non corrigé."
    assert any("Logiciel déréférencé" in t for t in _titles(candidature))
