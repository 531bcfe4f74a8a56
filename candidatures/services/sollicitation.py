"""Sollicitations: the agency's requests to a company, their answers, and the clocks
the sweep enforces (SPEC §4).

Every deadline is computed once, when the request is made, and stored. The sweep acts on
stored deadlines and records each outcome in its own field, so two sweeps, a late sweep or
a sweep after an outage all give the same result, once.
"""

import logging
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from candidatures.enums import CandidatureState, SollicitationPhase, SollicitationStatus
from candidatures.models import Candidature, Sollicitation, SollicitationMessage
from candidatures.permissions import is_company_member, runs_procedure
from candidatures.proof_kinds import MO, PDF_MIME_TYPES, VIDEO_CAPTURE_MIME_TYPES
from candidatures.services.candidature import _apply, _reject, candidature_url, notify_company
from preuves.services import FileRule, fichier_receive
from segur_portal.clocks import (
    deadline_after_calendar_days,
    deadline_after_hours,
    deadline_after_working_days,
    due_display,
    format_paris_datetime,
    halfway,
    one_working_day_before,
)
from segur_portal.services import notification_send

logger = logging.getLogger(__name__)
S = CandidatureState
Phase = SollicitationPhase
Status = SollicitationStatus

PHASE_1_WORKING_DAYS = 5
INSTRUCTION_DEPRIORITISATION_HOURS = 24
INSTRUCTION_DELAY_DAYS = 5
INSTRUCTION_ABANDON_DAYS = 30
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
    return deadline_after_calendar_days(sollicitation.opened_at, INSTRUCTION_DELAY_DAYS)


def _receive_attachments(files, candidature: Candidature, actor):
    return [
        fichier_receive(
            upload=upload, rule=ATTACHMENT_RULE, editeur=candidature.editeur, actor=actor
        )
        for upload in files
    ]


def sollicitation_open(
    *, candidature: Candidature, actor, text: str, files=(), now=None, exigences=()
):
    now = now or timezone.now()
    if not runs_procedure(actor):
        raise PermissionDenied("Seuls les instructeurs de l’ANS sollicitent un éditeur.")
    if not text.strip():
        raise ValidationError({"text": "Écrivez la demande adressée à l’éditeur."})
    with transaction.atomic():
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
                f"Les échanges de cette phase sont clos depuis le {due_display(closes_at)} "
                f"({PHASE_JALON[phase].upper()})."
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
        message = SollicitationMessage.objects.create(
            sollicitation=sollicitation, author=actor, from_agency=True, at=now, text=text.strip()
        )
        message.fichiers.set(_receive_attachments(files, candidature, actor))
        sollicitation.exigences.set(exigences)
    effective = min(due_at, closes_at)
    if phase == Phase.INSTRUCTION:
        rule = (
            "Sans réponse sous 24 heures, le dossier perd sa place dans la file d’instruction ; "
            f"sans réponse au {due_display(due_at)}, la candidature sera abandonnée."
        )
    else:
        rule = (
            f"Sans réponse dans les {PHASE_1_WORKING_DAYS} jours ouvrés, soit au plus tard le "
            f"{due_display(due_at)}, la candidature sera rejetée."
        )
    notify_company(
        candidature,
        title=f"L’ANS vous sollicite — {candidature.nom_commercial}",
        body=f"{text.strip()}\n\nRépondez dans le portail avant le {due_display(effective)}. {rule}",
    )
    return sollicitation


def answerable(sollicitation: Sollicitation, now: datetime) -> bool:
    """Open and within its deadlines, even if the sweep has not passed yet."""
    return sollicitation.status == Status.OUVERTE and now < sollicitation.effective_due_at


