"""Sollicitations: the agency's requests to a company, the conversations they open,
and the clocks the sweep enforces (SPEC §4).

A sollicitation is a thread: the instructor and the company exchange messages until the
instructor closes it, or the jalon (or the candidature leaving the phase) ends it. The
company's first answer stops the clock; nothing after it touches the clock again.

Every deadline is computed once, when the request is made, and stored. The sweep acts on
stored deadlines and records each outcome in its own field, so two sweeps, a late sweep or
a sweep after an outage all give the same result, once.
"""

import logging
from dataclasses import replace
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Case, DateTimeField, F, Q, Value, When
from django.db.models.functions import Least
from django.urls import reverse
from django.utils import timezone

from candidatures.enums import CandidatureState, SollicitationPhase, SollicitationStatus
from candidatures.models import Candidature, Sollicitation, SollicitationMessage
from candidatures.models.sollicitation import INSTRUCTION_DELAY_DAYS, OPEN
from candidatures.permissions import is_company_member, runs_procedure
from candidatures.proof_kinds import MO, PDF_MIME_TYPES, VIDEO_CAPTURE_MIME_TYPES
from candidatures.services.candidature import (
    _apply,
    _close,
    _end_unanswered,
    _move,
    _moves_record,
    _reject,
    candidature_url,
    notify_company,
    rejection_notice,
)
from preuves.services import FileRule, fichier_receive, receiving_files
from segur_portal.clocks import (
    deadline_after_calendar_days,
    deadline_after_hours,
    deadline_after_working_days,
    due_display,
    format_paris_datetime,
)
from segur_portal.enums import JournalKind
from segur_portal.journal import journal_append_many
from segur_portal.journal_events import (
    journal_message,
    journal_sollicitation,
    sollicitation_event,
    transition_events,
)
from segur_portal.models import User
from segur_portal.services import Notice, notification_send, notifications_send_many
from segur_portal.webhooks import (
    Emission,
    sollicitation_closing_emission,
    webhook_sollicitation_opened,
    webhooks_emit_many,
)

logger = logging.getLogger(__name__)
S = CandidatureState
Phase = SollicitationPhase
Status = SollicitationStatus

PHASE_1_WORKING_DAYS = 5
INSTRUCTION_DEPRIORITISATION_HOURS = 24
INSTRUCTION_ABANDON_DAYS = 30
# The sweep locks and applies due clocks this many at a time, one transaction each.
SWEEP_BATCH = 100
# It reads the ids of the due clocks this many batches at a time: each read walks the
# rows due in the partial indexes, whatever its limit.
SWEEP_READ_BATCHES = 10
# What applying a clock reads besides the row. Not the campaign: only the candidatures
# a deadline ends need it, and those are read again with it, after their lock.
SWEEP_RELATED = ("candidature__editeur", "opened_by")
# The state a candidature is in while a sollicitation of each phase can be opened.
PHASE_STATES = {
    Phase.ADMINISTRATIVE: {S.ADMIN_SOUMISE},
    Phase.ELIGIBILITE: {S.ELIGIBILITE_SOUMISE},
    Phase.INSTRUCTION: {S.DOSSIER_SOUMIS, S.EN_INSTRUCTION},
}
PHASE_JALON = {Phase.ADMINISTRATIVE: "j3", Phase.ELIGIBILITE: "j5", Phase.INSTRUCTION: "j7"}
# Attachments to an exchange are checked like proofs: the proof formats, plus plain text
# for logs and traces.
ATTACHMENT_RULE = FileRule(
    allowed_mime_types=VIDEO_CAPTURE_MIME_TYPES | PDF_MIME_TYPES | {"text/plain", "text/csv"},
    max_bytes=50 * MO,
    label="PDF, image, vidéo ou texte, 50 Mo",
)


def phase_of(candidature: Candidature) -> str | None:
    return next(
        (phase for phase, states in PHASE_STATES.items() if candidature.state in states), None
    )


def deadlines(
    phase: str, opened_at: datetime, candidature: Candidature
) -> tuple[datetime, datetime]:
    """(due_at, closes_at) of a sollicitation opened now in this phase."""
    closes_at = getattr(candidature.campagne, PHASE_JALON[phase])
    if phase == Phase.INSTRUCTION:
        due_at = deadline_after_calendar_days(opened_at, INSTRUCTION_ABANDON_DAYS)
    else:
        due_at = deadline_after_working_days(opened_at, PHASE_1_WORKING_DAYS)
    return due_at, closes_at


def deprioritised_at(sollicitation: Sollicitation) -> datetime:
    return deadline_after_hours(sollicitation.opened_at, INSTRUCTION_DEPRIORITISATION_HOURS)


def major_delay_at(sollicitation: Sollicitation) -> datetime:
    return sollicitation.retard_at or deadline_after_calendar_days(
        sollicitation.opened_at, INSTRUCTION_DELAY_DAYS
    )


def attachments_receive(*, files, editeur, actor) -> list:
    """Store a message's attachments, owned by the company whichever side sends them
    (the company reads what the agency sends it). Call inside `receiving_files()`."""
    return [
        fichier_receive(upload=upload, rule=ATTACHMENT_RULE, editeur=editeur, actor=actor)
        for upload in files
    ]


