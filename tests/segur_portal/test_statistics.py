"""The programme's statistics (issue 12, item 6): each figure from the stored instants,
per DSR and per period; the page, its charts, tables and CSV; who reads it."""

import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse

from candidatures.enums import CandidatureState, SollicitationPhase, SollicitationStatus
from candidatures.models import Candidature, CandidatureTransition, Sollicitation
from college.enums import DecisionKind, SeanceStatus
from college.models import Decision, Inscription, Seance
from segur_portal import statistics
from segur_portal.clocks import PARIS
from segur_portal.statistics import Period, programme_statistics
from tests.factories import CampagneFactory, CandidatureFactory, UserFactory
from tests.pages import body, csv_rows, page_queries

pytestmark = pytest.mark.django_db

S = CandidatureState
NOW = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)
NOVEMBER = Period(date(2026, 11, 2), date(2026, 11, 29), "semaine")


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00+00:00")


def _moves(candidature, *steps):
    """The candidature's transitions: (day, from, to)…; it ends in the last state."""
    for day, source, target in steps:
        CandidatureTransition.objects.create(
            candidature=candidature, name="test", from_state=source, to_state=target, at=at(day)
        )
    Candidature.objects.filter(pk=candidature.pk).update(state=steps[-1][2])


def _instruction(candidature, *, submitted: str, closed: str, suspensions=()):
    Candidature.objects.filter(pk=candidature.pk).update(
        dossier_submitted_at=at(submitted), instruction_closed_at=at(closed)
    )
    for opened, answered in suspensions:
        _sollicitation(candidature, opened=at(opened), answered=at(answered))


def _sollicitation(candidature, *, opened, answered=None, phase=SollicitationPhase.INSTRUCTION,
                   status=None, expired=None):  # fmt: skip
    if status is None:
        status = SollicitationStatus.REPONDUE if answered else SollicitationStatus.OUVERTE
    return Sollicitation.objects.create(
        candidature=candidature,
        phase=phase,
        status=status,
        opened_by=UserFactory(instructeur=True),
        opened_at=opened,
        answered_at=answered,
        expired_at=expired,
        due_at=opened + timedelta(days=30),
        closes_at=opened + timedelta(days=90),
    )


