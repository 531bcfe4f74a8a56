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


def test_the_url_resolver_does_not_import_weasyprint_nor_pyhanko():
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "segur_portal.settings"}
    probe = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    loaded = json.loads(probe.stdout.strip().splitlines()[-1])
    # django_fsm: the probe did import the portal's models and views.
    assert loaded == {"weasyprint": False, "pyhanko": False, "django_fsm": True}
