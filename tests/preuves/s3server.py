"""An S3-compatible server for the tests: moto in server mode, in a process of its own,
on a free port of 127.0.0.1. Requests reach it over real HTTP, signed as for AWS."""

import http.client
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HOST = "127.0.0.1"


class S3ServerError(RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def _answers(port: int) -> bool:
    connection = http.client.HTTPConnection(HOST, port, timeout=2)
    try:
        connection.request("GET", "/")
        # An anonymous ListBuckets: any HTTP answer means the server is serving.
        connection.getresponse().read()
        return True
    except OSError:
        return False
    finally:
        connection.close()


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def moto_server(log_path: Path, startup_seconds: float = 30, attempts: int = 3) -> Iterator[str]:
    """Run `python -m moto.server` and yield its endpoint URL; stop it on exit.

    Raises S3ServerError, with the end of the server's log, if it does not answer in
    time. The port is chosen free just before the start; another process may take it
    in between, so a server that exits at once is started again on another port.
    """
    with log_path.open("ab") as log:
        for attempt in range(1, attempts + 1):
            port = _free_port()
            process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                deadline = time.monotonic() + startup_seconds
                while process.poll() is None and not _answers(port):
                    if time.monotonic() > deadline:
                        raise S3ServerError(
                            f"moto ne répond pas sur {HOST}:{port} après {startup_seconds} s"
                            f"\n{_log_tail(log_path)}"
                        )
                    time.sleep(0.1)
                if process.poll() is not None:
                    if attempt < attempts:
                        continue
                    raise S3ServerError(
                        f"moto s’est arrêté au démarrage (code {process.returncode}) après "
                        f"{attempts} essais\n{_log_tail(log_path)}"
                    )
                yield f"http://{HOST}:{port}"
                return
            finally:
                _stop(process)


def _log_tail(log_path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log_path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as error:
        return f"(journal illisible : {error})"
