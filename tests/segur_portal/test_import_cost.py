"""What a process pays before its first request or its first sweep: building the URL
resolver imports every view module, and must not import the PDF engine or the seal's
library (WeasyPrint and pyHanko, one to three seconds between them), which the first
document or the first seal check loads instead."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json, sys
import django
django.setup()
from django.urls import reverse
reverse("dashboard")
print(json.dumps({name: name in sys.modules for name in ("weasyprint", "pyhanko", "django_fsm")}))
"""


def _probe(code: str):
    """What `code`, run in a fresh interpreter, printed last (JSON)."""
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "segur_portal.settings"}
    probe = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(probe.stdout.strip().splitlines()[-1])


def test_the_url_resolver_does_not_import_weasyprint_nor_pyhanko():
    loaded = _probe(PROBE)
    # django_fsm: the probe did import the portal's models and views.
    assert loaded == {"weasyprint": False, "pyhanko": False, "django_fsm": True}


WARM_UP = """
import json, sys
import django
django.setup()
from django.urls import get_resolver
from segur_portal.celery import warm_up
before = "preuves.views_review" in sys.modules
warm_up()
print(json.dumps([before, "preuves.views_review" in sys.modules, get_resolver()._populated]))
"""


def test_a_worker_builds_the_url_resolver_at_its_start_not_in_its_first_sweep():
    assert _probe(WARM_UP) == [False, True, True]
