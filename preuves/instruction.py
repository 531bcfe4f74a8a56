"""The instruction of a proof dossier (DSR §4.5): the queue, verdicts requirement by
requirement, requests for complements, the INS conformity visit, the instruction time
net of suspensions, and the closing of the instruction."""

from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import (
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Least
from django.db.models.lookups import LessThan
from django.utils import timezone

from candidatures.enums import CandidatureState, SollicitationPhase, SollicitationStatus
from candidatures.models import Candidature, Exigence, Sollicitation
from candidatures.permissions import is_company_member, runs_procedure
from candidatures.proof_kinds import MO, VIDEO_CAPTURE_MIME_TYPES
from candidatures.services.candidature import _apply, candidature_url, notify_company
from candidatures.services.sollicitation import (
    INSTRUCTION_DEPRIORITISATION_HOURS,
    sollicitation_open,
)
from preuves.cnda import cnda_state
from preuves.depot import _applicable, applies_to
from preuves.enums import Verdict
from preuves.models import ExigenceVerdict, VisiteConformite
from preuves.services import FileRule, fichier_receive
from segur_portal.clocks import (
    deadline_after_calendar_days,
    deadline_after_working_days,
    deadline_with_suspensions,
    due_display,
    format_paris_datetime,
    one_working_day_before,
    running_duration,
)
from segur_portal.journal_events import journal_verdicts
from segur_portal.services import notification_send

S = CandidatureState
INDICATIVE_INSTRUCTION_TIME = timedelta(weeks=6)
VISIT_WITHIN_DAYS = 28
RECORDING_WORKING_DAYS = 2
RECORDING_RULE = FileRule(
    VIDEO_CAPTURE_MIME_TYPES, 50 * MO, "vidéo MP4, MOV, AVI ou FLV ; 50 Mo au plus"
)


def _require_instructor(actor) -> None:
    if not runs_procedure(actor):
        raise PermissionDenied("Seuls les instructeurs de l’ANS instruisent les preuves.")


# The 24 h are real hours (UTC arithmetic), as deprioritised_at counts them.
DEPRIORITISATION_DELAY = timedelta(hours=INSTRUCTION_DEPRIORITISATION_HOURS)


def _ended_within_delay(field: str) -> Q:
    # The time from the sending to `field`, compared with the 24 h, rather than the
    # 24 h added to the sending: PostgreSQL adds an interval in days to an instant
    # through its calendar, several times slower over every row (the statistics).
    waited = ExpressionWrapper(F(field) - F("opened_at"), output_field=DurationField())
    return Q(**{f"{field}__isnull": False}) & Q(LessThan(waited, DEPRIORITISATION_DELAY))


def lapsed_sollicitations(now: datetime):
    """The requests of the agency during instruction whose 24 h ran out before an
    answer, a closing or an expiry: each cost its dossier its place in the queue (DSR
    §4.5). Read from stored instants, each with its `deadline`, the moment it did:
    the sending plus DEPRIORITISATION_DELAY."""
    deadline = ExpressionWrapper(
        F("opened_at") + DEPRIORITISATION_DELAY, output_field=DateTimeField()
    )
    return (
        Sollicitation.objects.filter(
            phase=SollicitationPhase.INSTRUCTION, opened_at__lte=now - DEPRIORITISATION_DELAY
        )
        .annotate(deadline=deadline)
        # Answered, closed by the instructor or by its jalon before the 24 h: kept.
        .exclude(_ended_within_delay("answered_at"))
        .exclude(_ended_within_delay("closed_at"))
        .exclude(_ended_within_delay("expired_at"))
    )


def place_lost_expression(now: datetime):
    """When a candidature of the instruction queue lost its place: the sweep's record in
    `depriorisee_at`, or the first 24 h that ran out (lapsed_sollicitations) before the
    sweep recorded them. An expression on Candidature rows, for the queue and the
    agency's lists."""
    lapsed = (
        lapsed_sollicitations(now)
        .filter(candidature=OuterRef("pk"))
        # The deadline is the sending plus 24 h: in the order of the sendings, which an
        # index on (candidature, phase, opened_at) reads without sorting.
        .order_by("opened_at", "pk")
        .values("deadline")[:1]
    )
    return Coalesce("depriorisee_at", Subquery(lapsed))


def instruction_queue(now: datetime | None = None):
    """First in, first out by the reception of the complete dossier; a dossier that lost
    its place by not answering within 24 h goes behind (DSR §4.5).

    Each row carries `place_lost_at` (place_lost_expression), so the order is right the
    moment the 24 h run out, before the sweep records it in `depriorisee_at`.
    """
    now = now or timezone.now()
    return (
        Candidature.objects.filter(state__in=[S.DOSSIER_SOUMIS, S.EN_INSTRUCTION])
        .select_related("editeur", "campagne__dsr", "instructeur")
        .annotate(place_lost_at=place_lost_expression(now))
        .order_by(F("place_lost_at").asc(nulls_first=True), "dossier_submitted_at", "pk")
    )


def instruction_take(*, candidature: Candidature, actor, now=None) -> Candidature:
    now = now or timezone.now()
    _require_instructor(actor)

    def after(locked: Candidature) -> None:
        locked.instructeur = actor
        locked.instruction_started_at = now

    candidature = _apply(
        candidature=candidature, name="take_instruction", actor=actor, now=now, after=after
    )
    notify_company(
        candidature,
        title=f"Instruction commencée — {candidature.nom_commercial}",
        body=f"L’ANS a commencé l’instruction des preuves de la candidature {candidature.reference}.",
    )
    return candidature


def _latest_verdicts(candidature: Candidature) -> dict[int, ExigenceVerdict]:
    latest = {}
    for verdict in ExigenceVerdict.objects.filter(candidature=candidature).order_by("at", "pk"):
        latest[verdict.exigence_id] = verdict
    return latest


def verdict_record(
    *, candidature: Candidature, exigence: Exigence, verdict: str, comment: str, actor, now=None
) -> ExigenceVerdict:
    """Conforme or non conforme; a request for complements goes through
    complement_request, which also asks the editor."""
    return verdicts_record(
        candidature=candidature,
        exigences=[exigence],
        verdict=verdict,
        comment=comment,
        actor=actor,
        now=now,
    )[0]


def verdicts_record(
    *,
    candidature: Candidature,
    exigences: list[Exigence],
    verdict: str,
    comment: str,
    actor,
    now=None,
) -> list[ExigenceVerdict]:
    """One verdict, conforme or non conforme, on each of `exigences` (the review
    workspace's bulk action records them at once, or none of them)."""
    now = now or timezone.now()
    _require_instructor(actor)
    errors = {}
    if not exigences:
        errors["exigences"] = "Cochez au moins une exigence."
    if verdict not in {Verdict.CONFORME, Verdict.NON_CONFORME}:
        errors["verdict"] = "Choisissez « conforme » ou « non conforme »."
    if verdict == Verdict.NON_CONFORME and not comment.strip():
        errors["comment"] = "Dites en quoi l’exigence n’est pas satisfaite."
    if errors:
        raise ValidationError(errors)
    # The requirements were just read: checked against the candidature's profiles
    # without a query (applicable_exigences's rule).
    applies = applies_to(candidature)
    if not all(applies(exigence) for exigence in exigences):
        raise ValidationError("Cette exigence ne fait pas partie du dossier de la candidature.")
    with transaction.atomic():
        # Locked: a verdict never lands on an instruction being closed at the same time.
        locked = Candidature.objects.select_for_update().only("state").get(pk=candidature.pk)
        if locked.state != S.EN_INSTRUCTION:
            raise ValidationError("Prenez d’abord la candidature en instruction.")
        recorded = ExigenceVerdict.objects.bulk_create(
            ExigenceVerdict(
                candidature=candidature,
                exigence=exigence,
                verdict=verdict,
                comment=comment.strip(),
                by=actor,
                at=now,
            )
            for exigence in exigences
        )
        journal_verdicts(recorded)
    return recorded


def complement_request(
    *, candidature: Candidature, exigences: list[Exigence], text: str, actor, now=None
) -> Sollicitation:
    """Ask the editor for complements on some requirements: a sollicitation linked to
    them (its clocks apply), and the editor may change their proofs only, until J7."""
    now = now or timezone.now()
    _require_instructor(actor)
    if candidature.state != S.EN_INSTRUCTION:
        raise ValidationError("Prenez d’abord la candidature en instruction.")
    errors = {}
    if not exigences:
        errors["exigences"] = "Cochez au moins une exigence concernée."
    if not text.strip():
        errors["text"] = "Écrivez la demande adressée à l’éditeur."
    if errors:
        raise ValidationError(errors)
    applicable = set(_applicable(candidature).values_list("pk", flat=True))
    if any(exigence.pk not in applicable for exigence in exigences):
        raise ValidationError("Une exigence choisie ne fait pas partie du dossier.")
    with transaction.atomic():
        sollicitation = sollicitation_open(
            candidature=candidature, actor=actor, text=text, now=now, exigences=exigences
        )
        verdicts = ExigenceVerdict.objects.bulk_create(
            ExigenceVerdict(
                candidature=candidature,
                exigence=exigence,
                verdict=Verdict.COMPLEMENT,
                comment=text.strip(),
                by=actor,
                at=now,
            )
            for exigence in exigences
        )
        journal_verdicts(verdicts)
    return sollicitation


def instruction_missing(candidature: Candidature) -> list[str]:
    """What prevents closing the instruction."""
    missing = []
    verdicts = _latest_verdicts(candidature)
    undecided = [
        exigence.identifier
        for exigence in _applicable(candidature).order_by("position")
        if exigence.pk not in verdicts or verdicts[exigence.pk].verdict == Verdict.COMPLEMENT
    ]
    if undecided:
        missing.append(
            f"{len(undecided)} exigence(s) sans verdict définitif, dont " + ", ".join(undecided[:5])
        )
    if candidature.sollicitations.filter(status=SollicitationStatus.OUVERTE).exists():
        missing.append("une sollicitation attend encore la réponse de l’éditeur")
    return missing


def instruction_cnda_pending(candidature: Candidature) -> str:
    """What the instruction leaves pending about the CNDA homologations; empty when
    they are obtained. Shown on the page and in the confirmation, recorded on closing."""
    cnda = cnda_state(candidature)
    if cnda.obtained:
        return ""
    return (
        f"Homologations CNDA en attente ({cnda.label}) : l’instruction se clôt avec cette "
        "pièce en attente ; le référencement ne pourra être attribué qu’une fois chacune "
        "certifiée, sa preuve acceptée (DSR §4.4)."
    )


def instruction_close(*, candidature: Candidature, actor, now=None) -> Candidature:
    """Every requirement has its verdict: the proofs are validated, the convention
    step opens. CNDA homologations still « en cours actif » stay pending, recorded as
    such: they are checked again before any référencement (preuves.cnda)."""
    now = now or timezone.now()
    _require_instructor(actor)
    cnda_pending = instruction_cnda_pending(candidature)

    def check(locked: Candidature) -> None:
        missing = instruction_missing(locked)
        if missing:
            raise ValidationError(
                "L’instruction ne peut pas encore être close : " + " ; ".join(missing) + "."
            )

    def after(locked: Candidature) -> None:
        from college.tasks import convention_issue

        locked.instruction_closed_at = now
        # The convention is rendered by a worker, after the commit (college.services).
        transaction.on_commit(lambda: convention_issue.delay(locked.pk, actor.pk), robust=True)

    candidature = _apply(
        candidature=candidature,
        name="close_instruction",
        actor=actor,
        now=now,
        reason=cnda_pending,
        check=check,
        after=after,
    )
    cnda_text = (
        f"\n\n{cnda_pending} Déposez la preuve de chaque homologation et déclarez-les "
        "certifiées sur la page du dossier de preuves dès que le CNDA les délivre."
        if cnda_pending
        else ""
    )
    notify_company(
        candidature,
        title=f"Instruction des preuves terminée — {candidature.nom_commercial}",
        body=f"L’ANS a terminé l’instruction des preuves de la candidature "
        f"{candidature.reference}. La convention de référencement va vous être adressée."
        + cnda_text,
    )
    return candidature


# Instruction time, net of suspensions


def instruction_sollicitations():
    """What instruction_time reads, to prefetch as `instruction_sollicitations` when a
    page shows the time of many candidatures."""
    return Sollicitation.objects.filter(phase=SollicitationPhase.INSTRUCTION).order_by(
        "opened_at", "pk"
    )


def instruction_elapsed_expression(now: datetime):
    """instruction_time's elapsed time in SQL, on Candidature rows: from the reception of
    the complete dossier to the closing of the instruction (or now), less each request
    of the agency during instruction until its answer (or its expiry, or now). For the
    sorts, filters, exports and statistics that read many candidatures at once; null
    before the dossier is received."""
    at_now = Value(now, output_field=DateTimeField())
    end = Coalesce("instruction_closed_at", at_now)
    resumed = Least(
        Coalesce("answered_at", "expired_at", at_now),
        Coalesce(OuterRef("instruction_closed_at"), at_now),
    )
    suspended = (
        Sollicitation.objects.filter(
            candidature=OuterRef("pk"), phase=SollicitationPhase.INSTRUCTION
        )
        .annotate(paused=ExpressionWrapper(resumed - F("opened_at"), output_field=DurationField()))
        .values("candidature")
        .annotate(total=Sum("paused"))
        .values("total")
    )
    return ExpressionWrapper(
        end
        - F("dossier_submitted_at")
        - Coalesce(Subquery(suspended), Value(timedelta(0), output_field=DurationField())),
        output_field=DurationField(),
    )


def instruction_clock_events(candidature: Candidature, now: datetime) -> list[tuple[datetime, str]]:
    """Start at the reception of the complete dossier; paused from each request of the
    agency during instruction until the answer (DSR §4.5); stopped when closed."""
    if candidature.dossier_submitted_at is None:
        return []
    events = [(candidature.dossier_submitted_at, "start")]
    prefetched = getattr(candidature, "instruction_sollicitations", None)
    if prefetched is None:
        prefetched = instruction_sollicitations().filter(candidature=candidature)
    for sollicitation in prefetched:
        events.append((sollicitation.opened_at, "pause"))
        ended = sollicitation.answered_at or sollicitation.expired_at
        if ended is not None and ended <= now:
            events.append((ended, "resume"))
    if candidature.instruction_closed_at and events[-1][1] != "pause":
        events.append((candidature.instruction_closed_at, "stop"))
    return events


def instruction_time(candidature: Candidature, now: datetime | None = None) -> dict | None:
    now = now or timezone.now()
    events = instruction_clock_events(candidature, now)
    if not events:
        return None
    elapsed = running_duration(events=events, now=now)
    return {
        "elapsed": elapsed,
        "elapsed_days": elapsed.total_seconds() / 86400,
        "indicative_days": INDICATIVE_INSTRUCTION_TIME.days,
        "paused": events[-1][1] == "pause",
        "over": elapsed > INDICATIVE_INSTRUCTION_TIME,
        "indicative_end": deadline_with_suspensions(
            events=events, duration=INDICATIVE_INSTRUCTION_TIME, now=now
        ),
    }


# The INS conformity visit


def visite_schedule(*, candidature: Candidature, scheduled_for: datetime, actor, now=None):
    now = now or timezone.now()
    _require_instructor(actor)
    if candidature.state != S.EN_INSTRUCTION or candidature.instruction_started_at is None:
        raise ValidationError("La visite se programme pendant l’instruction.")
    latest = deadline_after_calendar_days(candidature.instruction_started_at, VISIT_WITHIN_DAYS)
    if not (now <= scheduled_for < latest):
        raise ValidationError(
            {
                "scheduled_for": "La visite de conformité se tient dans les 4 semaines suivant le "
                f"début de l’instruction, soit {due_display(latest)}."
            }
        )
    visite, _ = VisiteConformite.objects.update_or_create(
        candidature=candidature,
        defaults={
            "scheduled_for": scheduled_for,
            "scheduled_by": actor,
            "scheduled_at": now,
            "recording_due_at": deadline_after_working_days(scheduled_for, RECORDING_WORKING_DAYS),
            "reminder_sent_at": None,
            "overdue_notified_at": None,
        },
    )
    notify_company(
        candidature,
        title=f"Visite de conformité INS — {candidature.nom_commercial}",
        body=f"La visite de conformité est fixée au {format_paris_datetime(scheduled_for)}. "
        f"Son enregistrement vidéo, audio compris, est à déposer "
        f"{due_display(visite.recording_due_at)} (2 jours ouvrés après la visite).",
    )
    return visite


def visite_recording_upload(*, candidature: Candidature, upload, actor, now=None):
    now = now or timezone.now()
    if not is_company_member(actor, candidature):
        raise PermissionDenied
    visite = VisiteConformite.objects.filter(candidature=candidature).first()
    if visite is None or now < visite.scheduled_for:
        raise ValidationError("L’enregistrement se dépose après la visite de conformité.")
    if now >= candidature.campagne.j7:
        raise ValidationError("Les échanges sur les preuves sont clos (J7).")
    visite.recording = fichier_receive(
        upload=upload, rule=RECORDING_RULE, editeur=candidature.editeur, actor=actor
    )
    visite.recording_received_at = now
    visite.save(update_fields=["recording", "recording_received_at"])
    return visite


def visites_sweep(*, now: datetime) -> int:
    """A reminder on the morning of the last working day; the instructor told once when
    the recording is late. Each recorded once: repeated sweeps change nothing."""
    handled = 0
    # The last working day is at most a week before the deadline (weekends, holidays):
    # the visits nearer than that or late, still without the late notice, are all the
    # sweep reads, not every visit waiting for its recording.
    pending = VisiteConformite.objects.filter(
        recording__isnull=True,
        overdue_notified_at__isnull=True,
        recording_due_at__lte=now + timedelta(days=7),
    ).select_related("candidature__editeur", "scheduled_by")
    for visite in pending:
        candidature = visite.candidature
        if visite.overdue_notified_at is None and now >= visite.recording_due_at:
            if VisiteConformite.objects.filter(pk=visite.pk, overdue_notified_at=None).update(
                overdue_notified_at=now
            ):
                notification_send(
                    recipients=[visite.scheduled_by],
                    title=f"Enregistrement de visite en retard — {candidature.reference}",
                    body=f"L’enregistrement de la visite du {format_paris_datetime(visite.scheduled_for)} "
                    f"était attendu {due_display(visite.recording_due_at)}.",
                    url=candidature_url(candidature),
                )
                handled += 1
        elif (
            visite.reminder_sent_at is None
            and one_working_day_before(visite.recording_due_at) <= now < visite.recording_due_at
            and now >= visite.scheduled_for
        ) and VisiteConformite.objects.filter(pk=visite.pk, reminder_sent_at=None).update(
            reminder_sent_at=now
        ):
            notify_company(
                candidature,
                title=f"Enregistrement de la visite attendu — {candidature.nom_commercial}",
                body="Déposez l’enregistrement vidéo de la visite de conformité "
                f"{due_display(visite.recording_due_at)}.",
            )
            handled += 1
    return handled
