"""Start a local clamd on the signatures the project ships (fixtures/clamav/).

Used by `runportal` (embedded mode) and by the tests; production runs its own clamd
kept up to date by freshclam (docs/ANTIVIRUS.md).
"""

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

CLAMD_BINARY = "/usr/sbin/clamd"
SIGNATURES_DIR = Path(settings.BASE_DIR) / "fixtures" / "clamav"
START_TIMEOUT_SECONDS = 60


def clamd_binary() -> str | None:
    return shutil.which("clamd") or (CLAMD_BINARY if Path(CLAMD_BINARY).exists() else None)


def clamd_start(run_dir: Path) -> tuple[subprocess.Popen, Path]:
    """Write run_dir/clamd.conf and start clamd in the foreground; return it and its socket."""
    binary = clamd_binary()
    if binary is None:
        raise RuntimeError("clamd introuvable : installez clamav-daemon (scripts/system-deps.sh)")
    run_dir.mkdir(parents=True, exist_ok=True)
    # A unix socket path is limited to ~107 bytes: keep it short.
    socket_path = run_dir / "clamd.sock"
    socket_path.unlink(missing_ok=True)
    conf = run_dir / "clamd.conf"
    conf.write_text(
        f"LocalSocket {socket_path}\n"
        f"DatabaseDirectory {SIGNATURES_DIR}\n"
        "Foreground yes\n"
        f"LogFile {run_dir / 'clamd.log'}\n"
        f"TemporaryDirectory {run_dir}\n"
        "StreamMaxLength 60M\n"
        "MaxFileSize 60M\n"
        "MaxScanSize 200M\n"
    )
    process = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not socket_path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"clamd n’a pas démarré ; voir {run_dir / 'clamd.log'}")
        time.sleep(0.1)
    return process, socket_path


@contextmanager
def embedded_antivirus(run_dir: Path) -> Iterator[Path | None]:
    """For a command of the embedded default that checks files (`seed_demo`): when no
    clamd is configured, one of its own on the shipped signatures for the time of the
    command, stopped after it. Yields its socket, or None when a clamd is configured."""
    if settings.CLAMD_SOCKET or settings.CLAMD_HOST:
        yield None
        return
    process, socket_path = clamd_start(run_dir)
    settings.CLAMD_SOCKET = str(socket_path)
    try:
        yield socket_path
    finally:
        settings.CLAMD_SOCKET = ""
        process.terminate()
        process.wait(timeout=30)
