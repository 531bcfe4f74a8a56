"""Two sweeps, or two tasks for one delivery, at the same instant on real PostgreSQL
connections: each delivery is queued once and sent once."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from segur_portal import tasks, webhooks
from segur_portal.enums import WebhookDeliveryStatus, WebhookEvent
from segur_portal.models_api import WebhookDelivery
from tests.api.conftest import ready_user
from tests.api.receiver import Receiver
from tests.candidatures.test_concurrency import _race
from tests.preuves.dossiers import eligible_candidature

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks need PostgreSQL, not SQLite"
    ),
]
EVENT = WebhookEvent.CANDIDATURE_ETAT


@pytest.fixture
def receiver():
    with Receiver() as receiver:
        yield receiver


@pytest.fixture
def member(receiver):
    candidature = eligible_candidature()
    member = ready_user(candidature.editeur, company_role="mandataire")
    _endpoint, secret = webhooks.webhook_endpoint_create(
        actor=member, url=receiver.url(), events=[EVENT]
    )
    receiver.secrets.append(secret)
    return member


def _lost(member, count, at):
    """Deliveries whose task the broker lost."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tasks.webhook_deliver, "delay", lambda *args, **kwargs: None)
        for n in range(count):
            webhooks.webhook_emit(editeur_id=member.editeur_id, event=EVENT, data={"n": n}, now=at)


def test_two_sweeps_at_once_queue_and_send_each_delivery_once(member, receiver):
    now = timezone.now()
    _lost(member, 6, now - timedelta(minutes=30))
    assert receiver.requests == []
    first, second = _race(
        lambda: webhooks.webhooks_sweep(now=now), lambda: webhooks.webhooks_sweep(now=now)
    )
    assert first + second == 6, (first, second)
    assert sorted(r.json["donnees"]["n"] for r in receiver.requests) == list(range(6))
    assert all(r.signed for r in receiver.requests)
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {
        WebhookDeliveryStatus.LIVREE
    }


def test_two_tasks_for_one_delivery_send_it_once(member, receiver):
    now = timezone.now()
    _lost(member, 1, now)
    delivery = WebhookDelivery.objects.get()
    results = _race(
        lambda: webhooks.webhook_deliver(delivery_id=delivery.pk, due_at=now),
        lambda: webhooks.webhook_deliver(delivery_id=delivery.pk, due_at=now),
    )
    assert sorted(result is None for result in results) == [False, True], results
    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (WebhookDeliveryStatus.LIVREE, 1)
