"""Reads on candidatures: queues, timelines, clocks as pages show them, public lists.

Clock status is computed here from stored timestamps at each request, so a page is
right even when the sweep is late.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from candidatures.enums import (
    IN_PROGRESS_STATES,
    CandidatureState,
    SollicitationPhase,
    SollicitationStatus,
)
from candidatures.models import Candidature, Sollicitation, SollicitationMessage
from candidatures.services.sollicitation import deprioritised_at
from segur_portal.clocks import due_display, remaining_display

S = CandidatureState
Phase = SollicitationPhase

QUEUES = {
    # name: (title, state, submission field, jalon closing the exchanges)
    "administratif": ("Candidatures administratives", S.ADMIN_SOUMISE, "admin_submitted_at", "j3"),
    "eligibilite": ("Éligibilité", S.ELIGIBILITE_SOUMISE, "eligibility_submitted_at", "j5"),
}


@dataclass(frozen=True)
class Clock:
    label: str
    overdue: bool
    due_at: datetime


def sollicitation_clocks(sollicitation: Sollicitation, now: datetime) -> list[Clock]:
    """What a page says about an open sollicitation's deadlines, from stored instants."""
    if sollicitation.status != SollicitationStatus.OUVERTE:
        return []
    clocks = []
    if sollicitation.phase == Phase.INSTRUCTION:
        place = deprioritised_at(sollicitation)
        if now < place:
            clocks.append(
                Clock(
                    "Place garantie dans la file : "
                    + remaining_display(due_at=place, now=now, unit="hours"),
                    False,
                    place,
                )
            )
        due_unit = "calendar_days"
    else:
        due_unit = "working_days"
    if sollicitation.closes_at < sollicitation.due_at:
        due_at, unit = sollicitation.closes_at, "calendar_days"
    else:
        due_at, unit = sollicitation.due_at, due_unit
    label = remaining_display(
        due_at=due_at, now=now, unit=unit, counted_from=sollicitation.opened_at
    )
    clocks.append(Clock(label, now >= due_at, due_at))
    return clocks


def queue(name: str, *, now: datetime, dsr_code: str = "", filter_state: str = ""):
    """A phase's queue, oldest submission first, with each row's open sollicitation."""
    title, state, submitted_field, jalon = QUEUES[name]
    candidatures = (
        Candidature.objects.filter(state=state)
        .select_related("editeur", "campagne__dsr")
        .prefetch_related(
            Prefetch(
                "sollicitations",
                queryset=Sollicitation.objects.filter(status=SollicitationStatus.OUVERTE),
                to_attr="open_sollicitations",
            )
        )
        .order_by(submitted_field, "pk")
    )
    if dsr_code:
        candidatures = candidatures.filter(campagne__dsr__code=dsr_code)
    rows = []
    for candidature in candidatures:
        open_sollicitation = next(iter(candidature.open_sollicitations), None)
        waiting = open_sollicitation is not None
        if filter_state == "sollicitee" and not waiting:
            continue
        if filter_state == "a_decider" and waiting:
            continue
        closes_at = getattr(candidature.campagne, jalon)
        rows.append(
            {
                "candidature": candidature,
                "submitted_at": getattr(candidature, submitted_field),
                "sollicitation": open_sollicitation,
                "clocks": sollicitation_clocks(open_sollicitation, now) if waiting else [],
                "overdue": now >= closes_at,
                "closes_at": closes_at,
                "jalon": jalon.upper(),
            }
        )
    return title, rows


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    title: str
    text: str
    who: str
    kind: str


def _who(user, *, for_agency: bool) -> str:
    if user is None:
        return "Le portail (délai échu)"
    if user.is_agency and not for_agency:
        return "Agence du Numérique en Santé"
    return user.get_full_name()