def message_create(model, *, actor, from_agency: bool, now, text: str, files, editeur, **parent):
    """A message of an exchange (`model`: SollicitationMessage or SupportMessage) with its
    attachments, owned by `editeur`. Call inside `receiving_files()` and a transaction."""
    message = model.objects.create(
        author=actor, from_agency=from_agency, sent_at=now, text=text.strip(), **parent
    )
    message.fichiers.set(attachments_receive(files=files, editeur=editeur, actor=actor))
    if sollicitation := parent.get("sollicitation"):
        first = (
            not model.objects.filter(sollicitation=sollicitation).exclude(pk=message.pk).exists()
        )
        journal_message(message, candidature=sollicitation.candidature, first=first)
    else:
        journal_message(message, editeur=editeur)
    return message


def sollicitation_url(sollicitation: Sollicitation) -> str:
    return (
        reverse("candidatures:detail", args=[sollicitation.candidature_id])
        + f"#sollicitation-{sollicitation.pk}"
    )


def sollicitation_open(
    *, candidature: Candidature, actor, text: str, files=(), now=None, exigences=()
):
    now = now or timezone.now()
    if not runs_procedure(actor):
        raise PermissionDenied("Seuls les instructeurs de l’ANS sollicitent un éditeur.")
    if not text.strip():
        raise ValidationError({"text": "Écrivez la demande adressée à l’éditeur."})
    with receiving_files(), transaction.atomic():
        candidature = (
            Candidature.objects.select_for_update(of=("self",))
            .select_related("campagne", "editeur")
            .get(pk=candidature.pk)
        )
        phase = phase_of(candidature)
        if phase is None:
            raise ValidationError(
                "Une sollicitation ne s’ouvre que sur une candidature soumise, en attente de "
                "décision de l’ANS."
            )
        due_at, closes_at = deadlines(phase, now, candidature)
        if now >= closes_at:
            raise ValidationError(
                f"Les échanges de cette phase étaient ouverts {due_display(closes_at)} "
                f"({PHASE_JALON[phase].upper()}) : ils sont clos."
            )
        if candidature.sollicitations.filter(status=Status.OUVERTE).exists():
            raise ValidationError(
                "Une sollicitation attend déjà la réponse de l’éditeur : complétez-la plutôt "
                "que d’en ouvrir une autre."
            )
        sollicitation = Sollicitation.objects.create(
            candidature=candidature,
            phase=phase,
            opened_by=actor,
            opened_at=now,
            due_at=due_at,
            closes_at=closes_at,
        )
        message_create(
            SollicitationMessage,
            sollicitation=sollicitation,
            actor=actor,
            from_agency=True,
            now=now,
            text=text,
            files=files,
            editeur=candidature.editeur,
        )
        sollicitation.exigences.set(exigences)
        webhook_sollicitation_opened(sollicitation)
    effective = min(due_at, closes_at)
    if phase == Phase.INSTRUCTION:
        rule = (
            "Sans réponse sous 24 heures, le dossier perd sa place dans la file d’instruction ; "
            f"sans réponse {due_display(due_at)}, la candidature sera abandonnée."
        )
    else:
        rule = (
            f"Sans réponse dans les {PHASE_1_WORKING_DAYS} jours ouvrés, soit "
            f"{due_display(due_at)}, la candidature sera rejetée."
        )
    notify_company(
        candidature,
        title=f"L’ANS vous sollicite — {candidature.nom_commercial}",
        body=f"{text.strip()}\n\nRépondez dans le portail {due_display(effective)}. {rule}",
    )
    return sollicitation


def accepts_messages(sollicitation: Sollicitation, now: datetime) -> bool:
    """Whether either side may still write, even if the sweep has not passed yet.

    Unanswered, until its deadline (or the jalon, if sooner); answered, until the
    instructor closes it, the jalon ends the phase's exchanges or the candidature leaves
    the phase. `sollicitation.candidature` is read: select it with the sollicitation.
    """
    if sollicitation.candidature.state not in PHASE_STATES[sollicitation.phase]:
        return False
    if sollicitation.status == Status.OUVERTE:
        return now < sollicitation.effective_due_at
    if sollicitation.status == Status.REPONDUE:
        return now < sollicitation.closes_at
    return False


def closable(sollicitation: Sollicitation, now: datetime) -> bool:
    """An instructor closes an exchange once the company has answered. An unanswered
    one runs on its clock: closing it would stop a legal deadline by hand."""
    return sollicitation.status == Status.REPONDUE


def _no_more_messages(sollicitation: Sollicitation, now: datetime) -> str:
    if sollicitation.status == Status.OUVERTE and now >= sollicitation.due_at:
        return (
            "Cette sollicitation n’attend plus de réponse : le délai a expiré (il courait "
            f"{due_display(sollicitation.due_at)})."
        )
    if sollicitation.status in (Status.OUVERTE, Status.REPONDUE) and (
        now >= sollicitation.closes_at
    ):
        jalon = PHASE_JALON[sollicitation.phase].upper()
        return (
            f"Les échanges de cette phase étaient ouverts "
            f"{due_display(sollicitation.closes_at)} ({jalon}) : plus aucun message."
        )
    return "Cet échange est clos : plus aucun message."


