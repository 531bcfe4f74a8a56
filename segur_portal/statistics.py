"""The programme's statistics (issue 12, item 6), per DSR and per period, each computed
by aggregate SQL over stored instants: the transition log, the sollicitations' sending
and answers, the dossiers' reception and closing, the séances' decisions. No figure
depends on the sweep having run.

`programme_statistics(period=…, dsr=…, now=…)` returns the tables; the page draws each
as a chart (segur_portal.charts) above the same table, and each table exports as CSV.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import connection
from django.db.models import (
    Case,
    Count,
    DateField,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    Value,
    When,
)
from django.db.models.lookups import GreaterThan, LessThanOrEqual

from candidatures.enums import CandidatureState as S
from candidatures.enums import SollicitationPhase, SollicitationStatus
from candidatures.models import Candidature, CandidatureTransition, Sollicitation
from college.enums import DecisionKind, SeanceStatus
from college.models import Seance
from preuves.instruction import (
    DEPRIORITISATION_DELAY,
    INDICATIVE_INSTRUCTION_TIME,
    instruction_elapsed_expression,
    lapsed_sollicitations,
)
from segur_portal.clocks import PARIS

STEPS = {"semaine": "Semaine", "mois": "Mois"}
MONTHS = [
    "janv.",
    "févr.",
    "mars",
    "avr.",
    "mai",
    "juin",
    "juil.",
    "août",
    "sept.",
    "oct.",
    "nov.",
    "déc.",
]
# The states a candidature goes through, grouped as the agency follows its stock.
STAGES = [
    ("Phase 1", (S.ADMIN_SOUMISE, S.ADMIN_VALIDEE, S.ELIGIBILITE_SOUMISE)),
    ("Dépôt des preuves", (S.ELIGIBLE,)),
    ("Instruction des preuves", (S.DOSSIER_SOUMIS, S.EN_INSTRUCTION)),
    (
        "Convention et collège",
        (S.PREUVES_VALIDEES, S.CONVENTION_ENVOYEE, S.CONVENTION_SIGNEE, S.EN_COLLEGE),
    ),
    ("Réserves à lever", (S.RESERVES_NON_BLOQUANTES, S.LEVEE_SOUMISE)),
]
STAGE_OF = {state: index for index, (_name, states) in enumerate(STAGES) for state in states}
OUTCOMES = [
    ("Référencées", (S.REFERENCEE,)),
    ("Refusées", (S.REFUSEE,)),
    ("Rejetées", (S.REJETEE,)),
    ("Abandonnées", (S.ABANDONNEE,)),
    ("Retirées", (S.RETIREE,)),
    ("Déréférencées", (S.DEREFERENCEE,)),
]
ANSWER_DELAYS = [
    ("Répondues en 24 h", timedelta(hours=24)),
    ("en 5 jours", timedelta(days=5)),
    ("en 30 jours", timedelta(days=30)),
]
SIX_WEEKS_DAYS = INDICATIVE_INSTRUCTION_TIME.days


@dataclass(frozen=True)
class Period:
    """From `start` to `end` (Paris dates, both included), by week or by month."""

    start: date
    end: date
    step: str = "semaine"

    @property
    def start_at(self) -> datetime:
        return _midnight(self.start)

    @property
    def end_at(self) -> datetime:
        return _midnight(self.end + timedelta(days=1))

    def bucket_of(self, day: date) -> date:
        if self.step == "mois":
            return day.replace(day=1)
        return day - timedelta(days=day.weekday())

    @property
    def buckets(self) -> list[date]:
        """The first day of each week (Monday) or month the period touches."""
        found, day = [], self.bucket_of(self.start)
        while day <= self.end:
            found.append(day)
            if self.step == "mois":
                day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
            else:
                day += timedelta(days=7)
        return found

    def label(self, bucket: date) -> str:
        if self.step == "mois":
            return f"{MONTHS[bucket.month - 1]} {bucket.year}"
        return f"{bucket.day} {MONTHS[bucket.month - 1]}"

    def long_label(self, bucket: date) -> str:
        if self.step == "mois":
            return self.label(bucket)
        return f"semaine du {bucket.day} {MONTHS[bucket.month - 1]} {bucket.year}"

    def bucket(self, field: str, *, later_by: timedelta = timedelta(0)) -> Case:
        """The bucket (its first day) of the instant `later_by` after the one in
        `field`; None before the period. The instant is compared with the buckets'
        starts, halving them at each step, instead of being truncated in the Paris zone:
        the same day without converting each row's instant to that zone, which made
        half the cost of the statistics' scans."""
        starts = [
            (max(self.start_at, _midnight(bucket)) - later_by, bucket) for bucket in self.buckets
        ]

        def halve(starts):
            if len(starts) == 1:
                return Value(starts[0][1], output_field=DateField())
            middle = len(starts) // 2
            return Case(
                When(**{f"{field}__gte": starts[middle][0]}, then=halve(starts[middle:])),
                default=halve(starts[:middle]),
                output_field=DateField(),
            )

        return Case(
            When(**{f"{field}__gte": starts[0][0]}, then=halve(starts)),
            default=None,
            output_field=DateField(),
        )


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=PARIS)


