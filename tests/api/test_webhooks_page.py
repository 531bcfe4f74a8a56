"""The page « Webhooks » of « Mon entreprise »: the mandataire and the représentants
register, rotate, disable and re-send; the salariés read; nobody else reaches a
company's endpoints or deliveries, whatever id they send."""

import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from candidatures.models import CguAcceptance
from segur_portal import webhooks
from segur_portal.enums import WebhookDeliveryStatus, WebhookEvent
from segur_portal.models_api import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tests.api.conftest import ready_user
from tests.api.receiver import Receiver
from tests.factories import UserFactory
from tests.pages import page_queries
from tests.preuves.dossiers import eligible_candidature

PAGE = reverse("webhooks")
EVENT = WebhookEvent.CANDIDATURE_ETAT


@pytest.fixture
def receiver():
    with Receiver() as receiver:
        yield receiver


@pytest.fixture
def endpoint(member, receiver):
    endpoint, secret = webhooks.webhook_endpoint_create(
        actor=member, url=receiver.url(), events=[EVENT]
    )
    receiver.secrets.append(secret)
    return endpoint


@pytest.fixture
def delivery(member, endpoint, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.webhook_emit(editeur_id=member.editeur_id, event=EVENT, data={"n": 1})
    return WebhookDelivery.objects.get()


@pytest.fixture
def other_company():
    candidature = eligible_candidature()
    return ready_user(candidature.editeur, company_role="mandataire")


def _actions(endpoint, delivery):
    return [
        reverse("webhook_rotate", args=[endpoint.pk]),
        reverse("webhook_disable", args=[endpoint.pk]),
        reverse("webhook_redeliver", args=[delivery.pk]),
    ]


def _unchanged(endpoint, secret):
    endpoint.refresh_from_db()
    assert endpoint.secret == secret and endpoint.disabled_at is None
    assert WebhookDelivery.objects.count() == 1


# Who reaches what


def test_anonymous_visitors_reach_nothing(client, endpoint, delivery):
    secret = endpoint.secret
    for url in [PAGE, *_actions(endpoint, delivery)]:
        response = client.post(url, {"url": "https://exemple.fr/", "events": [EVENT]})
        assert response.status_code == 302 and "/connexion/" in response["Location"], url
    response = client.get(PAGE)
    assert response.status_code == 302 and "/connexion/" in response["Location"]
    _unchanged(endpoint, secret)
    assert WebhookEndpoint.objects.count() == 1


@pytest.mark.parametrize("trait", ["instructeur", "college", "admin"])
def test_the_agency_reaches_no_company_webhooks(client, endpoint, delivery, trait):
    client.force_login(UserFactory(**{trait: True}))
    secret = endpoint.secret
    assert client.get(PAGE).status_code == 403
    for url in _actions(endpoint, delivery):
        assert client.post(url).status_code == 403, url
    _unchanged(endpoint, secret)


def test_another_company_gets_404_on_ids_it_does_not_own(client, endpoint, delivery, other_company):
    client.force_login(other_company)
    secret = endpoint.secret
    for url in _actions(endpoint, delivery):
        assert client.post(url).status_code == 404, url
    page = client.get(PAGE)
    assert page.status_code == 200
    assert endpoint.url.encode() not in page.content
    assert str(delivery.event_id).encode() not in page.content
    _unchanged(endpoint, secret)


def test_forged_ids_are_404(client, member, endpoint):
    client.force_login(member)
    for url in [
        reverse("webhook_redeliver", args=[uuid.uuid4()]),
        reverse("webhook_rotate", args=[endpoint.pk + 1000]),
        reverse("webhook_disable", args=[endpoint.pk + 1000]),
        "/entreprise/webhooks/livraisons/pas-un-uuid/renvoyer/",
        "/entreprise/webhooks/-1/secret/",
    ]:
        assert client.post(url).status_code == 404, url


def test_a_salarie_reads_the_page_but_changes_nothing(
    client, candidature, endpoint, delivery, receiver
):
    salarie = ready_user(candidature.editeur)
    client.force_login(salarie)
    secret = endpoint.secret
    page = client.get(PAGE)
    assert page.status_code == 200
    content = page.content.decode()
    assert endpoint.url in content and str(delivery.event_id) in content
    assert "Le mandataire ou un représentant de l’entreprise gère les webhooks." in content
    assert "Renouveler le secret" not in content and "Enregistrer" not in content
    assert secret not in content
    for url in _actions(endpoint, delivery):
        assert client.post(url).status_code == 403, url
    response = client.post(PAGE, {"url": receiver.url("/x"), "events": [EVENT]})
    assert response.status_code == 403
    _unchanged(endpoint, secret)
    assert WebhookEndpoint.objects.count() == 1


def test_a_member_without_the_cgu_in_force_is_sent_to_them(client, member):
    CguAcceptance.objects.filter(user=member).delete()
    client.force_login(member)
    response = client.get(PAGE)
    assert response.status_code == 302 and "/cgu/" in response["Location"]


def test_methods_other_than_post_are_refused_on_actions(client, member, endpoint, delivery):
    client.force_login(member)
    for url in _actions(endpoint, delivery):
        assert client.get(url).status_code == 405, url


# What the mandataire and the représentants do


@pytest.mark.parametrize("role", ["mandataire", "representant"])
def test_registering_shows_the_secret_once(client, candidature, receiver, role):
    user = ready_user(candidature.editeur, company_role=role)
    client.force_login(user)
    response = client.post(
        PAGE,
        {
            "url": receiver.url("/segur"),
            "description": "Intégration continue",
            "events": [EVENT, WebhookEvent.FICHIER_VERIFIE],
        },
    )
    assert response.status_code == 201
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.editeur_id == candidature.editeur_id and endpoint.created_by == user
    assert endpoint.events == [WebhookEvent.FICHIER_VERIFIE, EVENT]
    assert endpoint.secret.startswith("whsec_") and len(endpoint.secret) > 40
    assert endpoint.secret in response.content.decode()
    assert "il ne sera plus jamais affiché" in response.content.decode()
    again = client.get(PAGE).content.decode()
    assert endpoint.url in again and endpoint.secret not in again


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://169.254.169.254/latest/meta-data/", "locale au lien"),
        ("https://10.0.0.1/", "privée"),
        ("https://[fd00::1]/", "privée"),
        ("ftp://exemple.fr/", "https://"),
        ("x" * 501, "500 caractères"),
    ],
)
def test_a_refused_address_is_said_at_its_field(client, member, url, message):
    client.force_login(member)
    response = client.post(PAGE, {"url": url, "events": [EVENT]})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_no_event_chosen_is_refused(client, member, receiver):
    client.force_login(member)
    response = client.post(PAGE, {"url": receiver.url(), "events": []})
    assert response.status_code == 200
    assert not WebhookEndpoint.objects.exists()