@pytest.fixture
def wave():
    """Two DSRs; candidatures moving through November 2026."""
    x, y = CampagneFactory(), CampagneFactory()
    a, c, d, e, f = (CandidatureFactory(campagne=x) for _ in range(5))
    b = CandidatureFactory(campagne=y)
    _moves(
        a,
        ("2026-10-20", S.BROUILLON, S.ADMIN_SOUMISE),
        ("2026-11-03", S.ADMIN_SOUMISE, S.ADMIN_VALIDEE),
        ("2026-11-04", S.ADMIN_VALIDEE, S.ELIGIBILITE_SOUMISE),
        ("2026-11-10", S.ELIGIBILITE_SOUMISE, S.ELIGIBLE),
        ("2026-11-17", S.ELIGIBLE, S.DOSSIER_SOUMIS),
    )
    Candidature.objects.filter(pk=a.pk).update(dossier_submitted_at=at("2026-11-17"))
    _moves(
        b,
        ("2026-11-05", S.BROUILLON, S.ADMIN_SOUMISE),
        ("2026-11-12", S.ADMIN_SOUMISE, S.REJETEE),
    )
    _moves(
        c,
        ("2026-10-01", S.BROUILLON, S.ADMIN_SOUMISE),
        ("2026-10-15", S.ADMIN_SOUMISE, S.DOSSIER_SOUMIS),
        ("2026-10-16", S.DOSSIER_SOUMIS, S.EN_INSTRUCTION),
        ("2026-11-20", S.EN_INSTRUCTION, S.ABANDONNEE),
    )
    # Instructions closed in November: 41 days less 10 suspended; 78 days; 30 days.
    for candidature in (d, e, f):
        _moves(candidature, ("2026-08-01", S.BROUILLON, S.PREUVES_VALIDEES))
    _instruction(d, submitted="2026-10-01", closed="2026-11-11",
                 suspensions=[("2026-10-10", "2026-10-20")])  # fmt: skip
    _instruction(e, submitted="2026-09-01", closed="2026-11-18")
    _instruction(f, submitted="2026-10-20", closed="2026-11-19")
    # Sollicitations sent in November.
    opened = at("2026-11-03")
    for answered_after in (timedelta(hours=2), timedelta(days=3), timedelta(days=10)):
        _sollicitation(c, opened=opened, answered=opened + answered_after)
    _sollicitation(c, opened=at("2026-11-16"), status=SollicitationStatus.EXPIREE,
                   expired=at("2026-11-26"))  # fmt: skip
    _sollicitation(c, opened=at("2026-11-24"))
    _sollicitation(b, opened=at("2026-11-06"), answered=at("2026-11-06", 11),
                   phase=SollicitationPhase.ADMINISTRATIVE)  # fmt: skip
    # Two séances closed in November, one ahead.
    recorder = UserFactory(college=True)
    first = Seance.objects.create(date=date(2026, 11, 5), starts_at=at("2026-11-05"),
                                  status=SeanceStatus.CLOSE)  # fmt: skip
    second = Seance.objects.create(date=date(2026, 11, 12), starts_at=at("2026-11-12"),
                                   status=SeanceStatus.CLOSE)  # fmt: skip
    Seance.objects.create(date=date(2026, 11, 26), starts_at=at("2026-11-26"))
    for seance, candidature, kind in [
        (first, d, DecisionKind.SANS_RESERVE),
        (first, e, DecisionKind.RESERVES_NON_BLOQUANTES),
        (first, f, None),
        (second, f, DecisionKind.SANS_RESERVE),
    ]:
        inscription = Inscription.objects.create(
            seance=seance, candidature=candidature, signed_at=at("2026-11-01")
        )
        if kind:
            Decision.objects.create(inscription=inscription, kind=kind, text="Décision.",
                                    recorded_by=recorder)  # fmt: skip
    return {"x": x.dsr.code, "y": y.dsr.code}


def test_the_stock_at_each_stage_is_replayed_from_the_transitions(wave):
    stats = programme_statistics(period=NOVEMBER, dsr="", now=NOW)
    assert stats.stock.header == ["Période", "Phase 1", "Dépôt des preuves",
                                  "Instruction des preuves", "Convention et collège",
                                  "Réserves à lever"]  # fmt: skip
    assert stats.stock.rows == [
        ["semaine du 2 nov. 2026", 2, 0, 1, 3, 0],
        ["semaine du 9 nov. 2026", 0, 1, 1, 3, 0],
        ["semaine du 16 nov. 2026", 0, 0, 1, 3, 0],
        ["semaine du 23 nov. 2026", 0, 0, 1, 3, 0],
    ]
    only_x = programme_statistics(period=NOVEMBER, dsr=wave["x"], now=NOW)
    assert only_x.stock.rows[0] == ["semaine du 2 nov. 2026", 1, 0, 1, 3, 0]


def test_the_states_today_per_dsr(wave):
    stats = programme_statistics(period=NOVEMBER, dsr="", now=NOW)
    assert dict(stats.states.rows) == {
        S.DOSSIER_SOUMIS.label: 1,
        S.PREUVES_VALIDEES.label: 3,
        S.REJETEE.label: 1,
        S.ABANDONNEE.label: 1,
    }
    header = stats.states_per_dsr.header
    rows = {row[0]: dict(zip(header, row, strict=True)) for row in stats.states_per_dsr.rows}
    assert rows[wave["y"]]["Rejetées"] == 1 and rows[wave["y"]]["Total"] == 1
    assert rows[wave["x"]]["Convention et collège"] == 3
    assert rows[wave["x"]]["Abandonnées"] == 1 and rows[wave["x"]]["Total"] == 5