@dataclass
class Table:
    """A chart's figures: what the page shows under the chart and the CSV exports."""

    name: str
    caption: str
    header: list[str]
    rows: list[list] = field(default_factory=list)


def _in_dsr(dsr: str, path: str = "campagne__dsr__code") -> Q:
    return Q(**{path: dsr}) if dsr else Q()


# Candidatures by state, now and over time


def states_now(*, dsr: str) -> tuple[Table, Table]:
    """Every candidature by state, and per DSR by stage and outcome: one query."""
    counts = (
        Candidature.objects.filter(_in_dsr(dsr))
        .values("campagne__dsr__code", "state")
        .annotate(count=Count("pk"))
        .order_by()
    )
    by_state, by_dsr = defaultdict(int), defaultdict(lambda: defaultdict(int))
    for row in counts:
        by_state[row["state"]] += row["count"]
        by_dsr[row["campagne__dsr__code"]][row["state"]] += row["count"]
    states = Table(
        "etats",
        "Candidatures par état aujourd’hui",
        ["État", "Candidatures"],
        [[state.label, by_state[state.value]] for state in S if by_state[state.value]],
    )
    groups = [("Brouillons", (S.BROUILLON,)), *STAGES, *OUTCOMES]
    per_dsr = Table(
        "etats_dsr",
        "Candidatures par DSR, étape et issue, aujourd’hui",
        ["DSR", *[name for name, _states in groups], "Total"],
        [
            [
                code,
                *[sum(states_count[s] for s in group) for _name, group in groups],
                sum(states_count.values()),
            ]
            for code, states_count in sorted(by_dsr.items())
        ],
    )
    return states, per_dsr


def _transitions(*, period: Period, dsr: str):
    """The transition log up to the period's end, counted by period (None: before the
    period) and by move: one query whatever the number of candidatures."""
    return (
        CandidatureTransition.objects.filter(
            _in_dsr(dsr, "candidature__campagne__dsr__code"), at__lt=period.end_at
        )
        .annotate(bucket=period.bucket("at"))
        .values("bucket", "from_state", "to_state")
        .annotate(count=Count("pk"))
        .order_by()
    )


def stock_over_time(moves, *, period: Period) -> Table:
    """How many candidatures stood at each stage at the end of each period, replayed
    from the transition log: each move takes one from its stage and gives one to the
    next."""
    before = [0] * len(STAGES)
    deltas = defaultdict(lambda: [0] * len(STAGES))
    for move in moves:
        target = before if move["bucket"] is None else deltas[move["bucket"]]
        if move["from_state"] in STAGE_OF:
            target[STAGE_OF[move["from_state"]]] -= move["count"]
        if move["to_state"] in STAGE_OF:
            target[STAGE_OF[move["to_state"]]] += move["count"]
    rows, level = [], before
    for bucket in period.buckets:
        level = [a + b for a, b in zip(level, deltas[bucket], strict=True)]
        rows.append([period.long_label(bucket), *level])
    return Table(
        "stock",
        "Candidatures à chaque étape en fin de période",
        ["Période", *[name for name, _states in STAGES]],
        rows,
    )