def test_an_unknown_event_is_refused(client, member, receiver):
    client.force_login(member)
    response = client.post(PAGE, {"url": receiver.url(), "events": ["compte.supprime"]})
    assert response.status_code == 200
    assert not WebhookEndpoint.objects.exists()


def test_rotating_shows_the_new_secret_once(client, member, endpoint):
    client.force_login(member)
    old = endpoint.secret
    response = client.post(reverse("webhook_rotate", args=[endpoint.pk]))
    assert response.status_code == 200
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.previous_secret == old
    assert endpoint.previous_secret_until - endpoint.secret_rotated_at == timedelta(hours=24)
    content = response.content.decode()
    assert endpoint.secret in content and old not in content
    assert "L’ancien secret signe encore pendant 24 heures" in content
    assert endpoint.secret not in client.get(PAGE).content.decode()


def test_a_disabled_endpoint_cannot_be_rotated(client, member, endpoint):
    client.force_login(member)
    assert client.post(reverse("webhook_disable", args=[endpoint.pk])).status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.disabled_at is not None and endpoint.disabled_by == member
    secret = endpoint.secret
    response = client.post(reverse("webhook_rotate", args=[endpoint.pk]), follow=True)
    assert "Ce point de réception est désactivé." in response.content.decode()
    endpoint.refresh_from_db()
    assert endpoint.secret == secret


