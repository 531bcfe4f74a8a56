"""Webhook deliveries to a real receiver on loopback (tests/api/receiver.py): signed,
retried with exponential back-off until the receiver answers 2xx or 24 hours pass,
each attempt recorded; the previous secret signs beside the new one for 24 hours; a
real Celery worker delivers."""

import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from segur_portal import webhooks
from segur_portal.enums import WebhookDeliveryStatus, WebhookEvent
from segur_portal.models_api import WebhookAttempt, WebhookDelivery
from tests.api.conftest import ready_user
from tests.api.receiver import Receiver
from tests.preuves.dossiers import eligible_candidature
from tests.worker import wait_for

Status = WebhookDeliveryStatus
EVENT = WebhookEvent.CANDIDATURE_ETAT


@pytest.fixture
def receiver():
    with Receiver() as receiver:
        yield receiver


def register(member, receiver, events=(EVENT,), path="/segur"):
    endpoint, secret = webhooks.webhook_endpoint_create(
        actor=member, url=receiver.url(path), events=list(events)
    )
    receiver.secrets.append(secret)
    return endpoint, secret


def emit(capture, member, now, **data):
    with capture(execute=True):
        count = webhooks.webhook_emit(
            editeur_id=member.editeur_id, event=EVENT, data=data or {"n": 1}, now=now
        )
    return count


def sweep(capture, at):
    with capture(execute=True):
        return webhooks.webhooks_sweep(now=at)


def test_an_event_reaches_the_receiver_signed_and_recorded(
    member, receiver, django_capture_on_commit_callbacks
):
    endpoint, secret = register(member, receiver)
    now = timezone.now()
    assert emit(django_capture_on_commit_callbacks, member, now, vers="eligible") == 1

    delivery = WebhookDelivery.objects.get()
    (request,) = receiver.requests
    assert request.path == "/segur" and request.status == 200
    assert request.signed
    assert webhooks.verify_signature(secret, request.signature, request.body)
    assert request.headers["X-Segur-Event"] == "candidature.etat"
    assert request.headers["X-Segur-Delivery"] == str(delivery.pk)
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert request.body == delivery.body.encode()
    assert request.json["id"] == str(delivery.event_id)
    assert request.json["type"] == "candidature.etat"
    assert request.json["donnees"] == {"vers": "eligible"}
    assert request.json["cree_le"].endswith("Z")

    (attempt,) = WebhookAttempt.objects.filter(delivery=delivery)
    # Sent at once, after the event's commit; signed at the instant it was sent.
    assert now <= attempt.at < now + timedelta(seconds=5)
    assert request.timestamp == int(attempt.at.timestamp())
    assert (attempt.status_code, attempt.error) == (200, "")
    assert (delivery.status, delivery.attempts, delivery.delivered_at) == (
        Status.LIVREE,
        1,
        attempt.at,
    )
    assert 0 <= attempt.duration_ms < 5000
    assert delivery.last_duration_ms == attempt.duration_ms


def test_a_wrong_secret_is_a_failed_delivery(member, receiver, django_capture_on_commit_callbacks):
    register(member, receiver)
    receiver.secrets[:] = ["whsec_pas-le-bon"]
    emit(django_capture_on_commit_callbacks, member, timezone.now())
    (request,) = receiver.requests
    assert not request.signed and request.status == 401
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == Status.EN_ATTENTE and delivery.last_status_code == 401


