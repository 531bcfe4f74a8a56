"""A real clamd for the whole session, on the signatures of fixtures/clamav/.

The test process and the Celery worker of tests/worker.py (started after it, with the
environment it sets) both scan through its socket.
"""

import os
import tempfile
from pathlib import Path

import pytest
from django.conf import settings

from preuves.clamd_daemon import clamd_start

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


@pytest.fixture(scope="session", autouse=True)
def clamd_socket():
    # Short path: unix socket paths are limited to about 107 bytes.
    run_dir = Path(tempfile.mkdtemp(prefix="segur-clamd-"))
    process, socket_path = clamd_start(run_dir)
    previous = os.environ.get("CLAMD_SOCKET")
    os.environ["CLAMD_SOCKET"] = str(socket_path)
    settings.CLAMD_SOCKET = str(socket_path)
    yield socket_path
    process.terminate()
    process.wait(timeout=20)
    if previous is None:
        os.environ.pop("CLAMD_SOCKET", None)
    else:
        os.environ["CLAMD_SOCKET"] = previous