def test_instruction_time_net_of_suspensions_against_the_six_weeks(wave):
    stats = programme_statistics(period=NOVEMBER, dsr="", now=NOW)
    assert stats.instruction.rows == [
        ["semaine du 2 nov. 2026", 0, None, None, None],
        ["semaine du 9 nov. 2026", 1, 31.0, 31.0, 100.0],
        ["semaine du 16 nov. 2026", 2, 54.0, 73.2, 50.0],
        ["semaine du 23 nov. 2026", 0, None, None, None],
    ]
    assert stats.instruction_per_dsr.rows == [[wave["x"], 3, 31.0, 68.6, 66.7]]
    assert stats.instruction_now == {"running": 1, "over": 0, "closed": 3}


def test_the_percentiles_in_sql_are_those_computed_elsewhere(wave):
    """PostgreSQL's percentile_cont and the fallback of the other databases agree."""
    from django.db.models import F

    from preuves.instruction import instruction_elapsed_expression

    closed = (
        Candidature.objects.filter(instruction_closed_at__isnull=False)
        .annotate(
            bucket=NOVEMBER.bucket("instruction_closed_at"),
            dsr_code=F("campagne__dsr__code"),
            elapsed=instruction_elapsed_expression(NOW),
        )
        .values("bucket", "dsr_code", "elapsed")
        .order_by()
    )

    by_bucket, by_dsr = statistics._summaries(closed)
    assert by_bucket == statistics._summaries_in_python(closed, "bucket")
    assert by_dsr == statistics._summaries_in_python(closed, "dsr_code")
    assert sorted(by_bucket) == [date(2026, 11, 9), date(2026, 11, 16)]
    assert len(by_dsr) == 1


def test_answers_to_sollicitations_within_24_hours_5_and_30_days(wave):
    stats = programme_statistics(period=NOVEMBER, dsr="", now=NOW)
    rows = {row[0]: row[1:] for row in stats.sollicitations.rows}
    assert rows[SollicitationPhase.INSTRUCTION.label] == [5, 1, 1, 1, 0, 1, 1, 20.0, 40.0, 60.0]
    assert rows[SollicitationPhase.ADMINISTRATIVE.label] == [
        1,
        1,
        0,
        0,
        0,
        0,
        0,
        100.0,
        100.0,
        100.0,
    ]
    assert SollicitationPhase.ELIGIBILITE.label not in rows


def test_depriorisations_and_abandons_by_period(wave):
    stats = programme_statistics(period=NOVEMBER, dsr="", now=NOW)
    # Lost their place on 4 November (answered after 3 and 10 days), 17 November (expired)
    # and 25 November (still open); abandoned on 20 November.
    assert stats.depriorisations.rows == [
        ["semaine du 2 nov. 2026", 2, 0],
        ["semaine du 9 nov. 2026", 0, 0],
        ["semaine du 16 nov. 2026", 1, 1],
        ["semaine du 23 nov. 2026", 1, 0],
    ]


def test_seance_throughput_and_outcomes(wave):
    stats = programme_statistics(period=NOVEMBER, dsr="", now=NOW)
    assert stats.seances.rows == [
        ["5 nov. 2026", 3, 1, 1, 0, 1],
        ["12 nov. 2026", 1, 1, 0, 0, 0],
    ]
    assert programme_statistics(period=NOVEMBER, dsr=wave["y"], now=NOW).seances.rows == [
        ["5 nov. 2026", 0, 0, 0, 0, 0],
        ["12 nov. 2026", 0, 0, 0, 0, 0],
    ]


