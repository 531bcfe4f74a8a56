from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from candidatures.enums import CandidatureState
from candidatures.models import Candidature, Exigence
from candidatures.services.sollicitation import sollicitation_answer
from preuves import depot as depot_services
from preuves import instruction as services
from preuves.models import VisiteConformite
from tests.factories import UserFactory, company_user
from tests.preuves import samples
from tests.preuves.dossiers import deposit_everything, eligible_candidature, upload

pytestmark = pytest.mark.django_db
S = CandidatureState


def _submitted(now=None):
    candidature = eligible_candidature()
    member = company_user(candidature.editeur)
    deposit_everything(candidature, member)
    depot_services.dossier_submit(candidature=candidature, actor=member, now=now)
    candidature.refresh_from_db()
    return candidature, member


def _in_instruction():
    candidature, member = _submitted()
    instructeur = UserFactory(instructeur=True)
    services.instruction_take(candidature=candidature, actor=instructeur)
    candidature.refresh_from_db()
    return candidature, member, instructeur


def _exigence(candidature, identifier):
    return Exigence.objects.get(rem_version=candidature.rem_version, identifier=identifier)


def test_queue_is_first_in_first_out_with_deprioritised_behind():
    first, _ = _submitted(now=timezone.now() - timedelta(days=3))
    second, _ = _submitted(now=timezone.now() - timedelta(days=2))
    third, _ = _submitted(now=timezone.now() - timedelta(days=1))
    assert list(services.instruction_queue()) == [first, second, third]
    Candidature.objects.filter(pk=first.pk).update(depriorisee_at=timezone.now())
    assert list(services.instruction_queue()) == [second, third, first]


def test_take_assigns_the_instructor():
    candidature, _member, instructeur = _in_instruction()
    assert candidature.state == S.EN_INSTRUCTION
    assert candidature.instructeur == instructeur
    with pytest.raises(PermissionDenied):
        services.instruction_take(candidature=candidature, actor=company_user(candidature.editeur))


def test_verdicts_are_kept_and_the_latest_counts():
    candidature, _member, instructeur = _in_instruction()
    ins = _exigence(candidature, "INS.01")
    with pytest.raises(ValidationError):
        services.verdict_record(candidature=candidature, exigence=ins, verdict="non_conforme",
                                comment="", actor=instructeur)  # fmt: skip
    services.verdict_record(candidature=candidature, exigence=ins, verdict="non_conforme",
                            comment="La vidéo est coupée.", actor=instructeur)  # fmt: skip
    services.verdict_record(candidature=candidature, exigence=ins, verdict="conforme",
                            comment="", actor=instructeur)  # fmt: skip
    assert candidature.verdicts.count() == 2
    block = next(b for b in depot_services.dossier(candidature).blocks if b.exigence == ins)
    assert block.verdict.verdict == "conforme"


def test_a_complement_lets_the_editor_change_those_proofs_only_until_j7(
    django_capture_on_commit_callbacks,
):
    candidature, member, instructeur = _in_instruction()
    ins, ssi = _exigence(candidature, "INS.01"), _exigence(candidature, "SSI.07")
    item = next(i for i in depot_services.dossier(candidature).items if i.exigence == ssi)
    with pytest.raises(ValidationError, match="demande de complément"):
        depot_services.depot_add_files(candidature=candidature, item=item,
                                       uploads=[upload("a.png", samples.png_bytes())], actor=member)  # fmt: skip
    sollicitation = services.complement_request(
        candidature=candidature, exigences=[ssi], text="Ajoutez la vidéo du chiffrement.",
        actor=instructeur,
    )  # fmt: skip
    assert list(sollicitation.exigences.all()) == [ssi]
    depot_services.depot_add_files(candidature=candidature, item=item,
                                   uploads=[upload("chiffrement.png", samples.png_bytes())],
                                   actor=member)  # fmt: skip
    ins_item = next(i for i in depot_services.dossier(candidature).items if i.exigence == ins)
    with pytest.raises(ValidationError):
        depot_services.depot_add_files(candidature=candidature, item=ins_item,
                                       uploads=[upload("a.png", samples.png_bytes())], actor=member)  # fmt: skip
    with pytest.raises(ValidationError, match="J7"):
        depot_services.depot_add_files(candidature=candidature, item=item,
                                       uploads=[upload("b.png", samples.png_bytes())], actor=member,
                                       now=candidature.campagne.j7)  # fmt: skip