def timeline(candidature: Candidature, *, for_agency: bool) -> list[TimelineEntry]:
    """The candidature's history. The editor sees its own actions and the agency's
    decisions and requests; agency staff also see who acted and the reminders sent."""
    entries = [
        TimelineEntry(
            at=transition.at,
            title=f"{S(transition.from_state).label} → {S(transition.to_state).label}",
            text=transition.reason,
            who=_who(transition.actor, for_agency=for_agency),
            kind="transition",
        )
        for transition in candidature.transitions.select_related("actor")
    ]
    entries.append(
        TimelineEntry(
            candidature.created_at,
            "Candidature créée",
            "",
            _who(candidature.created_by, for_agency=True),
            "transition",
        )  # fmt: skip
    )
    for sollicitation in candidature.sollicitations.all():
        if sollicitation.expired_at:
            entries.append(
                TimelineEntry(
                    sollicitation.expired_at,
                    "Sollicitation close sans réponse",
                    f"Échéance : {due_display(sollicitation.effective_due_at)}",
                    _who(None, for_agency=for_agency),
                    "clock",
                )
            )
        if for_agency:
            for at, label in [
                (sollicitation.reminder_half_sent_at, "Rappel de mi-délai envoyé"),
                (sollicitation.reminder_last_sent_at, "Rappel du dernier jour envoyé"),
            ]:
                if at:
                    entries.append(TimelineEntry(at, label, "", "Le portail", "reminder"))
    for message in SollicitationMessage.objects.filter(
        sollicitation__candidature=candidature
    ).select_related("author"):
        entries.append(
            TimelineEntry(
                message.at,
                "Sollicitation de l’ANS" if message.from_agency else "Réponse de l’éditeur",
                message.text,
                _who(message.author, for_agency=for_agency),
                "message",
            )
        )
    return sorted(entries, key=lambda entry: entry.at)


def public_in_progress(dsr_code: str = "") -> QuerySet[Candidature]:
    candidatures = (
        Candidature.objects.filter(state__in=IN_PROGRESS_STATES)
        .select_related("editeur", "campagne__dsr")
        .prefetch_related("profils")
        .order_by("campagne__dsr__code", "editeur__raison_sociale", "nom_commercial")
    )
    if dsr_code:
        candidatures = candidatures.filter(campagne__dsr__code=dsr_code)
    return candidatures


def public_parc(candidature_id: int) -> Candidature:
    """A candidature whose customer-base versions list is public (received)."""
    return (
        Candidature.objects.filter(pk=candidature_id, parc_received_at__isnull=False)
        .exclude(state=S.BROUILLON)
        .select_related("editeur", "campagne__dsr")
        .prefetch_related("versions_parc")
        .get()
    )


def queue_counts(*, now: datetime) -> list[dict]:
    counts = []
    for name, (title, state, _field, jalon) in QUEUES.items():
        candidatures = Candidature.objects.filter(state=state)
        counts.append(
            {
                "name": name,
                "title": title,
                "total": candidatures.count(),
                "waiting": candidatures.filter(sollicitations__status=SollicitationStatus.OUVERTE)
                .distinct()
                .count(),
                "overdue": candidatures.filter(**{f"campagne__{jalon}__lte": now}).count(),
            }
        )
    return counts


def editor_dashboard(user) -> dict:
    """The editor's next steps (address, CGU, company) and its candidatures."""
    from candidatures.services.onboarding import cgu_accepted

    steps = [
        (
            "Confirmer mon adresse électronique",
            user.email_verified_at is not None,
            "signup_pending",
        ),
        ("Accepter les conditions générales d’utilisation", cgu_accepted(user), "cgu"),
        ("Déclarer mon entreprise", user.editeur_id is not None, "candidatures:editeur_declare"),
    ]
    candidatures = []
    open_sollicitations = []
    if user.editeur_id:
        candidatures = list(
            Candidature.objects.filter(editeur_id=user.editeur_id).select_related("campagne__dsr")
        )
        open_sollicitations = list(
            Sollicitation.objects.filter(
                candidature__editeur_id=user.editeur_id, status=SollicitationStatus.OUVERTE
            ).select_related("candidature")
        )
    now = timezone.now()
    for sollicitation in open_sollicitations:
        sollicitation.clocks = sollicitation_clocks(sollicitation, now)
    return {
        "editeur": user.editeur,
        "steps": steps,
        "onboarded": all(done for _label, done, _url in steps),
        "candidatures": candidatures,
        "open_sollicitations": open_sollicitations,
    }