def test_months():
    period = Period(date(2026, 1, 15), date(2026, 3, 2), "mois")
    assert period.buckets == [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
    assert [period.label(bucket) for bucket in period.buckets] == [
        "janv. 2026",
        "févr. 2026",
        "mars 2026",
    ]


@pytest.mark.parametrize("step", ["semaine", "mois"])
def test_the_buckets_are_the_weeks_and_months_of_paris(step):
    """Period.bucket compares each instant with the buckets' starts: the same bucket as
    the Paris date's, across both changes of time, and none before the period."""
    period = Period(date(2026, 3, 4), date(2026, 11, 3), step)
    candidature = CandidatureFactory()
    instants = [
        at("2026-03-03", 22) + timedelta(minutes=59),  # 3 March, 23:59 in Paris: before
        at("2026-03-03", 23),  # 4 March, midnight in Paris: the first day
        at("2026-03-29", 21) + timedelta(minutes=59),  # Sunday 29 March, 23:59 (CEST)
        at("2026-03-29", 22),  # Monday 30 March, midnight (CEST)
        at("2026-05-31", 21) + timedelta(minutes=59),  # 31 May, 23:59
        at("2026-05-31", 22),  # 1 June, midnight
        at("2026-10-25", 22) + timedelta(minutes=59),  # Sunday 25 October, 23:59 (CET)
        at("2026-10-25", 23),  # Monday 26 October, midnight (CET)
        at("2026-11-03", 22) + timedelta(minutes=59),  # the last day, 23:59
    ]
    for instant in instants:
        CandidatureTransition.objects.create(
            candidature=candidature, name="test", from_state=S.BROUILLON,
            to_state=S.ADMIN_SOUMISE, at=instant,
        )  # fmt: skip

    found = dict(
        CandidatureTransition.objects.annotate(bucket=period.bucket("at")).values_list(
            "at", "bucket"
        )
    )

    paris_days = {instant: instant.astimezone(PARIS).date() for instant in instants}
    assert found == {
        instant: period.bucket_of(day) if day >= period.start else None
        for instant, day in paris_days.items()
    }


def test_a_place_lost_counts_in_the_week_its_24_hours_ran_out():
    """Sent on Saturday 31 October at 23:30 in Paris, its 24 h run out on the Sunday,
    the week before the period; sent an hour later, on Monday 2 November at 00:30, in
    the period's first week."""
    candidature = CandidatureFactory()
    _sollicitation(candidature, opened=at("2026-10-31", 22) + timedelta(minutes=30))
    _sollicitation(candidature, opened=at("2026-10-31", 23) + timedelta(minutes=30))
    # Its 24 h run out on Sunday 29 November, 23:30: the last week of the period.
    _sollicitation(candidature, opened=at("2026-11-28", 22) + timedelta(minutes=30))
    # Sunday 29 November at 23:00 UTC is Monday 30 November in Paris: after the period.
    _sollicitation(candidature, opened=at("2026-11-28", 23))

    stats = programme_statistics(period=NOVEMBER, dsr="", now=NOW)

    assert [row[1] for row in stats.depriorisations.rows] == [1, 0, 0, 1]


def test_an_answer_at_the_last_instant_of_a_delay_is_within_it():
    candidature = CandidatureFactory()
    sent = at("2026-11-03")
    second = timedelta(seconds=1)
    for waited in (
        timedelta(hours=24),
        timedelta(hours=24) + second,
        timedelta(days=5),
        timedelta(days=30),
        timedelta(days=30) + second,
    ):
        _sollicitation(candidature, opened=sent, answered=sent + waited)

    stats = programme_statistics(period=NOVEMBER, dsr="", now=NOW)

    rows = {row[0]: row[1:] for row in stats.sollicitations.rows}
    assert rows[SollicitationPhase.INSTRUCTION.label][:6] == [5, 1, 2, 1, 1, 0]


# The page


URL = reverse("statistics")
PARAMS = {"du": "2026-11-02", "au": "2026-11-29", "pas": "semaine", "dsr": ""}


@pytest.mark.parametrize("trait", ["admin", "instructeur"])
def test_the_page_draws_each_table_as_an_svg_chart_with_its_table_and_csv(client, wave, trait):
    client.force_login(UserFactory(**{trait: True}))
    response = client.get(URL, PARAMS)
    assert response.status_code == 200
    content = response.content.decode()
    charts = re.findall(r"<svg .*?</svg>", content, re.S)
    assert len(charts) == 6
    for chart in charts:
        root = ET.fromstring(chart)
        assert root.get("role") == "img"
        labelled = root.get("aria-labelledby").split()
        assert {element.get("id") for element in root} >= set(labelled)
        assert "style=" not in chart and "<script" not in chart
    for table in ("etats", "etats_dsr", "stock", "instruction", "instruction_dsr",
                  "sollicitations", "depriorisations", "seances"):  # fmt: skip
        assert f"tableau={table}&amp;export=csv" in content
    assert "semaine du 16 nov. 2026" in content  # the tables are on the page


def test_a_table_exports_as_csv_with_the_filters(client, wave):
    client.force_login(UserFactory(admin=True))
    response = client.get(URL, {**PARAMS, "tableau": "seances", "export": "csv"})
    assert response["Content-Disposition"] == (
        'attachment; filename="statistiques-seances-2026-11-02-2026-11-29.csv"'
    )
    assert csv_rows(body(response)) == [
        ["Séance", "Ordre du jour", "Sans réserve", "Réserves non bloquantes",
         "Réserves bloquantes", "Reportées sans décision"],
        ["5 nov. 2026", "3", "1", "1", "0", "1"],
        ["12 nov. 2026", "1", "1", "0", "0", "0"],
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"du": "2026-12-01", "au": "2026-11-01"}, "au", "La fin de la période précède son début."),
        ({"du": "2020-01-01", "au": "2026-11-01"}, "du", "trois ans au plus"),
        ({"du": "hier", "au": "2026-11-01"}, "du", "Saisissez une date"),
        ({"du": "2026-11-01", "au": "2026-11-29", "pas": "jour"}, "pas", "Sélectionnez un choix"),
    ],
)
def test_a_bad_period_is_said_at_its_field(client, params, field, message):
    client.force_login(UserFactory(admin=True))
    response = client.get(URL, params)
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert message in response.content.decode()