def test_a_receiver_answering_500_sees_the_retries_then_200(
    member, receiver, django_capture_on_commit_callbacks, settings
):
    capture = django_capture_on_commit_callbacks
    register(member, receiver)
    receiver.script = [500, 500, 500]
    start = timezone.now()
    emit(capture, member, start)
    delivery = WebhookDelivery.objects.get()
    base = timedelta(seconds=settings.WEBHOOK_RETRY_BASE_SECONDS)

    instants = [WebhookAttempt.objects.get().at]
    for failures in (1, 2, 3):
        delivery.refresh_from_db()
        assert delivery.status == Status.EN_ATTENTE and delivery.attempts == failures
        # Exponential back-off: base, twice, four times.
        assert delivery.next_attempt_at == instants[-1] + base * 2 ** (failures - 1)
        # One second early, the sweep queues nothing and the receiver hears nothing.
        assert sweep(capture, delivery.next_attempt_at - timedelta(seconds=1)) == 0
        assert len(receiver.requests) == failures
        assert sweep(capture, delivery.next_attempt_at) == 1
        instants.append(delivery.next_attempt_at)

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.LIVREE, 4)
    assert [r.status for r in receiver.requests] == [500, 500, 500, 200]
    assert all(r.signed for r in receiver.requests)
    assert [r.timestamp for r in receiver.requests] == [int(t.timestamp()) for t in instants]
    assert {r.body for r in receiver.requests} == {delivery.body.encode()}
    assert {r.headers["X-Segur-Delivery"] for r in receiver.requests} == {str(delivery.pk)}
    attempts = list(WebhookAttempt.objects.filter(delivery=delivery))
    assert [(a.at, a.status_code) for a in attempts] == list(
        zip(instants, [500, 500, 500, 200], strict=True)
    )
    assert attempts[0].error == "Le récepteur a répondu 500."
    # Delivered: the sweeps after that send nothing more.
    assert sweep(capture, instants[-1] + timedelta(days=1)) == 0
    assert len(receiver.requests) == 4


def test_a_failing_receiver_is_tried_for_24_hours_then_abandoned(
    member, receiver, django_capture_on_commit_callbacks, settings
):
    capture = django_capture_on_commit_callbacks
    register(member, receiver)
    receiver.default = 503
    start = timezone.now()
    emit(capture, member, start)
    delivery = WebhookDelivery.objects.get()
    while delivery.status == Status.EN_ATTENTE:
        sweep(capture, delivery.next_attempt_at)
        delivery.refresh_from_db()

    # The schedule, worked out here from the rule: base × 2^(n−1), an hour at most,
    # attempts until 24 hours after the event.
    first = delivery.attempt_log.first().at
    base, expected, at, n = settings.WEBHOOK_RETRY_BASE_SECONDS, [], first, 1
    while at < start + timedelta(hours=24):
        expected.append(at)
        at += timedelta(seconds=min(base * 2 ** (n - 1), 3600))
        n += 1
    assert len(expected) > 20
    assert delivery.status == Status.ECHEC
    assert delivery.attempts == len(expected) == len(receiver.requests)
    assert list(delivery.attempt_log.values_list("at", flat=True)) == expected
    assert {r.status for r in receiver.requests} == {503}
    assert sweep(capture, start + timedelta(days=3)) == 0
    assert len(receiver.requests) == len(expected)


def test_a_delivery_pending_past_its_24_hours_is_abandoned_unsent(
    member, receiver, django_capture_on_commit_callbacks
):
    register(member, receiver)
    start = timezone.now()
    with django_capture_on_commit_callbacks(execute=False):
        # The broker lost the task: nothing was sent.
        webhooks.webhook_emit(editeur_id=member.editeur_id, event=EVENT, data={}, now=start)
    assert sweep(django_capture_on_commit_callbacks, start + timedelta(hours=25)) == 0
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == Status.ECHEC and delivery.attempts == 0
    assert "24 heures" in delivery.last_error
    assert receiver.requests == []


def test_the_sweep_queues_again_a_task_the_broker_lost(
    member, receiver, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    register(member, receiver)
    start = timezone.now()
    with capture(execute=False) as lost:
        webhooks.webhook_emit(editeur_id=member.editeur_id, event=EVENT, data={}, now=start)
    assert len(lost) == 1
    # Queued a moment ago: the task may still be on its way.
    assert sweep(capture, start + timedelta(minutes=5)) == 0
    assert sweep(capture, start + timedelta(minutes=11)) == 1
    (request,) = receiver.requests
    assert request.signed
    assert WebhookDelivery.objects.get().status == Status.LIVREE


def test_a_duplicate_task_sends_once(member, receiver, django_capture_on_commit_callbacks):
    register(member, receiver)
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=False):
        webhooks.webhook_emit(editeur_id=member.editeur_id, event=EVENT, data={}, now=now)
    delivery = WebhookDelivery.objects.get()
    assert webhooks.webhook_deliver(delivery_id=delivery.pk, due_at=now) is not None
    assert webhooks.webhook_deliver(delivery_id=delivery.pk, due_at=now) is None
    assert webhooks.webhook_deliver(delivery_id=delivery.pk) is None
    assert len(receiver.requests) == 1