def sollicitation_answer(*, sollicitation: Sollicitation, actor, text: str, files=(), now=None):
    now = now or timezone.now()
    if not is_company_member(actor, sollicitation.candidature):
        raise PermissionDenied("Seuls les comptes de l’entreprise répondent à l’ANS.")
    if not text.strip():
        raise ValidationError({"text": "Écrivez votre réponse à l’ANS."})
    with transaction.atomic():
        sollicitation = (
            Sollicitation.objects.select_for_update(of=("self",))
            .select_related("candidature__editeur", "opened_by")
            .get(pk=sollicitation.pk)
        )
        if not answerable(sollicitation, now):
            raise ValidationError(
                "Cette sollicitation n’attend plus de réponse : le délai est passé ou l’ANS l’a "
                "close."
            )
        message = SollicitationMessage.objects.create(
            sollicitation=sollicitation, author=actor, from_agency=False, at=now, text=text.strip()
        )
        message.fichiers.set(_receive_attachments(files, sollicitation.candidature, actor))
        sollicitation.status = Status.REPONDUE
        sollicitation.answered_at = now
        sollicitation.answered_by = actor
        sollicitation.save(update_fields=["status", "answered_at", "answered_by"])
    candidature = sollicitation.candidature
    notification_send(
        recipients=[sollicitation.opened_by],
        title=f"Réponse de {candidature.editeur.raison_sociale} — {candidature.reference}",
        body=f"{actor.get_full_name()} a répondu à votre sollicitation :\n\n{text.strip()}",
        url=candidature_url(candidature),
    )
    return sollicitation


# The sweep


def sollicitations_sweep(*, now: datetime) -> int:
    """Apply every clock that has run out. Safe to run any number of times, and two at
    once: each sollicitation is handled under a row lock that the other sweep skips."""
    handled = 0
    candidates = Sollicitation.objects.filter(status=Status.OUVERTE).values_list("pk", flat=True)
    for pk in list(candidates):
        with transaction.atomic():
            sollicitation = (
                Sollicitation.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("candidature__campagne", "candidature__editeur", "opened_by")
                .filter(pk=pk, status=Status.OUVERTE)
                .first()
            )
            if sollicitation is None:
                continue
            if _sweep_one(sollicitation, now):
                handled += 1
    return handled


def _sweep_one(sollicitation: Sollicitation, now: datetime) -> bool:
    if sollicitation.phase == Phase.INSTRUCTION:
        return _sweep_instruction(sollicitation, now)
    return _sweep_phase_1(sollicitation, now)


def _expire(sollicitation: Sollicitation, now: datetime) -> None:
    sollicitation.status = Status.EXPIREE
    sollicitation.expired_at = now
    sollicitation.save(update_fields=["status", "expired_at"])


def _sweep_phase_1(sollicitation: Sollicitation, now: datetime) -> bool:
    candidature = sollicitation.candidature
    if sollicitation.due_at <= sollicitation.closes_at and now >= sollicitation.due_at:
        _expire(sollicitation, now)
        reason = (
            f"Pas de réponse à la sollicitation de l’ANS du {format_paris_datetime(sollicitation.opened_at)} "
            f"dans le délai de {PHASE_1_WORKING_DAYS} jours ouvrés, échu le "
            f"{due_display(sollicitation.due_at)}."
        )
        if candidature.state in PHASE_STATES[sollicitation.phase]:
            _reject(candidature=candidature, actor=None, reason=reason, now=now)
        _notify_agency(
            sollicitation, f"Candidature rejetée faute de réponse — {candidature.reference}"
        )
        return True
    if now >= sollicitation.closes_at:
        _expire(sollicitation, now)
        _notify_exchanges_closed(sollicitation)
        return True
    return _send_reminders(sollicitation, now)


