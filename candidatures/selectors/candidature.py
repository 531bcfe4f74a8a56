"""Reads on candidatures: queues, timelines, clocks as pages show them, public lists.

Clock status is computed here from stored timestamps at each request, so a page is
right even when the sweep is late.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db.models import (
    CharField,
    Exists,
    Func,
    Prefetch,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Concat
from django.urls import reverse
from django.utils import timezone

from candidatures.enums import (
    IN_PROGRESS_STATES,
    CandidatureState,
    SollicitationPhase,
    SollicitationStatus,
)
from candidatures.models import (
    Candidature,
    Cgu,
    CguAcceptance,
    MembreGroupement,
    Sollicitation,
)
from candidatures.services.sollicitation import deprioritised_at
from segur_portal.clocks import due_display, format_paris_datetime, remaining_display
from segur_portal.compiled import CompiledQuery
from segur_portal.enums import JournalKind
from segur_portal.models import JournalEntry, Notification, User

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


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    title: str
    text: str
    who: str
    kind: str
    seq: int = 0


def _who(user, *, for_agency: bool, portal: str = "Le portail (délai échu)") -> str:
    if user is None:
        return portal
    if user.is_agency and not for_agency:
        return "Agence du Numérique en Santé"
    return user.get_full_name()


K = JournalKind
# What a candidature's history shows, read from the journal (segur_portal.journal). The
# registry's own entries repeat the transitions; a file received is not yet anyone's.
TIMELINE_KINDS = [
    K.CANDIDATURE_CREEE,
    K.TRANSITION,
    K.REM_MOVE,
    K.SOLLICITATION_MESSAGE,
    K.SOLLICITATION_CLOSE,
    K.SOLLICITATION_EXPIREE,
    K.SOLLICITATION_RAPPEL,
    K.FICHIER_VERIFIE,
    K.FICHIER_TELECHARGE,
    K.PREUVE_DEPOSEE,
    K.PREUVE_RETIREE,
    K.VERDICT,
    K.SIGNATURE,
    K.DECISION,
    K.ATTESTATION,
]
# The exchanges between the instructor and the company, which the collège never reads,
# nor the files of those exchanges and of the eligibility form (docs/SECURITY.md).
EXCHANGE_KINDS = [K.SOLLICITATION_MESSAGE, K.SOLLICITATION_CLOSE]
PRIVATE_FILE_CONTEXTS = ["sollicitation", "eligibilite"]
FILE_KINDS = [K.FICHIER_VERIFIE, K.FICHIER_TELECHARGE]
TIMELINE_RECENT = 50
CONSULTATIONS = {
    "telechargement": "Fichier téléchargé",
    "apercu": "Fichier consulté (aperçu)",
    "archive": "Fichier téléchargé dans l’archive du dossier",
}


def timeline_entries(candidature: Candidature, *, for_agency: bool, with_exchanges: bool = True):
    """The journal's entries of the candidature that this reader sees, oldest first: the
    editor does not see the portal's reminders to it; the collège (without
    `with_exchanges`) sees no message of a sollicitation nor their files."""
    entries = JournalEntry.objects.filter(candidature=candidature, kind__in=TIMELINE_KINDS)
    if not for_agency:
        entries = entries.exclude(kind=K.SOLLICITATION_RAPPEL)
    if not with_exchanges:
        entries = entries.exclude(kind__in=EXCHANGE_KINDS).exclude(
            kind__in=FILE_KINDS, data__context__in=PRIVATE_FILE_CONTEXTS
        )
    return entries.select_related("actor").order_by("at", "seq")


def timeline(
    candidature: Candidature,
    *,
    for_agency: bool,
    with_exchanges: bool = True,
    recent: int | None = TIMELINE_RECENT,
) -> list[TimelineEntry]:
    """The candidature's history as its page shows it: the `recent` last events (all of
    them with None), oldest first, in one query whatever the history's length."""
    entries = timeline_entries(candidature, for_agency=for_agency, with_exchanges=with_exchanges)
    if recent is not None:
        entries = list(entries.reverse()[:recent])[::-1]
    return [timeline_entry(entry, for_agency=for_agency) for entry in entries]


def _instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _state(value: str) -> str:
    return S(value).label if value in S.values else value


def _label(choices, value: str) -> str:
    return choices(value).label if value in choices.values else value


def _files(data: dict) -> str:
    names = [f"{f['name']} (SHA-256 {f['sha256']})" for f in data.get("fichiers", [])]
    return "\n\nPièces jointes : " + ", ".join(names) if names else ""


