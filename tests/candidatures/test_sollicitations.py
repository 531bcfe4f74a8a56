"""Sollicitations and their clocks, with explicit instants (Paris time in comments)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from candidatures.enums import CandidatureState, SollicitationPhase, SollicitationStatus
from candidatures.models import Candidature, Sollicitation
from candidatures.selectors.candidature import sollicitation_clocks
from candidatures.services import sollicitation as services
from candidatures.services.sollicitation import sollicitations_sweep
from segur_portal.models import Notification
from tests.factories import CampagneFactory, CandidatureFactory, UserFactory, company_user

pytestmark = pytest.mark.django_db
S = CandidatureState

# Friday 4 December 2026, 16:00 in Paris: the spec's example.
FRIDAY_4_DEC_16H = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
# 5 working days later: the end of Friday 11 December 2026 (24:00 Paris).
END_OF_FRIDAY_11_DEC = datetime(2026, 12, 11, 23, 0, tzinfo=UTC)


def _campaign():
    """Jalons far enough that only the 5-working-day clock matters."""
    j1 = datetime(2026, 11, 2, 8, tzinfo=UTC)
    return CampagneFactory(
        j1=j1,
        j2=datetime(2026, 11, 30, 13, tzinfo=UTC),
        j3=datetime(2027, 1, 29, 22, 59, tzinfo=UTC),
        j4=datetime(2027, 2, 12, 22, 59, tzinfo=UTC),
        j5=datetime(2027, 3, 12, 22, 59, tzinfo=UTC),
        j6=datetime(2027, 5, 14, 21, 59, tzinfo=UTC),
        j7=datetime(2027, 7, 9, 21, 59, tzinfo=UTC),
    )


def _open(candidature, now=FRIDAY_4_DEC_16H):
    return services.sollicitation_open(
        candidature=candidature,
        actor=UserFactory(instructeur=True),
        text="Merci de préciser le NIL du composant principal.",
        now=now,
    )


def test_sollicitation_open_stores_its_deadlines():
    candidature = CandidatureFactory(admin_soumise=True, campagne=_campaign())
    sollicitation = _open(candidature)
    assert sollicitation.phase == SollicitationPhase.ADMINISTRATIVE
    assert sollicitation.due_at == END_OF_FRIDAY_11_DEC
    assert sollicitation.closes_at == candidature.campagne.j3


def test_sollicitation_open_tells_the_company_the_deadline(django_capture_on_commit_callbacks):
    candidature = CandidatureFactory(admin_soumise=True, campagne=_campaign())
    member = company_user(candidature.editeur)
    with django_capture_on_commit_callbacks(execute=True):
        _open(candidature)
    notification = Notification.objects.get(recipient=member)
    assert (
        "Répondez dans le portail jusqu’au vendredi 11 décembre 2026 inclus." in notification.body
    )
    assert "la candidature sera rejetée" in notification.body
    assert {m.to[0] for m in mail.outbox} >= {member.email, candidature.editeur.contact_email}


def test_sollicitation_open_only_on_a_submitted_candidature_by_the_agency():
    with pytest.raises(ValidationError):
        _open(CandidatureFactory(campagne=_campaign()))
    with pytest.raises(PermissionDenied):
        services.sollicitation_open(
            candidature=CandidatureFactory(admin_soumise=True),
            actor=UserFactory(mandataire=True),
            text="x",
        )


def test_sollicitation_open_refused_after_the_jalon_closing_the_phase():
    campagne = _campaign()
    candidature = CandidatureFactory(admin_soumise=True, campagne=campagne)
    with pytest.raises(ValidationError, match="J3"):
        _open(candidature, now=campagne.j3)


def test_one_open_sollicitation_at_a_time():
    candidature = CandidatureFactory(admin_soumise=True, campagne=_campaign())
    _open(candidature)
    with pytest.raises(ValidationError, match="attend déjà"):
        _open(candidature)


def test_answer_stops_the_clock(django_capture_on_commit_callbacks):
    candidature = CandidatureFactory(admin_soumise=True, campagne=_campaign())
    sollicitation = _open(candidature)
    member = company_user(candidature.editeur)
    with django_capture_on_commit_callbacks(execute=True):
        services.sollicitation_answer(
            sollicitation=sollicitation,
            actor=member,
            text="Le NIL est 4242.",
            now=END_OF_FRIDAY_11_DEC - timedelta(seconds=1),
        )
    sollicitation.refresh_from_db()
    assert sollicitation.status == SollicitationStatus.REPONDUE
    assert Notification.objects.filter(recipient=sollicitation.opened_by).exists()
    assert sollicitations_sweep(now=END_OF_FRIDAY_11_DEC + timedelta(days=10)) == 0
    candidature.refresh_from_db()
    assert candidature.state == S.ADMIN_SOUMISE


def test_answer_refused_at_the_deadline_even_before_the_sweep():
    candidature = CandidatureFactory(admin_soumise=True, campagne=_campaign())
    sollicitation = _open(candidature)
    with pytest.raises(ValidationError, match="n’attend plus de réponse"):
        services.sollicitation_answer(
            sollicitation=sollicitation,
            actor=company_user(candidature.editeur),
            text="Trop tard",
            now=END_OF_FRIDAY_11_DEC,
        )


def test_answer_only_by_the_company():
    candidature = CandidatureFactory(admin_soumise=True, campagne=_campaign())
    sollicitation = _open(candidature)
    with pytest.raises(PermissionDenied):
        services.sollicitation_answer(
            sollicitation=sollicitation, actor=UserFactory(mandataire=True), text="x"
        )


# The phase-1 clock: 5 working days, then rejection


def test_sweep_does_nothing_one_second_before_the_deadline():
    candidature = CandidatureFactory(admin_soumise=True, campagne=_campaign())
    _open(candidature)
    sollicitations_sweep(now=END_OF_FRIDAY_11_DEC - timedelta(seconds=1))
    candidature.refresh_from_db()
    assert candidature.state == S.ADMIN_SOUMISE


def test_sweep_rejects_at_the_deadline_once(django_capture_on_commit_callbacks):
    candidature = CandidatureFactory(admin_soumise=True, campagne=_campaign())
    member = company_user(candidature.editeur)
    sollicitation = _open(candidature)
    with django_capture_on_commit_callbacks(execute=True):
        sollicitations_sweep(now=END_OF_FRIDAY_11_DEC)
        sollicitations_sweep(now=END_OF_FRIDAY_11_DEC + timedelta(minutes=1))
    candidature.refresh_from_db()
    sollicitation.refresh_from_db()
    assert candidature.state == S.REJETEE
    assert "5 jours ouvrés" in candidature.closed_reason
    assert "jusqu’au vendredi 11 décembre 2026 inclus" in candidature.closed_reason
    assert sollicitation.status == SollicitationStatus.EXPIREE
    (transition,) = candidature.transitions.all()
    assert transition.actor is None
    rejected = Notification.objects.filter(
        recipient=member, title__startswith="Candidature rejetée"
    )
    assert rejected.count() == 1


def test_sweep_after_an_outage_still_rejects_with_the_legal_deadline_as_reason():
    candidature = CandidatureFactory(admin_soumise=True, campagne=_campaign())
    _open(candidature)
    sollicitations_sweep(now=END_OF_FRIDAY_11_DEC + timedelta(days=3))
    candidature.refresh_from_db()
    assert candidature.state == S.REJETEE
    assert "qui courait jusqu’au vendredi 11 décembre 2026 inclus" in candidature.closed_reason


def test_the_jalon_closes_exchanges_without_rejecting_when_it_comes_first():
    campagne = _campaign()
    campagne.j3 = datetime(2026, 12, 8, 22, 59, tzinfo=UTC)  # Tuesday 8 Dec 23:59 Paris
    campagne.save()
    candidature = CandidatureFactory(admin_soumise=True, campagne=campagne)
    sollicitation = _open(candidature)
    sollicitations_sweep(now=campagne.j3)
    sollicitation.refresh_from_db()
    candidature.refresh_from_db()
    assert sollicitation.status == SollicitationStatus.EXPIREE
    assert candidature.state == S.ADMIN_SOUMISE


def test_reminders_at_half_time_and_on_the_last_day_once_each():
    candidature = CandidatureFactory(admin_soumise=True, campagne=_campaign())
    member = company_user(candidature.editeur)
    sollicitation = _open(candidature)
    reminders = Notification.objects.filter(recipient=member, title__contains="ANS attend")
    # Half-time: Tuesday 8 December 08:00 Paris.
    sollicitations_sweep(now=datetime(2026, 12, 8, 6, 59, tzinfo=UTC))
    assert reminders.count() == 0
    sollicitations_sweep(now=datetime(2026, 12, 8, 7, 0, tzinfo=UTC))
    sollicitations_sweep(now=datetime(2026, 12, 8, 7, 5, tzinfo=UTC))
    assert reminders.count() == 1
    last_day = Notification.objects.filter(recipient=member, title__startswith="Dernier jour")
    # Last working day: Friday 11 December from 00:00 Paris.
    sollicitations_sweep(now=datetime(2026, 12, 10, 22, 59, tzinfo=UTC))
    assert last_day.count() == 0
    sollicitations_sweep(now=datetime(2026, 12, 10, 23, 0, tzinfo=UTC))
    sollicitations_sweep(now=datetime(2026, 12, 11, 9, 0, tzinfo=UTC))
    assert last_day.count() == 1
    sollicitation.refresh_from_db()
    assert sollicitation.reminder_half_sent_at and sollicitation.reminder_last_sent_at


def test_a_sweep_down_through_both_reminders_sends_only_the_last():
    candidature = CandidatureFactory(admin_soumise=True, campagne=_campaign())
    member = company_user(candidature.editeur)
    _open(candidature)
    sollicitations_sweep(now=datetime(2026, 12, 11, 10, 0, tzinfo=UTC))
    titles = list(Notification.objects.filter(recipient=member).values_list("title", flat=True))
    reminders = [t.split(" — ")[0] for t in titles if t.startswith(("Rappel", "Dernier"))]
    assert reminders == ["Dernier jour pour répondre à l’ANS"]


def test_clock_shown_from_stored_instants_even_if_the_sweep_is_late():
    candidature = CandidatureFactory(admin_soumise=True, campagne=_campaign())
    sollicitation = _open(candidature)
    wednesday = datetime(2026, 12, 9, 9, 0, tzinfo=UTC)
    (clock,) = sollicitation_clocks(sollicitation, wednesday)
    assert clock.label == "3 jours ouvrés restants — jusqu’au vendredi 11 décembre 2026 inclus"
    (late,) = sollicitation_clocks(sollicitation, END_OF_FRIDAY_11_DEC + timedelta(hours=2))
    assert late.overdue
    assert late.label.startswith(
        "Délai expiré (il courait jusqu’au vendredi 11 décembre 2026 inclus)"
    )


# The instruction clocks: 24 h, 5 days, 30 days


def _instruction_candidature():
    candidature = CandidatureFactory(eligible=True, campagne=_campaign())
    Candidature.objects.filter(pk=candidature.pk).update(state=S.EN_INSTRUCTION)
    candidature.refresh_from_db()
    return candidature


def test_instruction_sollicitation_deprioritises_after_24_hours_then_flags_then_abandons():
    candidature = _instruction_candidature()
    sollicitation = _open(candidature)
    assert sollicitation.phase == SollicitationPhase.INSTRUCTION
    # 30 calendar days from Friday 4 December: Sunday 3 January 2027, pushed to the end of
    # Monday 4 January.
    assert sollicitation.due_at == datetime(2027, 1, 4, 23, 0, tzinfo=UTC)
    sollicitations_sweep(now=FRIDAY_4_DEC_16H + timedelta(hours=24) - timedelta(seconds=1))
    candidature.refresh_from_db()
    assert candidature.depriorisee_at is None
    sollicitations_sweep(now=FRIDAY_4_DEC_16H + timedelta(hours=24))
    candidature.refresh_from_db()
    assert candidature.depriorisee_at == FRIDAY_4_DEC_16H + timedelta(hours=24)
    assert candidature.retard_important_at is None
    # 5 days: the end of Wednesday 9 December.
    sollicitations_sweep(now=datetime(2026, 12, 9, 23, 0, tzinfo=UTC))
    candidature.refresh_from_db()
    assert candidature.retard_important_at == datetime(2026, 12, 9, 23, 0, tzinfo=UTC)
    assert candidature.state == S.EN_INSTRUCTION
    sollicitations_sweep(now=sollicitation.due_at)
    candidature.refresh_from_db()
    assert candidature.state == S.ABANDONNEE
    assert "30 jours" in candidature.closed_reason


def test_two_sweeps_at_once_apply_a_clock_once_and_notify_once(django_capture_on_commit_callbacks):
    candidature = CandidatureFactory(admin_soumise=True, campagne=_campaign())
    sollicitation = _open(candidature)
    with django_capture_on_commit_callbacks(execute=True):
        assert sollicitations_sweep(now=END_OF_FRIDAY_11_DEC) == 1
        assert sollicitations_sweep(now=END_OF_FRIDAY_11_DEC) == 0
    assert Sollicitation.objects.get(pk=sollicitation.pk).status == SollicitationStatus.EXPIREE
    assert candidature.transitions.count() == 1


# A sweep outage over the last working day (issue 10, item 9)


def test_a_rejection_after_an_outage_says_the_last_day_reminder_could_not_be_sent(
    django_capture_on_commit_callbacks,
):
    candidature = CandidatureFactory(admin_soumise=True, campagne=_campaign())
    member = company_user(candidature.editeur)
    sollicitation = _open(candidature)
    # The half-time reminder went; then the sweep was down from Wednesday to Monday,
    # through the whole of the last working day (Friday 11 December).
    sollicitations_sweep(now=datetime(2026, 12, 8, 7, 0, tzinfo=UTC))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        sollicitations_sweep(now=datetime(2026, 12, 14, 8, 0, tzinfo=UTC))
    sollicitation.refresh_from_db()
    candidature.refresh_from_db()
    assert sollicitation.reminder_last_sent_at is None
    assert candidature.state == S.REJETEE
    missed = "Le rappel du dernier jour ouvré n’a pas pu être envoyé à temps"
    assert missed in candidature.closed_reason
    notice = Notification.objects.get(recipient=member, title__startswith="Candidature rejetée")
    assert missed in notice.body
    (email,) = [m for m in mail.outbox if m.to == [member.email]]
    assert missed in email.body
    assert not Notification.objects.filter(recipient=member, title__startswith="Dernier jour")


def test_a_rejection_after_the_last_day_reminder_says_nothing_of_it():
    candidature = CandidatureFactory(admin_soumise=True, campagne=_campaign())
    _open(candidature)
    sollicitations_sweep(now=datetime(2026, 12, 11, 9, 0, tzinfo=UTC))
    sollicitations_sweep(now=END_OF_FRIDAY_11_DEC + timedelta(days=3))
    candidature.refresh_from_db()
    assert candidature.state == S.REJETEE
    assert "rappel" not in candidature.closed_reason


def test_an_abandonment_after_an_outage_says_the_reminder_could_not_be_sent():
    candidature = _instruction_candidature()
    member = company_user(candidature.editeur)
    sollicitation = _open(candidature)
    sollicitations_sweep(now=sollicitation.due_at + timedelta(days=1))
    candidature.refresh_from_db()
    assert candidature.state == S.ABANDONNEE
    notice = Notification.objects.get(recipient=member, title__startswith="Candidature abandonnée")
    assert "n’a pas pu être envoyé à temps" in notice.body
