"""Webhook targets against SSRF: https only in production, no private, loopback or
link-local address after resolution, the connection made to the address checked (no
DNS rebinding), short timeouts, no redirect followed, the answer read a little only.

Names under .test (RFC 6761, never resolved on the Internet) are answered by a
resolver of the test's own; every other name goes to the system's."""

import socket
import threading
import time

import pytest
from django.core.exceptions import ValidationError

from segur_portal import webhooks
from segur_portal.enums import WebhookDeliveryStatus, WebhookEvent
from segur_portal.models_api import WebhookDelivery, WebhookEndpoint
from tests.api.receiver import Receiver

EVENTS = [WebhookEvent.CANDIDATURE_ETAT]


@pytest.fixture
def receiver():
    with Receiver() as receiver:
        yield receiver


@pytest.fixture
def production(settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = False


class Resolver:
    """getaddrinfo for names under .test: each name answers its list of lists in turn
    (the last one again), and counts its lookups."""

    def __init__(self, monkeypatch, answers: dict[str, list[list[str]]]):
        self.answers, self.lookups = answers, []
        self.real = socket.getaddrinfo
        monkeypatch.setattr(socket, "getaddrinfo", self)

    def __call__(self, host, port, *args, **kwargs):
        if not str(host).endswith(".test"):
            return self.real(host, port, *args, **kwargs)
        self.lookups.append(host)
        turns = self.answers.get(host)
        if not turns:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        addresses = turns.pop(0) if len(turns) > 1 else turns[0]
        return [
            (
                socket.AF_INET6 if ":" in address else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (address, port or 0, 0, 0) if ":" in address else (address, port or 0),
            )
            for address in addresses
        ]


def _refused(member, url) -> str:
    with pytest.raises(ValidationError) as error:
        webhooks.webhook_endpoint_create(actor=member, url=url, events=EVENTS)
    assert not WebhookEndpoint.objects.exists()
    return error.value.message_dict["url"][0]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://10.0.0.5/hook", "privée"),
        ("https://192.168.1.10/hook", "privée"),
        ("https://172.16.0.1/hook", "privée"),
        ("https://100.64.0.1/hook", "privée"),
        ("https://169.254.169.254/latest/meta-data/", "locale au lien"),
        ("https://[fe80::1]/hook", "locale au lien"),
        ("https://[fd12:3456::1]/hook", "privée"),
        ("https://[fc00::1]/hook", "privée"),
        ("https://0.0.0.0/hook", "privée"),
        ("https://[::ffff:10.0.0.1]/hook", "privée"),
        ("https://[::ffff:169.254.169.254]/hook", "locale au lien"),
        ("https://[64:ff9b::a9fe:a9fe]/hook", "locale au lien"),
        ("https://[2002:a00:1::1]/hook", "privée"),
        ("https://224.0.0.1/hook", "privée"),
    ],
)
def test_private_and_link_local_addresses_are_refused_even_in_tests(member, url, reason):
    # WEBHOOK_ALLOW_LOOPBACK is on in the tests: it opens this machine, nothing else.
    assert reason in _refused(member, url)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://127.1.2.3/hook",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://localhost/hook",
        # 2130706433 is 127.0.0.1 written as one number: judged after resolution.
        "https://2130706433/hook",
    ],
)
def test_loopback_is_refused_in_production(member, production, url):
    assert "bouclage" in _refused(member, url)


def test_plain_http_is_refused_in_production(member, production):
    # A public address: refused for its scheme alone, before any connection.
    assert "https://" in _refused(member, "http://93.184.215.14/hook")


def test_plain_http_to_a_public_address_is_refused_in_tests_too(member):
    assert "https://" in _refused(member, "http://93.184.215.14/hook")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://partenaire.test/hook",
        "file:///etc/passwd",
        "gopher://partenaire.test/",
        "https://",
        "https://utilisateur:secret@partenaire.test/hook",
        "https://partenaire.test:99999/hook",
        "//partenaire.test/hook",
    ],
)
def test_other_schemes_credentials_and_malformed_addresses_are_refused(member, url):
    _refused(member, url)


def test_a_name_resolving_to_a_private_address_is_refused(member, monkeypatch):
    Resolver(monkeypatch, {"interne.test": [["10.1.2.3"]]})
    assert "« interne.test » désigne une adresse privée" in _refused(
        member, "https://interne.test/hook"
    )


def test_a_name_resolving_to_a_public_and_a_private_address_is_refused_whole(member, monkeypatch):
    Resolver(monkeypatch, {"double.test": [["93.184.215.14", "fd00::7"]]})
    assert "fd00::7" in _refused(member, "https://double.test/hook")


def test_a_name_unknown_to_the_dns_is_refused(member, monkeypatch):
    Resolver(monkeypatch, {})
    assert "introuvable" in _refused(member, "https://absent.test/hook")