# Instruction time, net of suspensions


def _percentile(ordered: list, fraction: float):
    """PostgreSQL's percentile_cont: linear interpolation between the closest ranks."""
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _summaries_in_python(rows, key: str) -> dict:
    grouped = defaultdict(list)
    for row in rows:
        grouped[row[key]].append(row["elapsed"])
    result = {}
    for value, durations in grouped.items():
        ordered = sorted(durations)
        result[value] = (
            len(ordered),
            _percentile(ordered, 0.5),
            _percentile(ordered, 0.9),
            sum(1 for d in ordered if d <= INDICATIVE_INSTRUCTION_TIME),
        )
    return result


def _summaries(closed) -> tuple[dict, dict]:
    """Count, median, 90th percentile and number within the 6 weeks, by period
    (`bucket`) and by DSR (`dsr_code`). On PostgreSQL one aggregate query over both
    groupings (percentile_cont), each instruction's time computed once; elsewhere from
    the durations."""
    if connection.vendor != "postgresql":
        rows = list(closed)
        return _summaries_in_python(rows, "bucket"), _summaries_in_python(rows, "dsr_code")
    sql, params = closed.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT GROUPING(bucket), bucket, dsr_code, count(*), "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY elapsed), "
            "percentile_cont(0.9) WITHIN GROUP (ORDER BY elapsed), "
            "count(*) FILTER (WHERE elapsed <= %s) "
            f"FROM ({sql}) AS closed GROUP BY GROUPING SETS ((bucket), (dsr_code))",
            [INDICATIVE_INSTRUCTION_TIME, *params],
        )
        by_bucket, by_dsr = {}, {}
        for per_dsr, bucket, dsr_code, *summary in cursor.fetchall():
            if per_dsr:
                by_dsr[dsr_code] = tuple(summary)
            else:
                by_bucket[bucket] = tuple(summary)
    return by_bucket, by_dsr


def _days(duration) -> float | None:
    return None if duration is None else round(duration.total_seconds() / 86400, 1)