def test_resending_a_delivery_from_the_page(
    client, member, endpoint, delivery, receiver, django_capture_on_commit_callbacks
):
    client.force_login(member)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("webhook_redeliver", args=[delivery.pk]), follow=True)
    assert "renvoyé à" in response.content.decode()
    copy = WebhookDelivery.objects.exclude(pk=delivery.pk).get()
    assert copy.redelivery_of == delivery and copy.requested_by == member
    assert copy.status == WebhookDeliveryStatus.LIVREE
    first, second = receiver.requests
    assert first.body == second.body and second.signed


def test_the_page_shows_each_attempt_with_its_status_and_time(
    client, member, endpoint, receiver, django_capture_on_commit_callbacks
):
    receiver.script = [500]
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.webhook_emit(editeur_id=member.editeur_id, event=EVENT, data={})
    delivery = WebhookDelivery.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.webhooks_sweep(now=delivery.next_attempt_at)
    client.force_login(member)
    content = client.get(PAGE).content.decode()
    first, second = WebhookAttempt.objects.filter(delivery=delivery)
    assert f"HTTP 500 en {first.duration_ms} ms : Le récepteur a répondu 500." in content
    assert f"HTTP 200 en {second.duration_ms} ms" in content
    assert "Livrée" in content


# Cost


def test_the_page_runs_the_same_queries_for_2_or_10_endpoints_and_deliveries(
    client, member, receiver
):
    client.force_login(member)
    now = timezone.now()

    def grow(count):
        for n in range(count):
            endpoint, _secret = webhooks.webhook_endpoint_create(
                actor=member, url=receiver.url(f"/{uuid.uuid4()}"), events=[EVENT]
            )
            delivery = WebhookDelivery.objects.create(
                endpoint=endpoint, event=EVENT, event_id=uuid.uuid4(), body="{}",
                expires_at=now + timedelta(hours=24), next_attempt_at=now, queued_at=now,
                attempts=2,
            )  # fmt: skip
            for k in range(2):
                WebhookAttempt.objects.create(
                    delivery=delivery, at=now, status_code=500 + k, duration_ms=12
                )
            if n % 2:
                webhooks.webhook_endpoint_disable(endpoint=endpoint, actor=member)

    grow(2)
    small, _content = page_queries(client, PAGE)
    grow(8)
    large, content = page_queries(client, PAGE)
    assert WebhookEndpoint.objects.count() == 10
    assert content.count(b"HTTP 501") == WebhookDelivery.objects.count()
    assert small == large <= 12, (small, large)


def test_the_page_says_the_retry_schedule_of_the_settings(client, member, settings):
    client.force_login(member)
    assert "après 1, 2, 4… minutes, une heure au plus" in client.get(PAGE).content.decode()
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    assert "après 30, 60, 120… secondes" in client.get(PAGE).content.decode()


def test_registering_rotating_and_disabling_are_journaled_without_the_path(
    client, member, receiver
):
    from segur_portal.enums import JournalKind
    from segur_portal.models import JournalEntry

    client.force_login(member)
    client.post(PAGE, {"url": receiver.url("/cle-secrete-du-recepteur"), "events": [EVENT]})
    endpoint = WebhookEndpoint.objects.get()
    client.post(reverse("webhook_rotate", args=[endpoint.pk]))
    client.post(reverse("webhook_disable", args=[endpoint.pk]))
    entries = list(JournalEntry.objects.filter(kind=JournalKind.COMPTE).order_by("seq"))
    told = [e for e in entries if e.data["event"].startswith("webhook_")]
    assert [e.data["event"] for e in told] == [
        "webhook_cree",
        "webhook_secret_renouvele",
        "webhook_desactive",
    ]
    assert {(e.actor_id, e.data["webhook"], e.data["host"]) for e in told} == {
        (member.pk, endpoint.pk, "127.0.0.1")
    }
    assert told[0].data["events"] == [EVENT]
    for entry in told:
        assert "cle-secrete" not in str(entry.data) and endpoint.secret not in str(entry.data)