def test_closing_needs_a_verdict_on_every_requirement_and_no_open_request():
    candidature, member, instructeur = _in_instruction()
    with pytest.raises(ValidationError, match="sans verdict"):
        services.instruction_close(candidature=candidature, actor=instructeur)
    exigences = list(depot_services._applicable(candidature))
    sollicitation = services.complement_request(
        candidature=candidature, exigences=exigences[:1], text="Précisez.", actor=instructeur
    )
    for exigence in exigences:
        services.verdict_record(candidature=candidature, exigence=exigence, verdict="conforme",
                                comment="", actor=instructeur)  # fmt: skip
    with pytest.raises(ValidationError, match="sollicitation attend"):
        services.instruction_close(candidature=candidature, actor=instructeur)
    sollicitation_answer(sollicitation=sollicitation, actor=member, text="Voici.")
    services.instruction_close(candidature=candidature, actor=instructeur)
    candidature.refresh_from_db()
    assert candidature.state == S.PREUVES_VALIDEES


def test_instruction_time_is_net_of_suspensions():
    received = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    candidature, member = _submitted(now=received)
    instructeur = UserFactory(instructeur=True)
    services.instruction_take(
        candidature=candidature, actor=instructeur, now=received + timedelta(days=1)
    )
    candidature.refresh_from_db()
    sollicitation = services.complement_request(
        candidature=candidature, exigences=[_exigence(candidature, "SSI.07")], text="Précisez.",
        actor=instructeur, now=received + timedelta(days=2),
    )  # fmt: skip
    paused = services.instruction_time(candidature, received + timedelta(days=5))
    assert paused["paused"] and paused["elapsed"] == timedelta(days=2)
    sollicitation_answer(sollicitation=sollicitation, actor=member, text="Voici.",
                         now=received + timedelta(days=4))  # fmt: skip
    running = services.instruction_time(candidature, received + timedelta(days=10))
    assert running["elapsed"] == timedelta(days=8)
    assert not running["paused"]
    assert running["indicative_end"] == received + timedelta(weeks=6, days=2)


def test_ins_visit_within_4_weeks_and_recording_due_2_working_days_later():
    candidature, member, instructeur = _in_instruction()
    started = candidature.instruction_started_at
    with pytest.raises(ValidationError, match="4 semaines"):
        services.visite_schedule(candidature=candidature, scheduled_for=started + timedelta(days=40),
                                 actor=instructeur)  # fmt: skip
    # Thursday 10 December 2026 at 10:00 Paris: the recording is due at the end of
    # Monday 14 December (two working days after the visit, the day of it not counted).
    visit = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)
    Candidature.objects.filter(pk=candidature.pk).update(
        instruction_started_at=visit - timedelta(days=3)
    )
    candidature.refresh_from_db()
    visite = services.visite_schedule(candidature=candidature, scheduled_for=visit,
                                      actor=instructeur, now=visit - timedelta(days=2))  # fmt: skip
    assert visite.recording_due_at == datetime(2026, 12, 14, 23, 0, tzinfo=UTC)


def test_ins_visit_reminder_and_lateness_are_sent_once():
    candidature, member, instructeur = _in_instruction()
    visit = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)
    Candidature.objects.filter(pk=candidature.pk).update(
        instruction_started_at=visit - timedelta(days=3)
    )
    candidature.refresh_from_db()
    visite = services.visite_schedule(candidature=candidature, scheduled_for=visit,
                                      actor=instructeur, now=visit - timedelta(days=2))  # fmt: skip
    monday_morning = datetime(2026, 12, 13, 23, 30, tzinfo=UTC)  # Monday 14 Dec, 00:30 Paris
    assert services.visites_sweep(now=monday_morning) == 1
    assert services.visites_sweep(now=monday_morning + timedelta(hours=1)) == 0
    assert services.visites_sweep(now=visite.recording_due_at) == 1
    assert services.visites_sweep(now=visite.recording_due_at + timedelta(days=1)) == 0
    visite.refresh_from_db()
    assert visite.reminder_sent_at and visite.overdue_notified_at


def test_recording_upload_only_after_the_visit():
    candidature, member, instructeur = _in_instruction()
    visit = candidature.instruction_started_at + timedelta(days=7)
    services.visite_schedule(candidature=candidature, scheduled_for=visit, actor=instructeur)
    with pytest.raises(ValidationError, match="après la visite"):
        services.visite_recording_upload(candidature=candidature, upload=upload("v.mp4", b"x"),
                                         actor=member)  # fmt: skip
    from tests.preuves.corpus import mp4_bytes

    visite = services.visite_recording_upload(candidature=candidature, upload=upload("visite.mp4", mp4_bytes()),
                                              actor=member, now=visit + timedelta(hours=3))  # fmt: skip
    assert VisiteConformite.objects.get(pk=visite.pk).recording is not None
