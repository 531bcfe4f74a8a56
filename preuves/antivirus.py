"""A small clamd client: INSTREAM over a unix socket or TCP, with timeouts.

Written here rather than taken from PyPI: the `clamd` package is unmaintained since
2014, and the portal needs only PING and INSTREAM with strict timeouts and a clear
split between "infected", "clean" and "scanner unreachable".
"""

import socket
import struct
from dataclasses import dataclass

from django.conf import settings

CHUNK_BYTES = 64 * 1024


class ScannerUnavailable(OSError):
    """clamd could not be reached or did not answer: the file waits, never accepted.

    An OSError, so the Celery task retries it like a storage hiccup."""


@dataclass(frozen=True)
class ScanResult:
    infected: bool
    signature: str = ""


def _connect() -> socket.socket:
    timeout = settings.CLAMD_TIMEOUT_SECONDS
    try:
        if settings.CLAMD_SOCKET:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.settimeout(timeout)
                sock.connect(settings.CLAMD_SOCKET)
            except OSError:
                sock.close()
                raise
            return sock
        if settings.CLAMD_HOST:
            return socket.create_connection(
                (settings.CLAMD_HOST, settings.CLAMD_PORT), timeout=timeout
            )
    except OSError as error:
        raise ScannerUnavailable(str(error)) from error
    raise ScannerUnavailable("aucun antivirus configuré (CLAMD_SOCKET ou CLAMD_HOST)")


def _read_reply(sock: socket.socket) -> str:
    reply = b""
    while not reply.endswith(b"\0"):
        data = sock.recv(4096)
        if not data:
            break
        reply += data
    return reply.rstrip(b"\0").decode("utf-8", "replace").strip()


def ping() -> bool:
    try:
        with _connect() as sock:
            sock.sendall(b"zPING\0")
            return _read_reply(sock) == "PONG"
    except OSError:
        return False


def scan_chunks(chunks) -> ScanResult:
    """Stream `chunks` (bytes) to clamd; raise ScannerUnavailable on any failure."""
    try:
        with _connect() as sock:
            sock.sendall(b"zINSTREAM\0")
            for chunk in chunks:
                for start in range(0, len(chunk), CHUNK_BYTES):
                    part = chunk[start : start + CHUNK_BYTES]
                    sock.sendall(struct.pack("!L", len(part)) + part)
            sock.sendall(struct.pack("!L", 0))
            reply = _read_reply(sock)
    except OSError as error:
        # Includes clamd closing the stream past its StreamMaxLength.
        raise ScannerUnavailable(str(error)) from error
    # "stream: OK", "stream: <Signature> FOUND", "INSTREAM size limit exceeded. ERROR"
    if reply.endswith(" FOUND"):
        signature = reply.removeprefix("stream:").removesuffix("FOUND").strip()
        return ScanResult(infected=True, signature=signature[:255])
    if reply.endswith(": OK"):
        return ScanResult(infected=False)
    raise ScannerUnavailable(f"réponse inattendue de clamd : {reply[:200]!r}")
