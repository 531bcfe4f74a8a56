"""An e-mail that cannot ever go is failed once and shown to the admin; one that may
go later is retried. Subjects built from what users typed are always valid headers."""

import socket
import socketserver
import threading

import pytest
from django.contrib.admin.sites import site
from django.core import mail
from django.utils import timezone

from segur_portal import services
from segur_portal.models import OutboundEmail
from tests.factories import UserFactory


class _RefusingSmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP to refuse every recipient with 550, as a real server does."""

    def handle(self):
        self.wfile.write(b"220 test ESMTP\r\n")
        for line in self.rfile:
            verb = line.split(b" ", 1)[0].strip().upper()
            if verb in (b"EHLO", b"HELO"):
                self.wfile.write(b"250 test\r\n")
            elif verb == b"MAIL":
                self.wfile.write(b"250 OK\r\n")
            elif verb == b"RCPT":
                self.wfile.write(b"550 5.1.1 Utilisateur inconnu\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"503 bad sequence\r\n")


@pytest.fixture
def refusing_smtp():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _RefusingSmtpHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_email_subject_keeps_one_line():
    subject = services.email_subject("Réponse de ACME\r\nBcc: victime@example.org\x00 — CAND-1")
    assert "\r" not in subject and "\n" not in subject and "\x00" not in subject
    assert subject == "[Portail Ségur] Réponse de ACME Bcc: victime@example.org — CAND-1"


def test_email_subject_is_bounded():
    assert len(services.email_subject("x" * 1000)) <= services.SUBJECT_MAX_LENGTH


@pytest.mark.django_db
def test_notification_about_a_name_with_crlf_is_sent(django_capture_on_commit_callbacks):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        services.notification_send(
            recipients=[user], title="Candidature LOGICIEL\r\nX-Injected: oui", body="Texte"
        )
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "[Portail Ségur] Candidature LOGICIEL X-Injected: oui"
    assert OutboundEmail.objects.get().sent_at is not None


@pytest.mark.django_db
def test_bad_header_fails_once_and_is_not_requeued():
    # A row written before the fix, or by another path: the mail library refuses it.
    email = OutboundEmail.objects.create(
        to="a@example.org",
        subject="Objet\r\nBcc: b@example.org",
        body="x",
        created_at=timezone.now() - services.EMAIL_REQUEUE_AFTER * 2,
    )
    services.email_deliver(email_id=email.pk)
    email.refresh_from_db()
    assert email.failed_at is not None
    assert email.sent_at is None
    assert "BadHeaderError" in email.last_error
    assert email.attempts == 1
    assert mail.outbox == []
    # Neither the sweep nor a late task tries it again.
    assert services.emails_requeue(now=timezone.now()) == 0
    assert services.email_deliver(email_id=email.pk) is False
    email.refresh_from_db()
    assert email.attempts == 1


@pytest.mark.django_db
def test_recipient_refused_by_the_server_is_a_permanent_failure(settings, refusing_smtp):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = refusing_smtp
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    email = OutboundEmail.objects.create(to="inconnu@example.org", subject="Objet", body="x")
    services.email_deliver(email_id=email.pk)
    email.refresh_from_db()
    assert email.failed_at is not None
    assert "550" in email.last_error


@pytest.mark.django_db
def test_unreachable_server_is_retried(settings):
    # A port nobody listens on: the connection is refused, a transient failure.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = 2
    email = OutboundEmail.objects.create(
        to="a@example.org",
        subject="Objet",
        body="x",
        created_at=timezone.now() - services.EMAIL_REQUEUE_AFTER * 2,
    )
    with pytest.raises(OSError):
        services.email_deliver(email_id=email.pk)
    email.refresh_from_db()
    assert email.failed_at is None
    assert email.last_error
    assert OutboundEmail.objects.filter(pk=email.pk, failed_at__isnull=True).exists()


@pytest.mark.django_db
def test_admin_lists_failed_emails(client):
    client.force_login(UserFactory(admin=True))
    OutboundEmail.objects.create(
        to="a@example.org", subject="Échoué", body="x", failed_at=timezone.now(), last_error="550"
    )
    OutboundEmail.objects.create(to="b@example.org", subject="En attente", body="x")
    model_admin = site._registry[OutboundEmail]
    assert "failed_at" in model_admin.list_display
    response = client.get("/admin/segur_portal/outboundemail/?failed_at__isempty=0")
    assert response.status_code == 200
    assert "Échoué" in response.text
    assert "En attente" not in response.text