def _agency_participants(sollicitation: Sollicitation) -> list:
    """The agents of this exchange: who opened it, who wrote in it, who instructs it."""
    from segur_portal.models import User

    ids = {sollicitation.opened_by_id, sollicitation.candidature.instructeur_id}
    ids |= set(sollicitation.messages.filter(from_agency=True).values_list("author_id", flat=True))
    return list(User.objects.filter(pk__in=ids - {None}, is_active=True))


def sollicitation_message_send(
    *, sollicitation: Sollicitation, actor, text: str, files=(), now=None
) -> SollicitationMessage:
    """A message in the exchange, from the company or from the agency.

    The company's first answer stops the clock (answered_at); every message after it,
    from either side, leaves the clock as it is. Refused once the exchange is closed,
    the deadline passed unanswered or the phase's jalon reached.
    """
    now = now or timezone.now()
    candidature = sollicitation.candidature
    from_company = is_company_member(actor, candidature)
    if not (from_company or runs_procedure(actor)):
        raise PermissionDenied(
            "Seuls les comptes de l’entreprise et les instructeurs de l’ANS écrivent dans cet "
            "échange."
        )
    if not text.strip():
        raise ValidationError(
            {"text": "Écrivez votre réponse à l’ANS." if from_company else "Écrivez votre message."}
        )
    with receiving_files(), transaction.atomic():
        sollicitation = (
            Sollicitation.objects.select_for_update(of=("self",))
            .select_related("candidature__editeur", "opened_by")
            .get(pk=sollicitation.pk)
        )
        if not accepts_messages(sollicitation, now):
            raise ValidationError(_no_more_messages(sollicitation, now))
        candidature = sollicitation.candidature
        message = message_create(
            SollicitationMessage,
            sollicitation=sollicitation,
            actor=actor,
            from_agency=not from_company,
            now=now,
            text=text,
            files=files,
            editeur=candidature.editeur,
        )
        first_answer = from_company and sollicitation.status == Status.OUVERTE
        if first_answer:
            sollicitation.status = Status.REPONDUE
            sollicitation.answered_at = now
            sollicitation.answered_by = actor
            sollicitation.save(update_fields=["status", "answered_at", "answered_by"])
    message.first_answer = first_answer
    url = sollicitation_url(sollicitation)
    company = candidature.editeur.raison_sociale
    if from_company:
        notification_send(
            recipients=_agency_participants(sollicitation),
            title=(
                f"Réponse de {company} — {candidature.reference}"
                if first_answer
                else f"Nouveau message de {company} — {candidature.reference}"
            ),
            body=f"{actor.get_full_name()} a écrit dans l’échange sur la sollicitation du "
            f"{format_paris_datetime(sollicitation.opened_at)} :\n\n{text.strip()}",
            url=url,
        )
    else:
        notification_send(
            recipients=candidature.editeur.members.filter(is_active=True),
            title=f"Nouveau message de l’ANS — {candidature.nom_commercial}",
            body=f"{text.strip()}\n\nRépondez dans le portail, dans l’échange sur la "
            f"sollicitation du {format_paris_datetime(sollicitation.opened_at)}.",
            url=url,
            extra_emails=candidature.editeur.contact_emails,
        )
    return message


def sollicitation_answer(
    *, sollicitation: Sollicitation, actor, text: str, files=(), now=None
) -> SollicitationMessage:
    """The company's message to the ANS in the exchange (the first one stops the clock)."""
    if not is_company_member(actor, sollicitation.candidature):
        raise PermissionDenied("Seuls les comptes de l’entreprise répondent à l’ANS.")
    return sollicitation_message_send(
        sollicitation=sollicitation, actor=actor, text=text, files=files, now=now
    )


def sollicitation_close(*, sollicitation: Sollicitation, actor, now=None) -> Sollicitation:
    """The instructor ends an answered exchange: no message after it, from either side."""
    now = now or timezone.now()
    if not runs_procedure(actor):
        raise PermissionDenied("Seuls les instructeurs de l’ANS closent un échange.")
    with transaction.atomic():
        sollicitation = (
            Sollicitation.objects.select_for_update(of=("self",))
            .select_related("candidature__editeur")
            .get(pk=sollicitation.pk)
        )
        if sollicitation.status == Status.OUVERTE:
            raise ValidationError(
                "L’éditeur n’a pas encore répondu : la sollicitation court jusqu’à sa réponse ou "
                "à son échéance, et ne se clôt pas avant."
            )
        if not closable(sollicitation, now):
            raise ValidationError("Cet échange est déjà clos.")
        sollicitation.status = Status.CLOSE
        sollicitation.closed_at = now
        sollicitation.closed_by = actor
        sollicitation.save(update_fields=["status", "closed_at", "closed_by"])
        journal_sollicitation(
            sollicitation, kind=JournalKind.SOLLICITATION_CLOSE, actor=actor, at=now
        )
    candidature = sollicitation.candidature
    notification_send(
        recipients=candidature.editeur.members.filter(is_active=True),
        title=f"Échange clos par l’ANS — {candidature.nom_commercial}",
        body=f"L’ANS a clos l’échange sur sa sollicitation du "
        f"{format_paris_datetime(sollicitation.opened_at)} : il n’attend plus de message.",
        url=sollicitation_url(sollicitation),
    )
    return sollicitation