def test_after_a_rotation_both_secrets_sign_for_24_hours_then_only_the_new(
    member, receiver, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    endpoint, old = register(member, receiver)
    rotated_at = timezone.now()
    new = webhooks.webhook_secret_rotate(endpoint=endpoint, actor=member, now=rotated_at)
    assert new != old and new.startswith("whsec_")
    endpoint.refresh_from_db()
    assert endpoint.secret == new and endpoint.secret_rotated_at == rotated_at

    # A receiver still on the old secret keeps receiving during the 24 hours.
    receiver.secrets[:] = [old]
    emit(capture, member, rotated_at + timedelta(hours=23, minutes=59))
    first = receiver.requests[-1]
    assert first.status == 200
    assert webhooks.verify_signature(old, first.signature, first.body, now=first.timestamp)
    assert webhooks.verify_signature(new, first.signature, first.body, now=first.timestamp)
    assert first.signature.count("v1=") == 2

    # Past them, the old secret no longer signs: that receiver refuses the delivery.
    emit(capture, member, rotated_at + timedelta(hours=24))
    second = receiver.requests[-1]
    assert second.status == 401 and second.signature.count("v1=") == 1
    assert not webhooks.verify_signature(old, second.signature, second.body, now=second.timestamp)
    assert webhooks.verify_signature(new, second.signature, second.body, now=second.timestamp)


def test_a_second_rotation_drops_the_first_secret(member, receiver):
    endpoint, first = register(member, receiver)
    now = timezone.now()
    second = webhooks.webhook_secret_rotate(endpoint=endpoint, actor=member, now=now)
    third = webhooks.webhook_secret_rotate(endpoint=endpoint, actor=member, now=now)
    endpoint.refresh_from_db()
    header = webhooks.signature_header(endpoint, 1, b"{}", now)
    assert webhooks.verify_signature(third, header, b"{}", now=1)
    assert webhooks.verify_signature(second, header, b"{}", now=1)
    assert not webhooks.verify_signature(first, header, b"{}", now=1)


def test_verify_signature_refuses_a_changed_body_an_old_instant_or_a_bare_header():
    secret = "whsec_essai"
    body = b'{"id":"1"}'
    header = f"t=1000,v1={webhooks.sign(secret, 1000, body)}"
    assert webhooks.verify_signature(secret, header, body, now=1000)
    assert webhooks.verify_signature(secret, header, body, now=1300)
    assert not webhooks.verify_signature(secret, header, body, now=1301)
    assert not webhooks.verify_signature(secret, header, b'{"id":"2"}', now=1000)
    assert not webhooks.verify_signature("whsec_autre", header, body, now=1000)
    assert not webhooks.verify_signature(secret, header.replace("t=1000", "t=1001"), body, now=1000)
    assert not webhooks.verify_signature(secret, f"v1={webhooks.sign(secret, 1000, body)}", body)
    assert not webhooks.verify_signature(secret, f"t=1000,t=1000,{header}", body, now=1000)
    assert not webhooks.verify_signature(secret, "", body, now=1000)


def test_a_disabled_endpoint_receives_nothing_more(
    member, receiver, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    endpoint, _secret = register(member, receiver)
    receiver.script = [500]
    start = timezone.now()
    emit(capture, member, start)
    webhooks.webhook_endpoint_disable(endpoint=endpoint, actor=member, now=start)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == Status.ECHEC
    assert sweep(capture, start + timedelta(hours=1)) == 0
    assert emit(capture, member, start + timedelta(hours=1)) == 0
    assert len(receiver.requests) == 1


def test_redelivery_sends_the_same_event_signed_anew(
    member, receiver, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    register(member, receiver)
    start = timezone.now()
    emit(capture, member, start)
    original = WebhookDelivery.objects.get()
    later = start + timedelta(days=3)
    with capture(execute=True):
        copy = webhooks.webhook_redeliver(delivery=original, actor=member, now=later)
    first, second = receiver.requests
    assert second.body == first.body and second.json["id"] == str(original.event_id)
    assert second.headers["X-Segur-Delivery"] == str(copy.pk) != str(original.pk)
    assert second.timestamp == int(later.timestamp()) and second.signed
    copy.refresh_from_db()
    assert (copy.status, copy.redelivery_of, copy.requested_by) == (Status.LIVREE, original, member)


def test_a_redelivery_under_way_is_not_sent_twice(
    member, receiver, django_capture_on_commit_callbacks
):
    from django.core.exceptions import ValidationError

    capture = django_capture_on_commit_callbacks
    register(member, receiver)
    receiver.default = 500
    emit(capture, member, timezone.now())
    original = WebhookDelivery.objects.get()
    with pytest.raises(ValidationError, match="déjà en cours de livraison"):
        webhooks.webhook_redeliver(delivery=original, actor=member)
    assert WebhookDelivery.objects.count() == 1


def test_a_company_has_ten_active_endpoints_at_most(member, receiver):
    from django.core.exceptions import ValidationError

    endpoints = [register(member, receiver, path=f"/{n}")[0] for n in range(10)]
    with pytest.raises(ValidationError, match="10 points de réception"):
        register(member, receiver, path="/onze")
    webhooks.webhook_endpoint_disable(endpoint=endpoints[0], actor=member)
    register(member, receiver, path="/onze")


# The sweep's cost: what is due, whatever waits


def _pending(member, receiver, capture, count, start):
    for n in range(count):
        with capture(execute=False):
            webhooks.webhook_emit(
                editeur_id=member.editeur_id, event=EVENT, data={"n": n}, now=start
            )


def test_the_sweep_touches_only_what_is_due_with_a_fixed_number_of_queries(
    member, receiver, django_capture_on_commit_callbacks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    capture = django_capture_on_commit_callbacks
    register(member, receiver)
    now = timezone.now()
    counts = []
    for due, waiting in ((2, 1), (12, 9)):
        WebhookDelivery.objects.all().delete()
        _pending(member, receiver, capture, due, now - timedelta(minutes=30))
        _pending(member, receiver, capture, waiting, now - timedelta(minutes=1))
        lost = WebhookDelivery.objects.filter(created_at=now - timedelta(minutes=30))
        with capture(execute=False) as queued, CaptureQueriesContext(connection) as queries:
            assert webhooks.webhooks_sweep(now=now) == due
        counts.append(len(queries))
        assert len(queued) == due
        assert set(
            WebhookDelivery.objects.filter(queued_at=now).values_list("pk", flat=True)
        ) == set(lost.values_list("pk", flat=True))
    assert counts[0] == counts[1] <= 6, counts
    assert receiver.requests == []


# A real Celery worker


@pytest.mark.worker
def test_a_real_worker_delivers_and_the_sweep_retries_through_it(celery_worker):
    candidature = eligible_candidature()
    member = ready_user(candidature.editeur, company_role="mandataire")
    with Receiver() as receiver:
        endpoint, secret = register(member, receiver)
        receiver.script = [500]
        with transaction.atomic():
            webhooks.webhook_emit(editeur_id=member.editeur_id, event=EVENT, data={"par": "worker"})
        delivery = WebhookDelivery.objects.get()
        wait_for(lambda: WebhookAttempt.objects.filter(delivery=delivery).exists())
        delivery.refresh_from_db()
        assert (delivery.status, delivery.last_status_code) == (Status.EN_ATTENTE, 500)
        # The sweep, in this process, queues the retry to the worker at its instant.
        assert webhooks.webhooks_sweep(now=delivery.next_attempt_at) == 1
        wait_for(
            lambda: WebhookDelivery.objects.filter(pk=delivery.pk, status=Status.LIVREE).exists()
        )
        assert [r.status for r in receiver.requests] == [500, 200]
        assert all(r.signed for r in receiver.requests)
        assert json.loads(receiver.requests[1].body)["donnees"] == {"par": "worker"}
        assert webhooks.verify_signature(
            secret, receiver.requests[0].signature, receiver.requests[0].body
        )
