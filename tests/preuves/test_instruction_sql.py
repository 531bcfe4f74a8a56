"""The instruction time net of suspensions in SQL (the agency's sorts, filters, exports
and statistics) is the time instruction_time replays from the same stored events."""

from datetime import timedelta

import pytest
from django.utils import timezone

from candidatures.enums import CandidatureState, SollicitationPhase, SollicitationStatus
from candidatures.models import Candidature, Sollicitation
from preuves.instruction import instruction_elapsed_expression, instruction_time
from tests.factories import CandidatureFactory, UserFactory

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def _dossier(now, *, days: float, closed_days_ago: float | None = None):
    candidature = CandidatureFactory(eligible=True)
    Candidature.objects.filter(pk=candidature.pk).update(
        state=CandidatureState.EN_INSTRUCTION,
        dossier_submitted_at=now - days * DAY,
        instruction_closed_at=now - closed_days_ago * DAY if closed_days_ago is not None else None,
    )
    candidature.refresh_from_db()
    return candidature


def _sollicitation(candidature, now, *, opened: float, answered=None, expired=None, phase=None):
    return Sollicitation.objects.create(
        candidature=candidature,
        phase=phase or SollicitationPhase.INSTRUCTION,
        status=SollicitationStatus.REPONDUE
        if answered is not None
        else SollicitationStatus.OUVERTE,
        opened_by=UserFactory(instructeur=True),
        opened_at=now - opened * DAY,
        answered_at=now - answered * DAY if answered is not None else None,
        expired_at=now - expired * DAY if expired is not None else None,
        due_at=now + 30 * DAY,
        closes_at=now + 90 * DAY,
    )


SCENARIOS = {
    "running, never suspended": ({"days": 20}, []),
    "one answered request": ({"days": 50}, [{"opened": 40, "answered": 30}]),
    "two requests, one still open": (
        {"days": 50},
        [{"opened": 40, "answered": 35}, {"opened": 10}],
    ),
    "expired request": ({"days": 50}, [{"opened": 40, "expired": 10}]),
    "closed after an answer": (
        {"days": 60, "closed_days_ago": 5},
        [{"opened": 40, "answered": 20}],
    ),
    "a phase-1 request does not count": (
        {"days": 30},
        [{"opened": 28, "answered": 2, "phase": SollicitationPhase.ADMINISTRATIVE}],
    ),
}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=list(SCENARIOS))
def test_the_sql_time_is_the_replayed_time(scenario):
    now = timezone.now()
    dossier_fields, requests = SCENARIOS[scenario]
    candidature = _dossier(now, **dossier_fields)
    for request in requests:
        _sollicitation(candidature, now, **request)

    in_sql = (
        Candidature.objects.filter(pk=candidature.pk)
        .annotate(elapsed=instruction_elapsed_expression(now))
        .get()
        .elapsed
    )

    assert in_sql == instruction_time(candidature, now)["elapsed"]


def test_one_query_for_many_dossiers(django_assert_num_queries):
    now = timezone.now()
    for days in range(5):
        candidature = _dossier(now, days=40 + days)
        _sollicitation(candidature, now, opened=30, answered=20)
    with django_assert_num_queries(1):
        times = list(
            Candidature.objects.annotate(elapsed=instruction_elapsed_expression(now)).values_list(
                "elapsed", flat=True
            )
        )
    assert sorted(times) == [timedelta(days=30 + days) for days in range(5)]