def timeline_entry(entry, *, for_agency: bool) -> TimelineEntry:
    """One entry of the journal as a line of the history."""
    from college.enums import DecisionKind
    from preuves.enums import FichierStatus, Verdict

    data, kind = entry.data, entry.kind
    who = _who(entry.actor, for_agency=for_agency)
    css = "transition"
    if kind == K.CANDIDATURE_CREEE:
        title, text = "Candidature créée", ""
        who = _who(entry.actor, for_agency=True)
    elif kind == K.TRANSITION:
        title = f"{_state(data['from'])} → {_state(data['to'])}"
        text = data.get("reason", "")
    elif kind == K.REM_MOVE:
        title = f"Version du REM : {data['from']} → {data['to']}"
        text = f"Motif : {data['reason']}"
    elif kind == K.SOLLICITATION_EXPIREE:
        title, css = "Sollicitation close sans réponse", "clock"
        text = f"Délai de réponse : {due_display(_instant(data['due_at']))}"
    elif kind == K.SOLLICITATION_RAPPEL:
        title = (
            "Rappel de mi-délai envoyé"
            if data.get("reminder") == "half"
            else "Rappel du dernier jour envoyé"
        )
        text, who, css = "", "Le portail", "reminder"
    elif kind == K.SOLLICITATION_CLOSE:
        title = "Échange clos"
        text = f"Sollicitation du {format_paris_datetime(_instant(data['opened_at']))}"
        who = _who(
            entry.actor,
            for_agency=for_agency,
            portal="Le portail (fin des échanges de la phase)",
        )
    elif kind == K.SOLLICITATION_MESSAGE:
        if data["from_agency"]:
            title = "Sollicitation de l’ANS" if data.get("first") else "Message de l’ANS"
        else:
            title = "Message de l’éditeur"
        text, css = data["text"] + _files(data), "message"
    elif kind == K.FICHIER_VERIFIE:
        title = f"Fichier {_label(FichierStatus, data['status']).lower()} : {data['name']}"
        text = data.get("reason") or f"SHA-256 {data['sha256']}"
        who, css = "Le portail (vérification)", "clock"
    elif kind == K.FICHIER_TELECHARGE:
        how = CONSULTATIONS.get(data.get("consultation", ""), "Fichier téléchargé")
        title, text, css = f"{how} : {data['name']}", "", "reminder"
    elif kind in (K.PREUVE_DEPOSEE, K.PREUVE_RETIREE):
        verb = "déposée" if kind == K.PREUVE_DEPOSEE else "retirée"
        title = f"Preuve {verb} — {data['exigence']}"
        text = data.get("url") or f"{data.get('name', '')} (SHA-256 {data.get('sha256', '')})"
    elif kind == K.VERDICT:
        title = f"{_label(Verdict, data['verdict'])} — {data['exigence']}"
        text = data.get("comment", "")
    elif kind == K.SIGNATURE:
        title = "Convention signée"
        text = f"{data['capacity']} · SHA-256 du document signé : {data['document_sha256']}"
    elif kind == K.DECISION:
        title = f"Décision du collège : {_label(DecisionKind, data['kind'])}"
        reserves = [f"Réserve {r['position']} : {r['text']}" for r in data.get("reserves", [])]
        text = "\n".join([data["text"], *reserves])
    elif kind == K.ATTESTATION:
        title = f"Attestation {data['numero']}"
        text = f"SHA-256 du PDF : {data['sha256']}" if data.get("sha256") else "Numéro attribué"
        who = _who(entry.actor, for_agency=for_agency, portal="Le portail")
    else:
        title, text = JournalKind(kind).label, ""
    return TimelineEntry(entry.at, title, text, who, css, entry.seq)


def eligibility_record(candidature_id: int) -> Candidature:
    """The eligibility form as submitted, every annex with its file, in a fixed number
    of queries whatever the number of rows."""
    return (
        Candidature.objects.select_related(
            "editeur",
            "campagne__dsr",
            "cnda_depot",
            "lettre_engagement",
            "parc_fichier",
        )
        .prefetch_related(
            "profils",
            "composants",
            Prefetch(
                "membres_groupement",
                queryset=MembreGroupement.objects.select_related("mandat"),
            ),
            "distributeurs",
            "versions_parc",
        )
        .get(pk=candidature_id)
    )


def eligibility_received_file(*, candidature: Candidature, fichier_id: str):
    """A document of the eligibility form received by an earlier post, as its page names
    it: only a file the company's own users stored; anything else is ignored."""
    from preuves.models import Fichier

    try:
        key = uuid.UUID(str(fichier_id))
    except ValueError:
        return None
    return Fichier.objects.filter(
        pk=key,
        editeur_id=candidature.editeur_id,
        uploaded_by__editeur_id=candidature.editeur_id,
    ).first()


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