def _answer_message(sollicitation: Sollicitation):
    """The company's message that stopped the clock."""
    return (
        sollicitation.messages.filter(from_agency=False, sent_at=sollicitation.answered_at)
        .order_by("id")
        .first()
    )


def sollicitation_attachment_refused(*, fichier, now: datetime) -> Sollicitation | None:
    """The check refused a file the company attached to the answer that stopped the
    clock: that answer did not deliver what the ANS asked for, so it no longer counts.

    The next message the company sent in time without a refused file answers instead;
    if there is none, the sollicitation is open again on its original clock (never
    extended), and the company is told why, so that it answers again with the corrected
    file. If the deadline has passed meanwhile, the sweep applies it as to any
    unanswered sollicitation. A refused file in a later message changes nothing: the
    clock was already stopped. Called inside the transaction that records the verdict.
    """
    message = (
        SollicitationMessage.objects.filter(fichiers=fichier, from_agency=False)
        .order_by("-sent_at", "-id")
        .first()
    )
    if message is None:
        return None
    sollicitation = (
        Sollicitation.objects.select_for_update(of=("self",))
        .select_related("candidature__editeur", "candidature__instructeur")
        .get(pk=message.sollicitation_id)
    )
    answer = _answer_message(sollicitation) if sollicitation.status == Status.REPONDUE else None
    if answer is None or answer.pk != message.pk:
        return None
    later = (
        sollicitation.messages.filter(from_agency=False, sent_at__lt=sollicitation.effective_due_at)
        .filter(Q(sent_at__gt=message.sent_at) | Q(sent_at=message.sent_at, id__gt=message.id))
        .select_related("author")
        .prefetch_related("fichiers")
        .order_by("sent_at", "id")
    )
    replacement = next((m for m in later if not any(f.is_refused for f in m.fichiers.all())), None)
    candidature = sollicitation.candidature
    if replacement is not None:
        sollicitation.answered_at = replacement.sent_at
        sollicitation.answered_by = replacement.author
        sollicitation.save(update_fields=["answered_at", "answered_by"])
        notify_company(
            candidature,
            title=f"Pièce jointe refusée — {candidature.reference}",
            body=(
                f"La pièce jointe « {fichier.original_name} » de votre réponse à l’ANS a été "
                f"refusée : {fichier.refusal_reason}\n\nVotre message suivant, du "
                f"{format_paris_datetime(replacement.sent_at)}, vaut réponse à la "
                "sollicitation."
            ),
        )
        return sollicitation
    sollicitation.status = Status.OUVERTE
    sollicitation.answered_at = None
    sollicitation.answered_by = None
    sollicitation.save(update_fields=["status", "answered_at", "answered_by"])
    due = due_display(sollicitation.effective_due_at)
    notify_company(
        candidature,
        title=f"Pièce jointe refusée : répondez de nouveau — {candidature.reference}",
        body=(
            f"La pièce jointe « {fichier.original_name} » de votre réponse à l’ANS a été "
            f"refusée : {fichier.refusal_reason}\n\nVotre réponse ne compte donc pas : la "
            "sollicitation attend de nouveau votre réponse, avec le fichier corrigé, "
            f"{due}."
        ),
    )
    notification_send(
        recipients=_agency_participants(sollicitation),
        title=f"Réponse incomplète de {candidature.editeur.raison_sociale} — "
        f"{candidature.reference}",
        body=(
            f"La pièce jointe « {fichier.original_name} » a été refusée par le contrôle "
            "des fichiers : la sollicitation attend une nouvelle réponse."
        ),
        url=sollicitation_url(sollicitation),
        email=False,
    )
    return sollicitation


# The sweep


def due_arms(now: datetime) -> list[Q]:
    """The conditions of due_clocks, one per event: each reads one partial index of
    Sollicitation, which holds only the rows still waiting for that event."""
    deprioritised_before = now - timedelta(hours=INSTRUCTION_DEPRIORITISATION_HOURS)
    instruction = Q(phase=Phase.INSTRUCTION)
    return [
        OPEN & Q(due_at__lte=now),
        OPEN & Q(closes_at__lte=now),
        OPEN & Q(reminder_half_sent_at__isnull=True, reminder_half_at__lte=now),
        OPEN & Q(reminder_last_sent_at__isnull=True, reminder_last_at__lte=now),
        OPEN
        & instruction
        & Q(depriorisation_applied_at__isnull=True, opened_at__lte=deprioritised_before),
        OPEN & instruction & Q(retard_applied_at__isnull=True, retard_at__lte=now),
    ]


