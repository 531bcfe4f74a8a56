"""docs/WEBHOOKS.md says what the portal does: its verification snippet, run here on
real deliveries, accepts them and refuses anything changed; its lists of events and
headers are the code's."""

import re
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from segur_portal import webhooks
from segur_portal.enums import WebhookEvent
from tests.api.receiver import Receiver

DOC = Path(settings.BASE_DIR) / "docs" / "WEBHOOKS.md"


def _snippet() -> str:
    text = DOC.read_text(encoding="utf-8")
    return re.search(r"<!-- verification-signature -->\n```python\n(.*?)```", text, re.S)[1]


@pytest.fixture
def signature_valide():
    namespace: dict = {}
    exec(compile(_snippet(), str(DOC), "exec"), namespace)
    return namespace["signature_valide"]


@pytest.fixture
def delivered(member, django_capture_on_commit_callbacks):
    """A real delivery as a receiver got it, and the endpoint's secret."""
    with Receiver() as receiver:
        endpoint, secret = webhooks.webhook_endpoint_create(
            actor=member, url=receiver.url(), events=[WebhookEvent.CANDIDATURE_ETAT]
        )
        with django_capture_on_commit_callbacks(execute=True):
            webhooks.webhook_emit(
                editeur_id=member.editeur_id,
                event=WebhookEvent.CANDIDATURE_ETAT,
                data={"vers": "référencée"},
            )
        (request,) = receiver.requests
    return request, endpoint, secret


def test_the_documented_check_accepts_a_real_delivery(signature_valide, delivered):
    request, _endpoint, secret = delivered
    assert signature_valide(secret, request.signature, request.body)


def test_the_documented_check_refuses_what_was_changed(signature_valide, delivered):
    request, _endpoint, secret = delivered
    header, body = request.signature, request.body
    assert not signature_valide(secret, header, body + b" ")
    assert not signature_valide(secret, header, body[:-1])
    assert not signature_valide("whsec_" + "A" * 43, header, body)
    assert not signature_valide(secret, re.sub(r"t=\d+", "t=1", header), body)
    assert not signature_valide(secret, header.split(",")[0], body)
    assert not signature_valide(secret, "", body)


def test_the_documented_check_refuses_a_replay_after_five_minutes(
    signature_valide, member, monkeypatch
):
    endpoint, secret = webhooks.webhook_endpoint_create(
        actor=member, url="http://127.0.0.1:9/", events=[WebhookEvent.CANDIDATURE_ETAT]
    )
    body = b'{"id":"1"}'
    now = timezone.now()
    header = webhooks.signature_header(endpoint, int(now.timestamp()), body, now)
    assert signature_valide(secret, header, body)
    later = time.time() + 301
    monkeypatch.setattr(time, "time", lambda: later)
    assert not signature_valide(secret, header, body)


def test_the_documented_check_accepts_both_secrets_after_a_rotation(
    signature_valide, member, django_capture_on_commit_callbacks
):
    with Receiver() as receiver:
        endpoint, old = webhooks.webhook_endpoint_create(
            actor=member, url=receiver.url(), events=[WebhookEvent.CANDIDATURE_ETAT]
        )
        new = webhooks.webhook_secret_rotate(endpoint=endpoint, actor=member)
        with django_capture_on_commit_callbacks(execute=True):
            webhooks.webhook_emit(
                editeur_id=member.editeur_id, event=WebhookEvent.CANDIDATURE_ETAT, data={}
            )
        (request,) = receiver.requests
    assert signature_valide(old, request.signature, request.body)
    assert signature_valide(new, request.signature, request.body)


def test_the_doc_lists_every_event_and_the_headers_sent(delivered):
    text = DOC.read_text(encoding="utf-8")
    table = {m[1] for m in re.finditer(r"^\| `([a-z_.]+)` \|", text, re.M)}
    assert set(WebhookEvent.values) <= table
    request, _endpoint, _secret = delivered
    for header in ["Content-Type", "User-Agent"]:
        assert f"| `{header}` | `{request.headers[header]}` |" in text, header
    for header in ["X-Segur-Event", "X-Segur-Delivery"]:
        assert f"| `{header}` |" in text, header
    assert f"`{webhooks.SIGNATURE_HEADER}`" in text
    assert set(request.json) == {"id", "type", "cree_le", "donnees"}
    for key in request.json:
        assert f'"{key}"' in text
