"""PostgreSQL's JIT is off for the portal's connections: the agency's lists are short
queries whose estimated cost crosses the JIT thresholds, and compiling them took
seconds on the generated wave (docs/BENCHMARKS.md, issue 12)."""

import pytest
from django.db import connection


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="JIT is PostgreSQL's")
def test_the_portal_connection_runs_without_jit():
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)