def due_clocks(now: datetime) -> Q:
    """The open sollicitations whose clock has something to apply at `now`: the deadline
    or the jalon reached, a reminder or (in instruction) the deprioritisation or the
    major delay due and not yet applied."""
    condition = Q()
    for arm in due_arms(now):
        condition |= arm
    return condition


def _next_ids(arms: list[Q], after: int, limit: int | None = None) -> list[int]:
    """The next `limit` (SWEEP_BATCH) ids past `after` matching any of `arms`, in one
    query: a UNION of one SELECT per arm, each read from its partial index. The OR of
    the arms, ordered by id, lets PostgreSQL walk the primary key over every row instead
    (its estimate of the OR is far too high), which costs what is open, not what is
    due."""
    selects = [
        Sollicitation.objects.filter(arm, pk__gt=after).order_by().values_list("pk", flat=True)
        for arm in arms
    ]
    return list(selects[0].union(*selects[1:]).order_by("pk")[: limit or SWEEP_BATCH])


def sollicitations_sweep(*, now: datetime) -> int:
    """Apply every clock that has run out, and close the answered exchanges that the
    jalon or a decision on the phase has ended. Safe to run any number of times, and
    two at once: each batch of due sollicitations is locked, the rows another sweep
    holds are skipped, and a row applied meanwhile is no longer due."""
    handled, after = 0, 0
    read = SWEEP_BATCH * SWEEP_READ_BATCHES
    while ids := _next_ids(due_arms(now), after, limit=read):
        for start in range(0, len(ids), SWEEP_BATCH):
            handled += _sweep_batch(ids[start : start + SWEEP_BATCH], now)
        if len(ids) < read:
            break
        after = ids[-1]
    return handled + _close_ended_exchanges(now)


def _sweep_batch(ids: list[int], now: datetime) -> int:
    with transaction.atomic():
        # Locked and read again: a row another sweep holds is skipped, a row applied
        # meanwhile is no longer due.
        batch = list(
            Sollicitation.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related(*SWEEP_RELATED)
            .filter(due_clocks(now), pk__in=ids)
            .order_by("pk")
        )
        return _sweep_together(batch, now)


def _deadline_reached(sollicitation: Sollicitation, now: datetime) -> bool:
    """The clock's own deadline has passed before the jalon's: the candidature is
    rejected or abandoned."""
    return sollicitation.due_at <= sollicitation.closes_at and now >= sollicitation.due_at


def _sweep_guarded(sollicitation: Sollicitation, now: datetime) -> bool:
    """One clock, in a savepoint: a failure is logged and leaves it due for the next
    sweep, without undoing the batch's other clocks."""
    try:
        with transaction.atomic():
            return _sweep_one(sollicitation, now)
    except Exception:
        logger.exception("sollicitation %s : délai non appliqué", sollicitation.pk)
        return False


def _sweep_together(clocks: list[Sollicitation], now: datetime) -> int:
    """A batch's clocks applied with their writes gathered: a few statements for all of
    them, however many are due. The candidatures that a deadline rejects or abandons
    are locked first, in one query, and read after the lock; each clock is applied in
    its order, reading its candidature as the earlier ones left it (a rejection closes
    the candidature's other sollicitations: they are skipped). If anything fails, the
    batch is undone and applied one clock at a time, so that a failing clock leaves the
    others applied."""
    if not clocks:
        return 0
    ending = {s.candidature_id for s in clocks if _deadline_reached(s, now)}
    try:
        with transaction.atomic():
            locked = _lock_candidatures(ending)
            effects = _GatheredEffects(locked)
            handled = 0
            for sollicitation in clocks:
                if sollicitation.candidature_id in effects.rejected:
                    continue
                if sollicitation.candidature_id in locked:
                    sollicitation.candidature = locked[sollicitation.candidature_id]
                handled += _sweep_one(sollicitation, now, effects)
            effects.write()
        return handled
    except Exception:
        logger.warning("lot de %s délais : appliqués un par un", len(clocks), exc_info=True)
    # Still locked by this transaction, due again since the savepoint rolled back, and
    # read again: the attempt changed them in memory.
    again = (
        Sollicitation.objects.select_related(*SWEEP_RELATED)
        .filter(due_clocks(now), pk__in=[sollicitation.pk for sollicitation in clocks])
        .order_by("pk")
    )
    return _sweep_one_by_one(list(again), now)


def _lock_candidatures(pks: set[int]) -> dict[int, Candidature]:
    """The candidatures a batch's deadlines end, locked and read after the lock."""
    if not pks:
        return {}
    locked = (
        Candidature.objects.select_for_update(of=("self",))
        .select_related("campagne__dsr", "editeur")
        .filter(pk__in=pks)
        .order_by("pk")
    )
    return {candidature.pk: candidature for candidature in locked}


