"""Phase 3 at the same instant, on real PostgreSQL connections: referencing numbers, and
the last réserves answered or lifted by two people at once."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from candidatures.enums import CandidatureState, CndaStatus
from college import services
from college.enums import DecisionKind, ReserveStatus, SeanceStatus
from college.models import Attestation, Decision, Inscription, NumeroSequence, Reserve, Seance
from tests.candidatures.test_concurrency import _race
from tests.factories import CandidatureFactory, UserFactory, company_user
from tests.preuves import samples
from tests.preuves.dossiers import upload

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks need PostgreSQL, not SQLite"
    ),
]
S = CandidatureState
# The race was lost about one time in four before the candidature was locked: twenty
# rounds all won leave about one chance in 300 000 that the lock is missing.
ROUNDS = 20


def test_numbers_allocated_at_once_are_all_different():
    # Eight référencements of the same DSR in the same second, the counter not yet made.
    results = _race(
        *[lambda: services.numero_allocate(dsr_code="MDV-LGC-Va2", year=2026) for _ in range(8)]
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(results) == [f"SEGUR-MDV-LGC-VA2-2026-{n:05d}" for n in range(1, 9)]
    assert NumeroSequence.objects.get().last == 8


def _reserves_notified(round_: int, count=2, answered=False):
    """A decision « réserves non bloquantes » notified, `count` réserves to answer (or,
    `answered`, all answered: the lifting submitted). Made directly: the rounds are many.
    One séance a day: each round's was held `round_` days ago."""
    now = timezone.now() - timedelta(days=round_)
    candidature = CandidatureFactory(
        state=S.LEVEE_SOUMISE if answered else S.RESERVES_NON_BLOQUANTES,
        cnda_homologation=CndaStatus.CERTIFIE,
        instructeur=UserFactory(instructeur=True),
    )
    seance = Seance.objects.create(date=timezone.localdate(now), starts_at=now,
                                   status=SeanceStatus.CLOSE)  # fmt: skip
    inscription = Inscription.objects.create(seance=seance, candidature=candidature, signed_at=now)
    decision = Decision.objects.create(
        inscription=inscription,
        kind=DecisionKind.RESERVES_NON_BLOQUANTES,
        text="Corrections mineures.",
        recorded_by=UserFactory(college=True),
        notified_at=now,
        reserves_due_at=timezone.now() + timedelta(days=14),
    )
    status = ReserveStatus.REPONSE_SOUMISE if answered else ReserveStatus.A_LEVER
    reserves = [
        Reserve.objects.create(decision=decision, position=n, text=f"Réserve {n}", status=status)
        for n in range(1, count + 1)
    ]
    return candidature, reserves


def _answer(reserve, actor):
    return services.reserve_answer(
        reserve=reserve,
        actor=actor,
        comment="Corrigé.",
        uploads=[upload("correction.pdf", samples.pdf_bytes())],
    )


def _lift_the_last_two_at_once(round_: int):
    candidature, reserves = _reserves_notified(round_, answered=True)
    first, second = UserFactory(instructeur=True), UserFactory(instructeur=True)
    results = _race(
        lambda: services.reserve_lift(reserve=reserves[0], actor=first),
        lambda: services.reserve_lift(reserve=reserves[1], actor=second),
    )
    candidature.refresh_from_db()
    return candidature, results


def test_two_instructors_lifting_the_last_two_reserves_at_once_always_reference():
    for round_ in range(ROUNDS):
        candidature, results = _lift_the_last_two_at_once(round_)
        assert not [r for r in results if isinstance(r, Exception)], (round_, results)
        assert candidature.state == S.REFERENCEE, round_
        attestation = Attestation.objects.get(candidature=candidature)
        assert attestation.fichier_id and attestation.sha256
        assert candidature.transitions.filter(name="grant_referencing").count() == 1


def _answer_the_last_two_at_once(round_: int):
    candidature, reserves = _reserves_notified(round_)
    first, second = company_user(candidature.editeur), company_user(candidature.editeur)
    results = _race(lambda: _answer(reserves[0], first), lambda: _answer(reserves[1], second))
    candidature.refresh_from_db()
    return candidature, results


def test_two_users_answering_the_last_two_reserves_at_once_always_submit_the_lifting():
    for round_ in range(ROUNDS // 2):
        candidature, results = _answer_the_last_two_at_once(round_)
        assert not [r for r in results if isinstance(r, Exception)], (round_, results)
        assert candidature.state == S.LEVEE_SOUMISE, round_
        assert candidature.transitions.filter(name="submit_levee").count() == 1