def test_a_name_that_turns_private_after_registration_gets_nothing(
    member, receiver, monkeypatch, django_capture_on_commit_callbacks
):
    resolver = Resolver(monkeypatch, {"partenaire.test": [["127.0.0.1"], ["169.254.169.254"]]})
    url = receiver.url("/hook", host="partenaire.test")
    webhooks.webhook_endpoint_create(actor=member, url=url, events=EVENTS)
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.webhook_emit(editeur_id=member.editeur_id, event=EVENTS[0], data={})
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDeliveryStatus.EN_ATTENTE
    assert delivery.last_status_code is None
    assert "169.254.169.254" in delivery.last_error and "locale au lien" in delivery.last_error
    assert receiver.requests == [] and resolver.lookups == ["partenaire.test"] * 2


def test_the_connection_goes_to_the_address_checked_not_to_a_second_answer(receiver, monkeypatch):
    # DNS rebinding: the name answers a permitted address, then a forbidden one. The
    # attempt resolves once and connects to what it checked.
    resolver = Resolver(monkeypatch, {"rebond.test": [["127.0.0.1"], ["10.0.0.1"]]})
    answer = webhooks.post(receiver.url("/hook", host="rebond.test"), b"{}", {})
    assert answer.ok, answer
    assert resolver.lookups == ["rebond.test"]
    (request,) = receiver.requests
    assert request.headers["Host"] == f"rebond.test:{receiver.port}"


def test_a_checked_address_that_refuses_is_followed_by_the_next_checked_one(receiver, monkeypatch):
    # ::1 first: nothing listens there on the receiver's port (it listens on 127.0.0.1).
    Resolver(monkeypatch, {"deux.test": [["::1", "127.0.0.1"]]})
    assert webhooks.post(receiver.url("/hook", host="deux.test"), b"{}", {}).ok


def test_a_redirect_is_not_followed(member, receiver, django_capture_on_commit_callbacks):
    def redirect(handler):
        handler.send_response(302)
        handler.send_header("Location", "http://169.254.169.254/latest/meta-data/")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    receiver.answer = redirect
    webhooks.webhook_endpoint_create(actor=member, url=receiver.url(), events=EVENTS)
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.webhook_emit(editeur_id=member.editeur_id, event=EVENTS[0], data={})
    assert len(receiver.requests) == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDeliveryStatus.EN_ATTENTE
    assert delivery.last_status_code == 302
    assert "Redirection refusée" in delivery.last_error


def test_a_flood_of_an_answer_is_not_read(receiver):
    total = 256 * 2**20
    sent = {}

    def flood(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", str(total))
        handler.end_headers()
        chunk, written = b"x" * 65536, 0
        try:
            while written < total:
                handler.wfile.write(chunk)
                written += len(chunk)
        except OSError:
            pass
        sent["bytes"] = written

    receiver.answer = flood
    started = time.monotonic()
    answer = webhooks.post(receiver.url(), b"{}", {})
    assert answer.status_code == 200
    assert time.monotonic() - started < 5
    deadline = time.monotonic() + 10
    while "bytes" not in sent and time.monotonic() < deadline:
        time.sleep(0.05)
    # The portal closed the connection after a little: most was never sent.
    assert sent["bytes"] < total // 4


def test_a_receiver_trickling_its_answer_is_cut_at_the_deadline(receiver, monkeypatch):
    monkeypatch.setattr(webhooks, "TOTAL_TIMEOUT_SECONDS", 1.5)
    stop = threading.Event()

    def trickle(handler):
        handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
        # One header byte each 0.2 s: each read within the read timeout, never the end.
        while not stop.is_set():
            try:
                handler.wfile.write(b"X")
                handler.wfile.flush()
            except OSError:
                return
            time.sleep(0.2)

    receiver.answer = trickle
    started = time.monotonic()
    answer = webhooks.post(receiver.url(), b"{}", {})
    stop.set()
    elapsed = time.monotonic() - started
    assert answer.status_code is None and "TimeoutError" in answer.error, answer
    assert 1.4 < elapsed < 3, (elapsed, answer)


def test_a_silent_receiver_is_a_timeout(receiver, monkeypatch):
    monkeypatch.setattr(webhooks, "READ_TIMEOUT_SECONDS", 0.5)
    release = threading.Event()
    receiver.answer = lambda handler: release.wait(5)
    started = time.monotonic()
    answer = webhooks.post(receiver.url(), b"{}", {})
    release.set()
    assert answer.status_code is None and "timed out" in answer.error.lower()
    assert time.monotonic() - started < 2


def test_nothing_listening_is_a_failed_attempt():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    answer = webhooks.post(f"http://127.0.0.1:{port}/hook", b"{}", {})
    assert answer.status_code is None and "ConnectionRefusedError" in answer.error


def test_an_https_receiver_with_an_unknown_certificate_is_refused(tmp_path):
    import ssl
    import subprocess
    from http.server import BaseHTTPRequestHandler, HTTPServer

    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    reached = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            reached.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    try:
        answer = webhooks.post(f"https://127.0.0.1:{server.server_address[1]}/hook", b"{}", {})
    finally:
        thread.join(timeout=5)
        server.server_close()
    assert answer.status_code is None and "CERTIFICATE_VERIFY_FAILED" in answer.error
    assert reached == []


def test_the_timeouts_are_short():
    assert webhooks.CONNECT_TIMEOUT_SECONDS <= 5
    assert webhooks.READ_TIMEOUT_SECONDS <= 10
    assert webhooks.TOTAL_TIMEOUT_SECONDS <= 15