def _sweep_one_by_one(clocks: list[Sollicitation], now: datetime) -> int:
    """A batch's clocks one at a time, in their order, each in its savepoint."""
    handled, moved = 0, set()
    for sollicitation in clocks:
        if sollicitation.candidature_id in moved:
            # Its candidature left the phase earlier in this batch (an expiry): read the
            # row and the candidature as they are now.
            sollicitation = (
                Sollicitation.objects.select_related(*SWEEP_RELATED)
                .filter(OPEN, pk=sollicitation.pk)
                .first()
            )
            if sollicitation is None:
                continue
        handled += _sweep_guarded(sollicitation, now)
        if sollicitation.status == Status.EXPIREE:
            moved.add(sollicitation.candidature_id)
    return handled


class _Effects:
    """What applying a clock writes, each write as it comes: one clock at a time."""

    def save(self, sollicitation: Sollicitation, fields: list[str]) -> None:
        sollicitation.save(update_fields=fields)

    def mark(self, candidature: Candidature, field: str, at: datetime) -> None:
        """An instant of the candidature, set by the first clock that reaches it."""
        Candidature.objects.filter(pk=candidature.pk, **{f"{field}__isnull": True}).update(
            **{field: at}
        )

    def journal(self, sollicitation: Sollicitation, **event) -> None:
        journal_sollicitation(sollicitation, **event)

    def notify_company(self, candidature: Candidature, *, title: str, body: str) -> None:
        members = candidature.editeur.members.filter(is_active=True)
        self.notify(_company_notice(candidature, title=title, body=body, recipients=members))

    def notify(self, notice: Notice) -> None:
        notifications_send_many([notice], one_task=True)

    def webhook(self, emission: Emission) -> None:
        webhooks_emit_many([emission])

    def reject(self, candidature: Candidature, *, reason: str, now: datetime) -> None:
        """The candidature rejected by its clock, and its company told."""
        _reject(candidature=candidature, actor=None, reason=reason, now=now)

    def abandon(self, candidature: Candidature, *, reason: str, now: datetime) -> None:
        _apply(candidature=candidature, name="abandon", actor=None, now=now, reason=reason,
               after=lambda locked: _close(locked, now, reason))  # fmt: skip


IMMEDIATE = _Effects()


def _company_notice(candidature: Candidature, *, title: str, body: str, recipients) -> Notice:
    """What notify_company sends: to the company's users and its declared contacts."""
    return Notice(
        recipients=recipients,
        title=title,
        body=body,
        url=candidature_url(candidature),
        extra_emails=candidature.editeur.contact_emails,
    )


class _GatheredEffects(_Effects):
    """The same writes, gathered over clocks in their order, then made in one statement
    per table: the same rows as one clock at a time."""

    def __init__(self, locked: dict[int, Candidature] | None = None) -> None:
        self.saved: dict[int, tuple[Sollicitation, set[str]]] = {}
        self.marks: dict[str, dict[int, datetime]] = {}
        self.events: list[dict] = []
        # (candidature, notice without recipients) for a company, (None, notice) else.
        self.notices: list[tuple[Candidature | None, Notice]] = []
        self.emissions: list[Emission] = []
        # The candidatures the clocks may move, locked by this transaction and read
        # after the lock; the moves made on them, and those rejected.
        self.locked = locked or {}
        self.moves: list = []
        self.rejected: set[int] = set()

    def save(self, sollicitation, fields):
        self.saved.setdefault(sollicitation.pk, (sollicitation, set()))[1].update(fields)

    def mark(self, candidature, field, at):
        self.marks.setdefault(field, {}).setdefault(candidature.pk, at)

    def journal(self, sollicitation, **event):
        self.events.append(sollicitation_event(sollicitation, **event))

    def notify_company(self, candidature, *, title, body):
        notice = _company_notice(candidature, title=title, body=body, recipients=())
        self.notices.append((candidature, notice))

    def notify(self, notice):
        self.notices.append((None, notice))

    def webhook(self, emission):
        self.emissions.append(emission)

    def reject(self, candidature, *, reason, now):
        self._move(candidature, name="reject", reason=reason, now=now)
        self.rejected.add(candidature.pk)
        self.notify_company(candidature, **rejection_notice(candidature, reason))

    def abandon(self, candidature, *, reason, now):
        self._move(candidature, name="abandon", reason=reason, now=now)

    def _move(self, candidature: Candidature, *, name: str, reason: str, now: datetime) -> None:
        if self.locked.get(candidature.pk) is not candidature:
            raise RuntimeError(f"candidature {candidature.pk} non verrouillée par ce lot")
        transition = _move(candidature, name=name, actor=None, now=now, reason=reason,
                           after=lambda locked: _close(locked, now, reason))  # fmt: skip
        self.moves.append(transition)
        self.events += transition_events(transition)

    def write(self) -> None:
        # One statement per field and value: the sweep sets instants to `now`.
        changes: dict[tuple[str, object], list[int]] = {}
        for sollicitation, fields in self.saved.values():
            for field in sorted(fields):
                changes.setdefault((field, getattr(sollicitation, field)), []).append(
                    sollicitation.pk
                )
        for (field, value), pks in changes.items():
            Sollicitation.objects.filter(pk__in=pks).update(**{field: value})
        for field, instants in self.marks.items():
            Candidature.objects.filter(pk__in=instants, **{f"{field}__isnull": True}).update(
                **{
                    field: Case(
                        *(When(pk=pk, then=Value(at)) for pk, at in instants.items()),
                        output_field=DateTimeField(),
                    )
                }
            )
        # After the clocks' own fields: the expired ones are no longer waiting.
        _moves_record(self.moves, fields=["closed_at", "closed_reason"])
        if self.rejected:
            _end_unanswered(self.rejected, skip_locked=True)
        journal_append_many(self.events)
        webhooks_emit_many(self.emissions)
        companies = {candidature.editeur_id for candidature, _ in self.notices if candidature}
        members = {}
        if companies:
            for user in User.objects.filter(editeur_id__in=companies, is_active=True):
                members.setdefault(user.editeur_id, []).append(user)
        notifications_send_many(
            [
                replace(notice, recipients=members.get(candidature.editeur_id, []))
                if candidature
                else notice
                for candidature, notice in self.notices
            ],
            one_task=True,
        )


