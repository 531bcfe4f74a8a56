"""The agency's lists of candidatures: the three instruction queues and the list of
every candidature, with the same filters, sorts, counts and exports (issue 12).

Everything a row says about its clocks is read from stored instants in SQL (the open
sollicitation's deadline, the jalon closing the phase's exchanges, the lost place in
the proofs queue, the instruction time net of suspensions), so a page, a sort, a count
and an export agree, and are right even when the sweep is late. A page runs a fixed
number of queries whatever the number of rows.
"""

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from django.db.models import (
    BooleanField,
    Case,
    Count,
    DateTimeField,
    DurationField,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Least
from django.db.models.lookups import GreaterThan, IsNull, LessThanOrEqual

from candidatures.enums import (
    TERMINAL_STATES,
    CandidatureState,
    SollicitationPhase,
    SollicitationStatus,
)
from candidatures.models import Candidature, Sollicitation
from candidatures.selectors.candidature import sollicitation_clocks
from preuves.instruction import (
    INDICATIVE_INSTRUCTION_TIME,
    instruction_elapsed_expression,
    instruction_queue,
    place_lost_expression,
)
from segur_portal.listing import Sort, sort_from, text_param

S = CandidatureState
PROOF_STATES = (S.DOSSIER_SOUMIS, S.EN_INSTRUCTION)
PAGE_SIZE = 50


@dataclass(frozen=True)
class Queue:
    title: str
    states: tuple[str, ...]
    # When the candidature entered the queue: the queues are first in, first out.
    submitted_field: str
    submitted_label: str
    # What the « État » filter offers in this queue: value -> label.
    etats: Mapping[str, str]


QUEUES = {
    "administratif": Queue(
        "Candidatures administratives",
        (S.ADMIN_SOUMISE,),
        "admin_submitted_at",
        "Soumise le",
        {"a_decider": "À décider", "sollicitee": "En attente de l’éditeur"},
    ),
    "eligibilite": Queue(
        "Éligibilité",
        (S.ELIGIBILITE_SOUMISE,),
        "eligibility_submitted_at",
        "Soumise le",
        {"a_decider": "À décider", "sollicitee": "En attente de l’éditeur"},
    ),
    "preuves": Queue(
        "Instruction des preuves",
        PROOF_STATES,
        "dossier_submitted_at",
        "Dossier complet reçu le",
        {
            "a_prendre": "À prendre",
            "en_instruction": "En instruction",
            "sollicitee": "En attente de l’éditeur",
        },
    ),
}
# The list of every candidature: a state, or a group of them.
LIST_ETATS = {
    "en_cours": "Toutes les candidatures ouvertes",
    "closes": "Toutes les candidatures closes",
    **{state.value: state.label for state in S},
}
LATE = {
    "jalon": "fin des échanges dépassée",
    "six_semaines": "instruction au-delà des 6 semaines",
    "depriorisee": "dépriorisée",
    "sollicitation": "sollicitation sans réponse dans le délai",
}
REFERENCE = re.compile(r"^\s*C?-?0*(\d{1,9})\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class AgencyFilters:
    """A list's filters as the query string carries them; anything unknown is ignored."""

    dsr: str = ""
    text: str = ""
    etat: str = ""
    # "" every instructor, "moi" mine, "aucun" unassigned, else a user's id.
    instructeur: str = ""
    # "" all, "1" any delay, or one kind of LATE.
    retard: str = ""

    @classmethod
    def from_params(cls, params: Mapping, *, etats: Mapping[str, str]) -> "AgencyFilters":
        etat = text_param(params, "etat")
        instructeur = text_param(params, "instructeur")
        retard = text_param(params, "retard")
        return cls(
            dsr=text_param(params, "dsr"),
            text=text_param(params, "q"),
            etat=etat if etat in etats else "",
            instructeur=instructeur
            if instructeur in {"moi", "aucun"} or instructeur.isdigit()
            else "",
            retard=retard if retard == "1" or retard in LATE else "",
        )

    @property
    def active(self) -> bool:
        return any((self.dsr, self.text, self.etat, self.instructeur, self.retard))


def _open_sollicitations():
    return Sollicitation.objects.filter(
        candidature=OuterRef("pk"), status=SollicitationStatus.OUVERTE
    )


def _open_sollicitation_due():
    """The deadline of the candidature's open sollicitation: its answer is due, or the
    jalon ends the exchanges, whichever comes first."""
    return Subquery(
        _open_sollicitations()
        .annotate(effective_due=Least("due_at", "closes_at"))
        .order_by("effective_due")
        .values("effective_due")[:1],
        output_field=DateTimeField(),
    )


@dataclass(frozen=True)
class Clocks:
    """The clocks of a candidature as SQL expressions, computed from stored instants:
    what the lists show (jalon_at, place_lost_at, instruction_elapsed) and when a row is
    late, by cause (boolean expressions, usable in a filter or a count)."""

    jalon_at: Case
    place_lost_at: Case
    instruction_elapsed: Case
    waiting: Exists
    late: dict


def clocks(now: datetime) -> Clocks:
    in_proofs = Q(state__in=PROOF_STATES)
    at_now = Value(now, output_field=DateTimeField())
    jalon_at = Case(
        When(state=S.ADMIN_SOUMISE, then=F("campagne__j3")),
        When(state=S.ELIGIBILITE_SOUMISE, then=F("campagne__j5")),
        When(in_proofs, then=F("campagne__j7")),
        default=None,
        output_field=DateTimeField(),
    )
    place_lost_at = Case(
        When(in_proofs, then=place_lost_expression(now)),
        default=None,
        output_field=DateTimeField(),
    )
    instruction_elapsed = Case(
        When(
            in_proofs & Q(dossier_submitted_at__isnull=False),
            then=instruction_elapsed_expression(now),
        ),
        default=None,
        output_field=DurationField(),
    )
    six_weeks = Value(INDICATIVE_INSTRUCTION_TIME, output_field=DurationField())
    return Clocks(
        jalon_at=jalon_at,
        place_lost_at=place_lost_at,
        instruction_elapsed=instruction_elapsed,
        waiting=Exists(_open_sollicitations()),
        late={
            # The cheap conditions first: PostgreSQL stops at the first that holds.
            "jalon": LessThanOrEqual(jalon_at, at_now),
            "depriorisee": IsNull(place_lost_at, False),
            "sollicitation": Exists(
                _open_sollicitations()
                .annotate(effective_due=Least("due_at", "closes_at"))
                .filter(effective_due__lte=now)
            ),
            # Only a dossier received more than 6 weeks ago can be over them: the sum
            # of its suspensions is read for those only.
            "six_semaines": Q(
                in_proofs,
                dossier_submitted_at__lte=now - INDICATIVE_INSTRUCTION_TIME,
            )
            & Q(GreaterThan(instruction_elapsed, six_weeks)),
        },
    )


def _any_late(clock: Clocks) -> Q:
    combined = Q()
    for condition in clock.late.values():
        combined |= Q(condition)
    return combined


def with_clocks(candidatures: QuerySet, *, now: datetime) -> QuerySet:
    """The clock columns every agency list shows, sorts and exports by, and whether
    the row is late (`late`, an alias the sort and the filters use)."""
    clock = clocks(now)
    return candidatures.annotate(
        jalon_at=clock.jalon_at,
        place_lost_at=clock.place_lost_at,
        instruction_elapsed=clock.instruction_elapsed,
        sollicitation_due_at=_open_sollicitation_due(),
    ).alias(
        late=Case(
            When(_any_late(clock), then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
    )


def _search(candidatures: QuerySet, text: str) -> QuerySet:
    """A company (name or SIRET), a software (name or technical version), or a number:
    the candidature's (C-000123, 123) or its attestation's."""
    condition = (
        Q(editeur__raison_sociale__icontains=text)
        | Q(editeur__siret__startswith=text.replace(" ", ""))
        | Q(nom_commercial__icontains=text)
        | Q(version_technique__icontains=text)
        | Q(attestation__numero__icontains=text)
    )
    reference = REFERENCE.match(text)
    if reference:
        condition |= Q(pk=int(reference.group(1)))
    return candidatures.filter(condition)


def _etat(candidatures: QuerySet, etat: str) -> QuerySet:
    waiting = Q(Exists(_open_sollicitations()))
    if etat == "a_decider":
        return candidatures.exclude(waiting)
    if etat == "sollicitee":
        return candidatures.filter(waiting)
    if etat == "a_prendre":
        return candidatures.filter(state=S.DOSSIER_SOUMIS)
    if etat == "en_instruction":
        return candidatures.filter(state=S.EN_INSTRUCTION)
    if etat == "en_cours":
        return candidatures.exclude(state__in=TERMINAL_STATES)
    if etat == "closes":
        return candidatures.filter(state__in=TERMINAL_STATES)
    if etat in S.values:
        return candidatures.filter(state=etat)
    return candidatures


def _instructeur(candidatures: QuerySet, value: str, user) -> QuerySet:
    if value == "moi":
        return candidatures.filter(instructeur=user)
    if value == "aucun":
        return candidatures.filter(instructeur__isnull=True)
    if value.isdigit():
        return candidatures.filter(instructeur_id=int(value))
    return candidatures


def _late(candidatures: QuerySet, retard: str, now: datetime) -> QuerySet:
    if retard == "1":
        return candidatures.filter(late=True)
    if retard in LATE:
        return candidatures.filter(Q(clocks(now).late[retard]))
    return candidatures


@dataclass
class AgencyList:
    """A filtered, sorted list; `scope` is it before the filters on the instructor, the
    state and the delays, which the counts break down."""

    candidatures: QuerySet
    scope: QuerySet
    filters: AgencyFilters
    sort: Sort
    now: datetime


def _sorts(queue: Queue | None) -> dict[str, list]:
    if queue is None:
        submitted = F("created_at")
        file_order = [F("created_at").desc(), "pk"]
    else:
        submitted = F(queue.submitted_field)
        file_order = [submitted.asc(), "pk"]
        if queue.states == PROOF_STATES:
            # The regulatory order: first in, first out, dépriorisées behind (DSR §4.5).
            file_order = [F("place_lost_at").asc(nulls_first=True), submitted.asc(), "pk"]
    return {
        "retard": [F("late").desc(), *file_order],
        "file": file_order,
        "anciennete": [submitted.asc(nulls_last=True), "pk"],
        # Phase 1: the nearest answer due; proofs: the instruction time, longest first.
        "horloge": [F("sollicitation_due_at").asc(nulls_last=True), *file_order]
        if queue is None or queue.states != PROOF_STATES
        else [F("instruction_elapsed").desc(nulls_last=True), *file_order],
        "echeance": [F("jalon_at").asc(nulls_last=True), *file_order],
        "reference": ["pk"],
        "editeur": ["editeur__raison_sociale", "nom_commercial", "pk"],
        "logiciel": ["nom_commercial", "version_technique", "pk"],
        "dsr": ["campagne__dsr__code", *file_order],
        "etat": ["state", *file_order],
        "instructeur": [
            F("instructeur__last_name").asc(nulls_first=True),
            "instructeur__first_name",
            *file_order,
        ],
    }


SORT_LABELS = {
    "retard": "En retard d’abord",
    "file": "Ordre de la file",
    "anciennete": "Ancienneté (plus ancienne d’abord)",
    "-anciennete": "Ancienneté (plus récente d’abord)",
    "horloge": "Délai le plus proche",
    "echeance": "Fin des échanges la plus proche",
}
QUEUE_SORT_LABELS = {
    **SORT_LABELS,
    "file": "Ordre de la file (premier arrivé, premier servi)",
}
PROOFS_SORT_LABELS = {**QUEUE_SORT_LABELS, "horloge": "Temps d’instruction le plus long"}
LIST_SORT_LABELS = {**SORT_LABELS, "file": "Création (plus récente d’abord)"}
LIST_SORT_LABELS["anciennete"] = "Création (plus ancienne d’abord)"
LIST_SORT_LABELS.pop("-anciennete")


def sort_labels(queue: Queue | None) -> dict[str, str]:
    if queue is None:
        return LIST_SORT_LABELS
    return PROOFS_SORT_LABELS if queue.states == PROOF_STATES else QUEUE_SORT_LABELS


def agency_list(
    *, queue: Queue | None, params: Mapping, user, now: datetime, base: QuerySet | None = None
) -> AgencyList:
    """A queue (its states only) or, with queue=None, every candidature but the
    drafts, filtered and sorted as `params` say."""
    filters = AgencyFilters.from_params(params, etats=queue.etats if queue else LIST_ETATS)
    candidatures = base if base is not None else Candidature.objects.all()
    if queue is not None:
        candidatures = candidatures.filter(state__in=queue.states)
    else:
        candidatures = candidatures.exclude(state=S.BROUILLON)
    if filters.dsr:
        candidatures = candidatures.filter(campagne__dsr__code=filters.dsr)
    if filters.text:
        candidatures = _search(candidatures, filters.text)
    scope = candidatures
    candidatures = _etat(with_clocks(candidatures, now=now), filters.etat)
    candidatures = _instructeur(candidatures, filters.instructeur, user)
    candidatures = _late(candidatures, filters.retard, now)
    sort = sort_from(params, _sorts(queue), "retard")
    return AgencyList(
        candidatures.select_related("editeur", "campagne__dsr", "instructeur").order_by(
            *sort.ordering
        ),
        scope,
        filters,
        sort,
        now,
    )


def agency_counts(listing: AgencyList, *, user) -> dict[str, int]:
    """What the filters would show, in one query: the whole list in its scope (DSR and
    search applied), mine, unassigned, waiting for the company, late by cause. Each
    row's conditions are computed once (an inner query), then counted."""
    clock = clocks(listing.now)
    flags = {
        f"is_{kind}": Case(
            When(Q(condition), then=Value(True)), default=Value(False), output_field=BooleanField()
        )
        for kind, condition in {**clock.late, "waiting": clock.waiting}.items()
    }
    late = Q()
    for kind in clock.late:
        late |= Q(**{f"is_{kind}": True})
    return listing.scope.annotate(**flags).aggregate(
        total=Count("pk"),
        mine=Count("pk", filter=Q(instructeur=user)),
        unassigned=Count("pk", filter=Q(instructeur__isnull=True)),
        waiting=Count("pk", filter=Q(is_waiting=True)),
        late=Count("pk", filter=late),
        **{f"late_{kind}": Count("pk", filter=Q(**{f"is_{kind}": True})) for kind in clock.late},
    )


@dataclass
class Row:
    candidature: Candidature
    submitted_at: datetime | None
    sollicitation: Sollicitation | None
    clocks: list
    instruction: dict | None
    late: list[str]
    rank: int | None = None


def late_reasons(candidature: Candidature, now: datetime) -> list[str]:
    """Why a row is late, from its annotations."""
    reasons = []
    if candidature.jalon_at is not None and candidature.jalon_at <= now:
        reasons.append(LATE["jalon"])
    if (
        candidature.instruction_elapsed is not None
        and candidature.instruction_elapsed > INDICATIVE_INSTRUCTION_TIME
    ):
        reasons.append(LATE["six_semaines"])
    if candidature.place_lost_at is not None:
        reasons.append(LATE["depriorisee"])
    if candidature.sollicitation_due_at is not None and candidature.sollicitation_due_at <= now:
        reasons.append(LATE["sollicitation"])
    return reasons


def _instruction(candidature: Candidature) -> dict | None:
    """The instruction time a row shows, from the SQL the list sorts and filters by:
    the same figure as instruction_time, read with the page's rows."""
    elapsed = candidature.instruction_elapsed
    if elapsed is None:
        return None
    return {
        "elapsed_days": elapsed.total_seconds() / 86400,
        "indicative_days": INDICATIVE_INSTRUCTION_TIME.days,
        "paused": any(
            sollicitation.phase == SollicitationPhase.INSTRUCTION
            for sollicitation in candidature.open_sollicitations
        ),
    }


def page_rows(listing: AgencyList, page, *, queue: Queue | None) -> list[Row]:
    """The page's rows with their open sollicitation: one more query whatever the
    page's size (and one for the ranks in the proofs queue)."""
    candidatures = list(
        page.object_list.prefetch_related(
            Prefetch(
                "sollicitations",
                queryset=Sollicitation.objects.filter(status=SollicitationStatus.OUVERTE),
                to_attr="open_sollicitations",
            ),
        )
    )
    page.object_list = candidatures
    ranks = {}
    if queue is not None and queue.states == PROOF_STATES:
        # The regulatory place of each dossier in the whole queue, whatever the filters
        # and the sort of the page: one column of ids.
        ranks = {
            pk: rank
            for rank, pk in enumerate(
                instruction_queue(listing.now).values_list("pk", flat=True), start=1
            )
        }
    now = listing.now
    submitted_field = queue.submitted_field if queue else "created_at"
    rows = []
    for candidature in candidatures:
        sollicitation = next(iter(candidature.open_sollicitations), None)
        rows.append(
            Row(
                candidature=candidature,
                submitted_at=getattr(candidature, submitted_field),
                sollicitation=sollicitation,
                clocks=sollicitation_clocks(sollicitation, now) if sollicitation else [],
                instruction=_instruction(candidature),
                late=late_reasons(candidature, now),
                rank=ranks.get(candidature.pk),
            )
        )
    return rows


EXPORT_HEADER = [
    "Référence",
    "DSR",
    "Éditeur",
    "SIRET",
    "Dénomination commerciale",
    "Version technique",
    "État",
    "Créée le",
    "Dernière soumission le",
    "Instructeur",
    "Fin des échanges de la phase",
    "Réponse de l’éditeur attendue avant",
    "Dépriorisée le",
    "Temps d’instruction net (jours)",
    "En retard",
]
EXPORT_CHUNK = 1000


def _last_submission(candidature: Candidature):
    return (
        candidature.dossier_submitted_at
        or candidature.eligibility_submitted_at
        or candidature.admin_submitted_at
    )


def export_rows(listing: AgencyList) -> Iterator[list]:
    """The list's rows for a spreadsheet, every filter and the sort applied, read by
    chunks from a server-side cursor: no row is kept once written."""
    now = listing.now
    for candidature in listing.candidatures.iterator(chunk_size=EXPORT_CHUNK):
        elapsed = candidature.instruction_elapsed
        yield [
            candidature.reference,
            candidature.campagne.dsr.code,
            candidature.editeur.raison_sociale,
            candidature.editeur.siret,
            candidature.nom_commercial,
            candidature.version_technique,
            S(candidature.state).label,
            candidature.created_at,
            _last_submission(candidature),
            candidature.instructeur.get_full_name() if candidature.instructeur else "",
            candidature.jalon_at,
            candidature.sollicitation_due_at,
            candidature.place_lost_at,
            round(elapsed.total_seconds() / 86400, 1) if elapsed is not None else None,
            ", ".join(late_reasons(candidature, now)),
        ]
