"""The instruction queue reads the 24 h clock from stored instants: a dossier that lost its
place goes behind the moment the 24 h run out, whether the sweep has run or not."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from candidatures.enums import CandidatureState, SollicitationPhase, SollicitationStatus
from candidatures.models import Candidature, Sollicitation
from candidatures.services.sollicitation import sollicitations_sweep
from preuves.instruction import instruction_queue, lapsed_sollicitations
from tests.factories import CandidatureFactory, UserFactory

pytestmark = pytest.mark.django_db

S = CandidatureState
DAY = timedelta(hours=24)


def _dossiers():
    now = timezone.now()
    return [
        CandidatureFactory(
            eligible=True, state=S.DOSSIER_SOUMIS, dossier_submitted_at=now - timedelta(days=days)
        )
        for days in (3, 2, 1)
    ]


def _sollicitation(candidature, *, hours_ago: float = 0, opened_at=None, **fields) -> Sollicitation:
    opened_at = opened_at or timezone.now() - timedelta(hours=hours_ago)
    return Sollicitation.objects.create(
        candidature=candidature,
        phase=SollicitationPhase.INSTRUCTION,
        opened_by=UserFactory(instructeur=True),
        opened_at=opened_at,
        due_at=opened_at + timedelta(days=30),
        closes_at=opened_at + timedelta(days=60),
        **fields,
    )


def test_an_unanswered_dossier_goes_behind_at_24_hours_before_the_sweep_runs():
    first, second, third = _dossiers()
    sollicitation = _sollicitation(first, hours_ago=25)

    queue = list(instruction_queue())

    assert queue == [second, third, first]
    assert queue[2].place_lost_at == sollicitation.opened_at + DAY
    first.refresh_from_db()
    assert first.depriorisee_at is None  # the sweep has not run


def test_the_sweep_records_the_instant_the_queue_already_used():
    first, second, third = _dossiers()
    sollicitation = _sollicitation(first, hours_ago=25)
    before = list(instruction_queue())

    sollicitations_sweep(now=timezone.now())

    first.refresh_from_db()
    assert first.depriorisee_at == sollicitation.opened_at + DAY
    assert list(instruction_queue()) == before


@pytest.mark.parametrize(
    ("hours_ago", "fields"),
    [
        (23, {}),
        (30, {"status": SollicitationStatus.REPONDUE, "answered_at_after": 2}),
        (30, {"status": SollicitationStatus.CLOSE, "closed_at_after": 1}),
    ],
    ids=["within-24-hours", "answered-in-time", "closed-by-the-instructor-in-time"],
)
def test_a_dossier_keeps_its_place(hours_ago, fields):
    first, second, third = _dossiers()
    opened_at = timezone.now() - timedelta(hours=hours_ago)
    stored = {"status": fields.get("status", SollicitationStatus.OUVERTE)}
    for name in ("answered_at", "closed_at"):
        if f"{name}_after" in fields:
            stored[name] = opened_at + timedelta(hours=fields[f"{name}_after"])
    _sollicitation(first, hours_ago=hours_ago, **stored)

    queue = list(instruction_queue())

    assert queue == [first, second, third]
    assert queue[0].place_lost_at is None


def test_an_answer_after_the_24_hours_does_not_give_the_place_back():
    first, second, third = _dossiers()
    sollicitation = _sollicitation(first, hours_ago=30, status=SollicitationStatus.REPONDUE)
    Sollicitation.objects.filter(pk=sollicitation.pk).update(
        answered_at=sollicitation.opened_at + timedelta(hours=25)
    )

    assert list(instruction_queue()) == [second, third, first]


def test_the_queue_page_and_the_dossier_say_deprioritised_before_the_sweep(
    client, django_assert_max_num_queries
):
    first, second, third = _dossiers()
    _sollicitation(first, hours_ago=25)
    client.force_login(UserFactory(instructeur=True))

    url = reverse("instruction:queue_phase", args=["preuves"])
    # In the order of the queue, the dossier that lost its place goes behind…
    page = client.get(url, {"tri": "file"}).content.decode()
    rows = page.split("<tbody>")[1].split("<tr")[1:]
    assert [first.reference in row for row in rows] == [False, False, True]
    assert "dépriorisée" in rows[2]
    assert "dépriorisée" not in rows[0] + rows[1]
    # … and it comes first when the late dossiers do (the list's default order).
    page = client.get(url).content.decode()
    rows = page.split("<tbody>")[1].split("<tr")[1:]
    assert [first.reference in row for row in rows] == [True, False, False]

    dossier = client.get(reverse("dossier:page", args=[first.pk])).content.decode()
    assert "Dossier dépriorisé depuis le" in dossier

    # One query for the whole queue, however many dossiers wait.
    for _ in range(5):
        CandidatureFactory(
            eligible=True, state=S.DOSSIER_SOUMIS, dossier_submitted_at=timezone.now()
        )
    with django_assert_max_num_queries(1):
        assert len(list(instruction_queue())) == 8
    assert Candidature.objects.filter(depriorisee_at__isnull=False).count() == 0


def test_the_24_hours_run_out_at_their_last_instant():
    """An answer, a closing or an expiry at the sending plus 24 h exactly comes too late,
    one a microsecond earlier in time; the place is lost once now reaches that instant."""
    now = timezone.now()
    candidature = CandidatureFactory(eligible=True, state=S.DOSSIER_SOUMIS)
    sent = now - timedelta(hours=30)
    just = timedelta(microseconds=1)

    def sollicitation(opened_at=sent, **fields):
        return _sollicitation(candidature, opened_at=opened_at, **fields)

    ends = [
        ("answered_at", SollicitationStatus.REPONDUE),
        ("closed_at", SollicitationStatus.CLOSE),
        ("expired_at", SollicitationStatus.EXPIREE),
    ]
    too_late = [sollicitation(**{end: sent + DAY, "status": status}) for end, status in ends]
    in_time = [sollicitation(**{end: sent + DAY - just, "status": status}) for end, status in ends]
    unanswered = sollicitation(opened_at=now - DAY)
    not_yet = sollicitation(opened_at=now - DAY + just)

    lapsed = lapsed_sollicitations(now)

    assert set(lapsed) == {*too_late, unanswered}
    assert not set(lapsed) & {*in_time, not_yet}
    assert {s.pk: s.deadline for s in lapsed} == {
        s.pk: s.opened_at + DAY for s in [*too_late, unanswered]
    }
