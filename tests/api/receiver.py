"""A real HTTP receiver of webhooks on loopback, in a thread of the test process.

It reads each request as a company's server would: checks the signature with the
secrets it was given (segur_portal.webhooks.verify_signature, the code docs/WEBHOOKS.md
shows), records what came, and answers what the test scripted: a list of statuses
taken in turn (500, 500, 200…), then `default`. A request whose signature does not
verify is answered 401, so that a broken signature fails the delivery the test expects.

    with Receiver() as receiver:
        receiver.secrets = [secret]
        receiver.script = [500, 500]          # then 200
        url = receiver.url("/segur")
"""

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from segur_portal.webhooks import SIGNATURE_HEADER, verify_signature

# The receiver reads at most this much of a body (a webhook is a few kilobytes).
MAX_BODY = 1 << 20


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    # The signature checked with one of the receiver's secrets, whatever its instant
    # (the tests drive the portal's clock ahead of the real one).
    signed: bool
    status: int = 0

    @property
    def json(self) -> dict:
        return json.loads(self.body)

    @property
    def timestamp(self) -> int:
        fields = dict(part.split("=", 1) for part in self.signature.split(",") if "=" in part)
        return int(fields["t"])

    @property
    def signature(self) -> str:
        return self.headers.get(SIGNATURE_HEADER, "")


@dataclass
class Receiver:
    script: list = field(default_factory=list)
    default: int = 200
    secrets: list[str] = field(default_factory=list)
    # A function (handler) -> None that answers instead of the script (redirects, floods).
    answer: object = None
    requests: list[Received] = field(default_factory=list)

    def __post_init__(self):
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
                body = self.rfile.read(length)
                header = self.headers.get(SIGNATURE_HEADER, "")
                signed = any(_signed_whenever(secret, header, body) for secret in receiver.secrets)
                received = Received(self.path, dict(self.headers.items()), body, signed)
                with receiver._lock:
                    receiver.requests.append(received)
                    status = receiver.script.pop(0) if receiver.script else receiver.default
                if receiver.answer is not None:
                    receiver.answer(self)
                    return
                if receiver.secrets and not signed:
                    status = 401
                received.status = status
                payload = b'{"recu": true}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/segur", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def on(self, path: str) -> list[Received]:
        return [request for request in self.requests if request.path == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _signed_whenever(secret: str, header: str, body: bytes) -> bool:
    try:
        fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    return verify_signature(secret, header, body, now=timestamp)