@pytest.mark.parametrize("trait", ["college", "mandataire"])
def test_the_statistics_are_for_the_agency_that_runs_the_procedure(client, trait):
    client.force_login(UserFactory(**{trait: True}))
    assert client.get(URL).status_code == 403
    assert client.get(URL, {**PARAMS, "tableau": "etats", "export": "csv"}).status_code == 403


def test_anonymous_is_sent_to_the_login(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/connexion/" in response["Location"]


def _more(count: int):
    campagne = CampagneFactory()
    for index in range(count):
        candidature = CandidatureFactory(campagne=campagne)
        _moves(
            candidature,
            ("2026-11-03", S.BROUILLON, S.ADMIN_SOUMISE),
            ("2026-11-09", S.ADMIN_SOUMISE, S.PREUVES_VALIDEES),
        )
        _instruction(candidature, submitted="2026-10-01", closed=f"2026-11-{10 + index % 15}",
                     suspensions=[("2026-10-02", "2026-10-05")])  # fmt: skip
        seance, _ = Seance.objects.get_or_create(
            date=date(2026, 11, 19), defaults={"starts_at": at("2026-11-19"),
                                               "status": SeanceStatus.CLOSE})  # fmt: skip
        Inscription.objects.create(seance=seance, candidature=candidature,
                                   signed_at=at("2026-11-15"))  # fmt: skip


def test_the_page_runs_the_same_queries_at_two_sizes(client, wave):
    client.force_login(UserFactory(admin=True))
    _more(2)
    small, _content = page_queries(client, URL, PARAMS)
    _more(20)
    large, _content = page_queries(client, URL, PARAMS)
    assert large == small <= 15


def test_the_statistics_are_seven_queries_at_two_sizes(wave, django_assert_num_queries):
    _more(2)
    with django_assert_num_queries(7):
        programme_statistics(period=NOVEMBER, dsr="", now=NOW)
    _more(20)
    with django_assert_num_queries(7):
        programme_statistics(period=NOVEMBER, dsr=wave["x"], now=NOW)