def _ended_exchanges(now: datetime) -> list[Q]:
    """Answered exchanges past their jalon, or whose candidature has left the phase."""
    left_phase = Q()
    for phase, states in PHASE_STATES.items():
        left_phase |= Q(phase=phase) & ~Q(candidature__state__in=states)
    answered = Q(status=Status.REPONDUE)
    return [answered & Q(closes_at__lte=now), answered & left_phase]


def _close_ended_exchanges(now: datetime) -> int:
    """Answered exchanges read through their partial index (status « répondue »):
    those still running, a few per candidature in the phase, not every one ever."""
    arms = _ended_exchanges(now)
    either = arms[0] | arms[1]
    closed, after = 0, 0
    while ids := _next_ids(arms, after):
        with transaction.atomic():
            ending = list(
                Sollicitation.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("candidature")
                .filter(either, pk__in=ids)
                .order_by("pk")
            )
            # At the jalon when that is what ended it, whenever the sweep comes.
            Sollicitation.objects.filter(pk__in=[s.pk for s in ending]).update(
                status=Status.CLOSE, closed_at=Least(F("closes_at"), now)
            )
            for sollicitation in ending:
                sollicitation.closed_at = min(now, sollicitation.closes_at)
            journal_append_many(
                [
                    sollicitation_event(
                        sollicitation,
                        kind=JournalKind.SOLLICITATION_CLOSE,
                        at=sollicitation.closed_at,
                    )
                    for sollicitation in ending
                ]
            )
        closed += len(ending)
        if len(ids) < SWEEP_BATCH:
            break
        after = ids[-1]
    return closed


def _sweep_one(sollicitation: Sollicitation, now: datetime, effects: _Effects = IMMEDIATE) -> bool:
    if sollicitation.phase == Phase.INSTRUCTION:
        return _sweep_instruction(sollicitation, now, effects)
    return _sweep_phase_1(sollicitation, now, effects)


def _expire(sollicitation: Sollicitation, now: datetime, effects: _Effects) -> None:
    sollicitation.status = Status.EXPIREE
    sollicitation.expired_at = now
    effects.save(sollicitation, ["status", "expired_at"])
    effects.journal(
        sollicitation,
        kind=JournalKind.SOLLICITATION_EXPIREE,
        at=now,
        due_at=sollicitation.effective_due_at,
    )


def _sweep_phase_1(sollicitation: Sollicitation, now: datetime, effects: _Effects) -> bool:
    candidature = sollicitation.candidature
    if _deadline_reached(sollicitation, now):
        _expire(sollicitation, now, effects)
        reason = (
            f"Pas de réponse à la sollicitation de l’ANS du {format_paris_datetime(sollicitation.opened_at)} "
            f"dans le délai de {PHASE_1_WORKING_DAYS} jours ouvrés, qui courait "
            f"{due_display(sollicitation.due_at)}.{_missed_reminder_note(sollicitation)}"
        )
        if candidature.state in PHASE_STATES[sollicitation.phase]:
            effects.reject(candidature, reason=reason, now=now)
        _notify_agency(
            sollicitation,
            f"Candidature rejetée faute de réponse — {candidature.reference}",
            effects,
        )
        return True
    if now >= sollicitation.closes_at:
        _expire(sollicitation, now, effects)
        _notify_exchanges_closed(sollicitation, effects)
        return True
    return _send_reminders(sollicitation, now, effects)


