"""Referencing numbers allocated at the same instant, on real PostgreSQL connections."""

import pytest
from django.db import connection

from college import services
from college.models import NumeroSequence
from tests.candidatures.test_concurrency import _race

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks need PostgreSQL, not SQLite"
    ),
]


def test_numbers_allocated_at_once_are_all_different():
    # Eight référencements of the same DSR in the same second, the counter not yet made.
    results = _race(
        *[lambda: services.numero_allocate(dsr_code="MDV-LGC-Va2", year=2026) for _ in range(8)]
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(results) == [f"SEGUR-MDV-LGC-VA2-2026-{n:05d}" for n in range(1, 9)]
    assert NumeroSequence.objects.get().last == 8