def _share(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def instruction_times(*, period: Period, dsr: str, now: datetime) -> tuple[Table, Table, dict]:
    """The instructions closed in the period: how long they took net of suspensions,
    against the indicative 6 weeks, by period and by DSR; and those still running."""
    elapsed = instruction_elapsed_expression(now)
    closed = (
        Candidature.objects.filter(
            _in_dsr(dsr),
            instruction_closed_at__gte=period.start_at,
            instruction_closed_at__lt=period.end_at,
            dossier_submitted_at__isnull=False,
        )
        .annotate(
            bucket=period.bucket("instruction_closed_at"),
            dsr_code=F("campagne__dsr__code"),
            elapsed=elapsed,
        )
        .values("bucket", "dsr_code", "elapsed")
        .order_by()
    )
    header = [
        "Instructions closes",
        "Médiane (jours)",
        "90e centile (jours)",
        f"Dans les {SIX_WEEKS_DAYS} jours (%)",
    ]

    def line(summary):
        count, median, p90, within = summary
        return [count, _days(median), _days(p90), _share(within, count)]

    by_bucket, by_dsr = _summaries(closed)
    per_period = Table(
        "instruction",
        "Temps d’instruction net des suspensions, par période de clôture",
        ["Période", *header],
        [
            [period.long_label(bucket), *line(by_bucket.get(bucket, (0, None, None, 0)))]
            for bucket in period.buckets
        ],
    )
    per_dsr = Table(
        "instruction_dsr",
        "Temps d’instruction net des suspensions, par DSR, sur la période",
        ["DSR", *header],
        [[code, *line(summary)] for code, summary in sorted(by_dsr.items())],
    )
    running = (
        Candidature.objects.filter(
            _in_dsr(dsr),
            state__in=[S.DOSSIER_SOUMIS, S.EN_INSTRUCTION],
            dossier_submitted_at__isnull=False,
        )
        .annotate(elapsed=elapsed)
        .aggregate(
            running=Count("pk"),
            over=Count("pk", filter=Q(elapsed__gt=INDICATIVE_INSTRUCTION_TIME)),
        )
    )
    running["closed"] = sum(row[1] for row in per_dsr.rows)
    return per_period, per_dsr, running


# Sollicitations, dépriorisations, abandons


def sollicitation_answers(*, period: Period, dsr: str) -> Table:
    """The sollicitations sent in the period, by phase: answered within 24 h, 5 days,
    30 days (real time from the sending to the company's first answer), later, never
    (closed without an answer) or still waiting. One query.

    Each answer's wait is compared with the delays, rather than each delay added to the
    sending: in days, an interval added to an instant goes through the calendar (six
    times a row), a difference of two instants is plain arithmetic."""
    waited = ExpressionWrapper(F("answered_at") - F("opened_at"), output_field=DurationField())
    limits = [delay for _label, delay in ANSWER_DELAYS]
    counts = (
        Sollicitation.objects.filter(
            _in_dsr(dsr, "candidature__campagne__dsr__code"),
            opened_at__gte=period.start_at,
            opened_at__lt=period.end_at,
        )
        .values("phase")
        .annotate(
            total=Count("pk"),
            within_0=Count("pk", filter=LessThanOrEqual(waited, limits[0])),
            within_1=Count(
                "pk",
                filter=Q(GreaterThan(waited, limits[0]), LessThanOrEqual(waited, limits[1])),
            ),
            within_2=Count(
                "pk",
                filter=Q(GreaterThan(waited, limits[1]), LessThanOrEqual(waited, limits[2])),
            ),
            later=Count("pk", filter=GreaterThan(waited, limits[2])),
            never=Count(
                "pk", filter=Q(answered_at__isnull=True) & ~Q(status=SollicitationStatus.OUVERTE)
            ),
            waiting=Count(
                "pk", filter=Q(answered_at__isnull=True, status=SollicitationStatus.OUVERTE)
            ),
        )
        .order_by()
    )
    found = {row["phase"]: row for row in counts}
    rows = []
    for phase in SollicitationPhase:
        row = found.get(phase.value)
        if row is None:
            continue
        within = [row["within_0"], row["within_1"], row["within_2"]]
        cumulative = [sum(within[: index + 1]) for index in range(3)]
        rows.append(
            [
                phase.label,
                row["total"],
                *within,
                row["later"],
                row["never"],
                row["waiting"],
                *[_share(count, row["total"]) for count in cumulative],
            ]
        )
    return Table(
        "sollicitations",
        "Délai de réponse des éditeurs aux sollicitations envoyées sur la période",
        [
            "Phase",
            "Envoyées",
            "Répondues en 24 h",
            "Entre 24 h et 5 jours",
            "Entre 5 et 30 jours",
            "Au-delà de 30 jours",
            "Closes sans réponse",
            "En attente",
            "Répondues en 24 h (%)",
            "Répondues en 5 jours (%)",
            "Répondues en 30 jours (%)",
        ],
        rows,
    )


def depriorisations_and_abandons(moves, *, period: Period, dsr: str, now: datetime) -> Table:
    """By period: the dossiers that lost their place in the queue (24 h without an
    answer, read from the sollicitations' instants) and the candidatures abandoned (no
    answer within 30 days), from the transition log already read."""
    # A place is lost at the sending plus the delay (lapsed_sollicitations' deadline):
    # the period and its buckets are compared with the sending, moved back by the
    # delay, rather than the delay added to each row's sending (calendar arithmetic).
    lapsed = (
        lapsed_sollicitations(now)
        .filter(
            _in_dsr(dsr, "candidature__campagne__dsr__code"),
            opened_at__gte=period.start_at - DEPRIORITISATION_DELAY,
            opened_at__lt=period.end_at - DEPRIORITISATION_DELAY,
        )
        .annotate(bucket=period.bucket("opened_at", later_by=DEPRIORITISATION_DELAY))
        .values("bucket")
        .annotate(count=Count("pk"))
        .order_by()
    )
    lost = {row["bucket"]: row["count"] for row in lapsed}
    abandoned = defaultdict(int)
    for move in moves:
        if move["bucket"] is not None and move["to_state"] == S.ABANDONNEE:
            abandoned[move["bucket"]] += move["count"]
    return Table(
        "depriorisations",
        "Dépriorisations et abandons par période",
        ["Période", "Dossiers dépriorisés", "Candidatures abandonnées"],
        [
            [period.long_label(bucket), lost.get(bucket, 0), abandoned.get(bucket, 0)]
            for bucket in period.buckets
        ],
    )


# The collège


DECISIONS = [
    ("Sans réserve", DecisionKind.SANS_RESERVE),
    ("Réserves non bloquantes", DecisionKind.RESERVES_NON_BLOQUANTES),
    ("Réserves bloquantes", DecisionKind.RESERVES_BLOQUANTES),
]


def seances(*, period: Period, dsr: str) -> Table:
    """Each séance closed in the period: its agenda and what the collège decided, the
    rest carried over to the next séance. One query."""
    in_dsr = _in_dsr(dsr, "inscriptions__candidature__campagne__dsr__code")
    rows = (
        Seance.objects.filter(
            status=SeanceStatus.CLOSE, date__gte=period.start, date__lte=period.end
        )
        .annotate(
            agenda=Count("inscriptions", filter=in_dsr, distinct=True),
            **{
                f"decided_{index}": Count(
                    "inscriptions__decision",
                    filter=in_dsr & Q(inscriptions__decision__kind=kind),
                    distinct=True,
                )
                for index, (_label, kind) in enumerate(DECISIONS)
            },
        )
        .order_by("date")
        .values("date", "agenda", *[f"decided_{index}" for index in range(len(DECISIONS))])
    )
    table_rows = []
    for row in rows:
        decided = [row[f"decided_{index}"] for index in range(len(DECISIONS))]
        table_rows.append(
            [
                f"{row['date'].day} {MONTHS[row['date'].month - 1]} {row['date'].year}",
                row["agenda"],
                *decided,
                row["agenda"] - sum(decided),
            ]
        )
    return Table(
        "seances",
        "Séances closes sur la période : ordre du jour et décisions",
        [
            "Séance",
            "Ordre du jour",
            *[label for label, _kind in DECISIONS],
            "Reportées sans décision",
        ],
        table_rows,
    )


@dataclass
class ProgrammeStatistics:
    period: Period
    dsr: str
    states: Table
    states_per_dsr: Table
    stock: Table
    instruction: Table
    instruction_per_dsr: Table
    instruction_now: dict
    sollicitations: Table
    depriorisations: Table
    seances: Table

    @property
    def tables(self) -> dict[str, Table]:
        return {
            table.name: table
            for table in (
                self.states,
                self.states_per_dsr,
                self.stock,
                self.instruction,
                self.instruction_per_dsr,
                self.sollicitations,
                self.depriorisations,
                self.seances,
            )
        }


def programme_statistics(*, period: Period, dsr: str, now: datetime) -> ProgrammeStatistics:
    """Every figure of the statistics page: seven aggregate queries."""
    states, per_dsr = states_now(dsr=dsr)
    moves = list(_transitions(period=period, dsr=dsr))
    instruction, instruction_per_dsr, running = instruction_times(period=period, dsr=dsr, now=now)
    return ProgrammeStatistics(
        period=period,
        dsr=dsr,
        states=states,
        states_per_dsr=per_dsr,
        stock=stock_over_time(moves, period=period),
        instruction=instruction,
        instruction_per_dsr=instruction_per_dsr,
        instruction_now=running,
        sollicitations=sollicitation_answers(period=period, dsr=dsr),
        depriorisations=depriorisations_and_abandons(moves, period=period, dsr=dsr, now=now),
        seances=seances(period=period, dsr=dsr),
    )