def _sweep_instruction(sollicitation: Sollicitation, now: datetime, effects: _Effects) -> bool:
    candidature = sollicitation.candidature
    changed = False
    if now >= sollicitation.closes_at and sollicitation.closes_at < sollicitation.due_at:
        _expire(sollicitation, now, effects)
        _notify_exchanges_closed(sollicitation, effects)
        return True
    if _deadline_reached(sollicitation, now):
        _expire(sollicitation, now, effects)
        reason = (
            f"Pas de réponse à la sollicitation de l’ANS du {format_paris_datetime(sollicitation.opened_at)} "
            f"dans les {INSTRUCTION_ABANDON_DAYS} jours, qui couraient {due_display(sollicitation.due_at)}."
            f"{_missed_reminder_note(sollicitation)}"
        )
        if candidature.state in PHASE_STATES[Phase.INSTRUCTION]:
            effects.abandon(candidature, reason=reason, now=now)
            effects.notify_company(candidature, title=f"Candidature abandonnée — {candidature.nom_commercial}",
                                   body=f"La candidature {candidature.reference} est abandonnée. {reason}")  # fmt: skip
        _notify_agency(
            sollicitation,
            f"Candidature abandonnée faute de réponse — {candidature.reference}",
            effects,
        )
        return True
    if sollicitation.depriorisation_applied_at is None and now >= deprioritised_at(sollicitation):
        sollicitation.depriorisation_applied_at = now
        effects.save(sollicitation, ["depriorisation_applied_at"])
        effects.mark(candidature, "depriorisee_at", deprioritised_at(sollicitation))
        effects.notify_company(
            candidature,
            title=f"Dossier dépriorisé — {candidature.nom_commercial}",
            body="Sans réponse à la sollicitation de l’ANS dans les 24 heures, votre dossier perd "
            "sa place garantie dans la file d’instruction. Répondez au plus vite.",
        )
        changed = True
    if sollicitation.retard_applied_at is None and now >= major_delay_at(sollicitation):
        sollicitation.retard_applied_at = now
        effects.save(sollicitation, ["retard_applied_at"])
        effects.mark(candidature, "retard_important_at", major_delay_at(sollicitation))
        effects.notify_company(
            candidature,
            title=f"Retard important — {candidature.nom_commercial}",
            body="Sans réponse depuis 5 jours, un retard important est à prévoir sur l’instruction "
            f"de votre dossier. Sans réponse {due_display(sollicitation.due_at)}, la "
            "candidature sera abandonnée.",
        )
        changed = True
    return _send_reminders(sollicitation, now, effects) or changed


def _missed_reminder_note(sollicitation: Sollicitation) -> str:
    """The deadline stands even when the sweep was down on the last working day; the
    company is told that the reminder it should have had did not go out."""
    if sollicitation.reminder_last_sent_at is not None:
        return ""
    return (
        " Le rappel du dernier jour ouvré n’a pas pu être envoyé à temps : le traitement "
        "automatique des délais était interrompu."
    )


def _send_reminders(sollicitation: Sollicitation, now: datetime, effects: _Effects) -> bool:
    """Half-time and one working day before the decisive deadline; if the sweep was
    down through both moments, only the later reminder goes."""
    due_at = sollicitation.effective_due_at
    last_at, half_at = sollicitation.reminder_last_at, sollicitation.reminder_half_at
    candidature = sollicitation.candidature
    if now >= due_at:
        return False
    if sollicitation.reminder_last_sent_at is None and now >= last_at:
        sollicitation.reminder_last_sent_at = now
        if sollicitation.reminder_half_sent_at is None:
            sollicitation.reminder_half_sent_at = now
        effects.save(sollicitation, ["reminder_last_sent_at", "reminder_half_sent_at"])
        effects.journal(
            sollicitation, kind=JournalKind.SOLLICITATION_RAPPEL, at=now, reminder="last"
        )
        effects.webhook(sollicitation_closing_emission(sollicitation, now=now))
        effects.notify_company(
            candidature,
            title=f"Dernier jour pour répondre à l’ANS — {candidature.nom_commercial}",
            body=f"La sollicitation de l’ANS attend votre réponse {due_display(due_at)}.",
        )
        return True
    if sollicitation.reminder_half_sent_at is None and now >= half_at:
        sollicitation.reminder_half_sent_at = now
        effects.save(sollicitation, ["reminder_half_sent_at"])
        effects.journal(
            sollicitation, kind=JournalKind.SOLLICITATION_RAPPEL, at=now, reminder="half"
        )
        effects.notify_company(
            candidature,
            title=f"Rappel : l’ANS attend votre réponse — {candidature.nom_commercial}",
            body=f"La moitié du délai est écoulée. Répondez {due_display(due_at)}.",
        )
        return True
    return False


def _notify_agency(sollicitation: Sollicitation, title: str, effects: _Effects) -> None:
    effects.notify(
        Notice(
            recipients=[sollicitation.opened_by],
            title=title,
            body=f"Sollicitation du {format_paris_datetime(sollicitation.opened_at)} restée sans réponse.",
            url=sollicitation_url(sollicitation),
        )
    )


def _notify_exchanges_closed(sollicitation: Sollicitation, effects: _Effects) -> None:
    candidature = sollicitation.candidature
    jalon = PHASE_JALON[sollicitation.phase].upper()
    effects.notify_company(
        candidature,
        title=f"Fin des échanges ({jalon}) — {candidature.nom_commercial}",
        body=f"Les échanges de cette phase étaient ouverts {due_display(sollicitation.closes_at)} "
        f"({jalon}) : ils sont clos, la sollicitation de l’ANS n’attend plus de réponse. L’ANS décidera "
        "sur les éléments reçus.",
    )
    _notify_agency(sollicitation, f"Échanges clos ({jalon}) — {candidature.reference}", effects)