def public_withdrawn(dsr_code: str = "") -> QuerySet[Candidature]:
    """Candidatures withdrawn by their company once published in progress: they stay
    on the public list, with the date and the company's reason (issue 13)."""
    candidatures = (
        Candidature.objects.filter(state=S.RETIREE, admin_validated_at__isnull=False)
        .select_related("editeur", "campagne__dsr")
        .prefetch_related("profils")
        .order_by("-closed_at", "pk")
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


@dataclass(frozen=True)
class EditorDashboardFacts:
    """What the editor's dashboard shows that can change without the public data's
    version changing (segur_portal.cache.public_pages_changed, which every change of a
    candidature's state or public data and of a company's data draws), read in one query
    over indexed columns: together with that version, they key the page kept for the
    account (segur_portal.cache.account_page). Ids only grow, so a set of rows is told
    apart from any other by its count and its largest id. `account` holds the fields of
    the signed-in account the page shows: its name in the header, its next steps, its
    company and its role there."""

    account: tuple
    candidatures: str
    open_sollicitations: str
    unread_notifications: int
    cgu: int | None
    cgu_accepted: bool


def _count_and_last(queryset: QuerySet) -> Subquery:
    """The queryset's rows summed up as "count:largest id", in one scalar subquery."""
    value = Concat(
        Func("pk", function="COUNT"),
        Value(":"),
        Func("pk", function="MAX"),
        output_field=CharField(),
    )
    return Subquery(queryset.order_by().annotate(value=value).values("value")[:1])


# Put in the place of the account's and its company's ids when the statement is compiled.
_ACCOUNT = -7_020_604
_COMPANY = -7_020_605


def _facts_queryset(account: int, company: int) -> QuerySet:
    """The facts in one statement, compiled (and prepared, on PostgreSQL) once per
    process: the ORM takes about 5 ms to build it, more than the database takes to
    answer it. The subqueries read the account and company as constants, which
    PostgreSQL plans and runs in about half the time of subqueries correlated to the
    account's row."""
    cgu = Subquery(Cgu.objects.order_by("-published_at").values("pk")[:1])
    return (
        User.objects.filter(pk=account)
        .order_by()
        .values(
            candidatures=_count_and_last(Candidature.objects.filter(editeur_id=company)),
            open_sollicitations=_count_and_last(
                Sollicitation.objects.filter(
                    candidature__editeur_id=company, status=SollicitationStatus.OUVERTE
                )
            ),
            unread_notifications=Subquery(
                Notification.objects.filter(recipient_id=account, read_at__isnull=True)
                .order_by()
                .annotate(value=Func("pk", function="COUNT"))
                .values("value")[:1]
            ),
            cgu=cgu,
            cgu_accepted=Exists(CguAcceptance.objects.filter(user_id=account, cgu_id=cgu)),
        )
    )


_FACTS = CompiledQuery(_facts_queryset, account=_ACCOUNT, company=_COMPANY)


def editor_dashboard_facts(user) -> EditorDashboardFacts:
    (row,) = _FACTS.dicts(account=user.pk, company=user.editeur_id)
    return EditorDashboardFacts(
        account=(
            user.pk,
            user.email,
            user.first_name,
            user.last_name,
            user.email_verified_at is not None,
            user.role,
            user.editeur_id,
            user.company_role,
        ),
        candidatures=row["candidatures"],
        open_sollicitations=row["open_sollicitations"],
        unread_notifications=row["unread_notifications"],
        cgu=row["cgu"],
        cgu_accepted=bool(row["cgu_accepted"]),
    )


def editor_dashboard(user, *, facts: EditorDashboardFacts) -> dict:
    """The editor's next steps (address, CGU, company) and its candidatures, each with
    the address of its page, reversed once per candidature: the open sollicitations
    link to their candidature's page, which the company's list already holds, and carry
    their link and title ready for the template (a hundred of them on a company's page
    at the wave's size)."""
    from candidatures.permissions import can_edit_company

    steps = [
        (
            "Confirmer mon adresse électronique",
            user.email_verified_at is not None,
            "signup_pending",
        ),
        (
            "Accepter les conditions générales d’utilisation",
            facts.cgu is None or facts.cgu_accepted,
            "cgu",
        ),
        ("Déclarer mon entreprise", user.editeur_id is not None, "candidatures:editeur_declare"),
    ]
    candidatures = []
    open_sollicitations = []
    if user.editeur_id:
        candidatures = list(
            Candidature.objects.filter(editeur_id=user.editeur_id)
            .select_related("campagne__dsr")
            .only(
                "state",
                "nom_commercial",
                "version_technique",
                "created_at",
                "campagne__dsr__code",
            )
            .order_by("-created_at", "-pk")
        )
        open_sollicitations = list(
            Sollicitation.objects.filter(
                candidature__editeur_id=user.editeur_id, status=SollicitationStatus.OUVERTE
            ).only("candidature_id", "phase", "status", "opened_at", "due_at", "closes_at")
        )
    by_id = {}
    for candidature in candidatures:
        candidature.url = reverse("candidatures:detail", args=[candidature.pk])
        by_id[candidature.pk] = candidature
    now = timezone.now()
    for sollicitation in open_sollicitations:
        candidature = by_id[sollicitation.candidature_id]
        sollicitation.url = f"{candidature.url}#sollicitation-{sollicitation.pk}"
        sollicitation.title = f"{candidature.nom_commercial} ({candidature.reference})"
        sollicitation.clocks = sollicitation_clocks(sollicitation, now)
    return {
        "editeur": user.editeur,
        "can_edit_company": can_edit_company(user),
        "steps": steps,
        "onboarded": all(done for _label, done, _url in steps),
        "candidatures": candidatures,
        "open_sollicitations": open_sollicitations,
    }