def _sweep_instruction(sollicitation: Sollicitation, now: datetime) -> bool:
    candidature = sollicitation.candidature
    changed = False
    if now >= sollicitation.closes_at and sollicitation.closes_at < sollicitation.due_at:
        _expire(sollicitation, now)
        _notify_exchanges_closed(sollicitation)
        return True
    if now >= sollicitation.due_at:
        _expire(sollicitation, now)
        reason = (
            f"Pas de réponse à la sollicitation de l’ANS du {format_paris_datetime(sollicitation.opened_at)} "
            f"dans les {INSTRUCTION_ABANDON_DAYS} jours, échus le {due_display(sollicitation.due_at)}."
        )
        if candidature.state in PHASE_STATES[Phase.INSTRUCTION]:
            _apply(candidature=candidature, name="abandon", actor=None, now=now, reason=reason,
                   after=lambda locked: _closed(locked, now, reason))  # fmt: skip
            notify_company(candidature, title=f"Candidature abandonnée — {candidature.nom_commercial}",
                           body=f"La candidature {candidature.reference} est abandonnée. {reason}")  # fmt: skip
        _notify_agency(
            sollicitation, f"Candidature abandonnée faute de réponse — {candidature.reference}"
        )
        return True
    if sollicitation.depriorisation_applied_at is None and now >= deprioritised_at(sollicitation):
        sollicitation.depriorisation_applied_at = now
        sollicitation.save(update_fields=["depriorisation_applied_at"])
        Candidature.objects.filter(pk=candidature.pk, depriorisee_at__isnull=True).update(
            depriorisee_at=deprioritised_at(sollicitation)
        )
        notify_company(
            candidature,
            title=f"Dossier dépriorisé — {candidature.nom_commercial}",
            body="Sans réponse à la sollicitation de l’ANS dans les 24 heures, votre dossier perd "
            "sa place garantie dans la file d’instruction. Répondez au plus vite.",
        )
        changed = True
    if sollicitation.retard_applied_at is None and now >= major_delay_at(sollicitation):
        sollicitation.retard_applied_at = now
        sollicitation.save(update_fields=["retard_applied_at"])
        Candidature.objects.filter(pk=candidature.pk, retard_important_at__isnull=True).update(
            retard_important_at=major_delay_at(sollicitation)
        )
        notify_company(
            candidature,
            title=f"Retard important — {candidature.nom_commercial}",
            body="Sans réponse depuis 5 jours, un retard important est à prévoir sur l’instruction "
            f"de votre dossier. Sans réponse au {due_display(sollicitation.due_at)}, la "
            "candidature sera abandonnée.",
        )
        changed = True
    return _send_reminders(sollicitation, now) or changed


def _closed(candidature: Candidature, now: datetime, reason: str) -> None:
    candidature.closed_at = now
    candidature.closed_reason = reason


def _send_reminders(sollicitation: Sollicitation, now: datetime) -> bool:
    """Half-time and one working day before the decisive deadline; if the sweep was
    down through both moments, only the later reminder goes."""
    due_at = sollicitation.effective_due_at
    last_at = max(one_working_day_before(due_at), sollicitation.opened_at)
    half_at = halfway(sollicitation.opened_at, due_at)
    candidature = sollicitation.candidature
    if now >= due_at:
        return False
    if sollicitation.reminder_last_sent_at is None and now >= last_at:
        sollicitation.reminder_last_sent_at = now
        if sollicitation.reminder_half_sent_at is None:
            sollicitation.reminder_half_sent_at = now
        sollicitation.save(update_fields=["reminder_last_sent_at", "reminder_half_sent_at"])
        notify_company(
            candidature,
            title=f"Dernier jour pour répondre à l’ANS — {candidature.nom_commercial}",
            body=f"La sollicitation de l’ANS attend votre réponse au plus tard le "
            f"{due_display(due_at)}.",
        )
        return True
    if sollicitation.reminder_half_sent_at is None and now >= half_at:
        sollicitation.reminder_half_sent_at = now
        sollicitation.save(update_fields=["reminder_half_sent_at"])
        notify_company(
            candidature,
            title=f"Rappel : l’ANS attend votre réponse — {candidature.nom_commercial}",
            body=f"La moitié du délai est écoulée. Répondez avant le {due_display(due_at)}.",
        )
        return True
    return False


def _notify_agency(sollicitation: Sollicitation, title: str) -> None:
    notification_send(
        recipients=[sollicitation.opened_by],
        title=title,
        body=f"Sollicitation du {format_paris_datetime(sollicitation.opened_at)} restée sans réponse.",
        url=candidature_url(sollicitation.candidature),
    )


def _notify_exchanges_closed(sollicitation: Sollicitation) -> None:
    candidature = sollicitation.candidature
    jalon = PHASE_JALON[sollicitation.phase].upper()
    notify_company(
        candidature,
        title=f"Fin des échanges ({jalon}) — {candidature.nom_commercial}",
        body=f"Les échanges de cette phase sont clos depuis le {due_display(sollicitation.closes_at)} "
        f"({jalon}) : la sollicitation de l’ANS n’attend plus de réponse. L’ANS décidera "
        "sur les éléments reçus.",
    )
    _notify_agency(sollicitation, f"Échanges clos ({jalon}) — {candidature.reference}")
