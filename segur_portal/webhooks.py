"""Signed webhooks: a company's endpoints are told of the events it chose (docs/WEBHOOKS.md).

- `webhook_emit` (`webhooks_emit_many` for a batch of events) is what the services call
  where an event happens, inside their transaction: it records one delivery per endpoint of the company that wants the
  event, and queues each after the commit (an event rolled back is never sent).
- `webhook_deliver` (a Celery task, segur_portal.tasks) makes one attempt: the address
  is resolved, every address checked (no private, loopback or link-local address), the
  connection made to the address checked, with short timeouts (a whole attempt too),
  no redirect followed and at most RESPONSE_KEPT_BYTES of the answer read. The body is
  signed: `X-Segur-Signature: t=<unix time>,v1=<HMAC-SHA256 hex of "t.body">`.
- A failure is tried again after WEBHOOK_RETRY_BASE_SECONDS, doubled each time (an hour
  apart at most), until 24 hours after the event; `webhooks_sweep` queues what is due.
"""

import hashlib
import hmac
import http.client
import io
import ipaddress
import json
import logging
import secrets
import socket
import ssl
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from segur_portal.enums import WebhookDeliveryStatus, WebhookEvent
from segur_portal.models_api import WebhookAttempt, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)
Status = WebhookDeliveryStatus

SIGNATURE_HEADER = "X-Segur-Signature"
USER_AGENT = "Portail-Segur-Webhooks/1"
DELIVERY_LIFETIME = timedelta(hours=24)
RETRY_MAX_DELAY = timedelta(hours=1)
# An attempt under way holds its delivery this long: a duplicate task skips it, and a
# worker that died in the middle leaves it to the sweep after this.
ATTEMPT_LEASE = timedelta(minutes=2)
# A delivery queued this long ago and still due was lost by the broker: queued again.
REQUEUE_AFTER = timedelta(minutes=10)
SWEEP_BATCH = 500
CONNECT_TIMEOUT_SECONDS = 3
READ_TIMEOUT_SECONDS = 5
# A whole attempt (connection, TLS, request, answer) stops after this, however the
# receiver spreads its bytes.
TOTAL_TIMEOUT_SECONDS = 10
# The most read of a receiver's answer: its status and a little, never all of it.
RESPONSE_KEPT_BYTES = 2048
PREVIOUS_SECRET_VALIDITY = timedelta(hours=24)
MAX_ENDPOINTS = 10


# Targets: https, public addresses only (SSRF)


class TargetRefused(ValueError):
    """An address the portal will not send to, with the reason in French."""


# IPv6 prefixes that carry an IPv4 address a gateway may reach: NAT64 (RFC 6052).
NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(ip) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (mapped, NAT64, 6to4, Teredo server)."""
    if ip.version != 6:
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[0]
    return None


def _address_problem(address: str) -> str | None:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if (embedded := _embedded_ipv4(ip)) is not None:
        # The IPv6 wrapper is judged by what it reaches; 6to4 and Teredo relays are
        # public, the address they carry may not be.
        problem = _address_problem(str(embedded))
        if problem or ip.ipv4_mapped is not None or ip in NAT64:
            return problem
    if ip.is_loopback:
        return (
            None if settings.WEBHOOK_ALLOW_LOOPBACK else "une adresse de bouclage (cette machine)"
        )
    if ip.is_link_local:
        return "une adresse locale au lien (169.254.0.0/16, fe80::/10)"
    if ip.is_private or ip.is_unspecified or ip.is_reserved or ip.is_multicast or not ip.is_global:
        return "une adresse privée, réservée ou non routable sur Internet"
    return None


def resolve_checked(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, each checked; TargetRefused if one is refused
    (a name that resolves to a public and a private address is refused whole)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise TargetRefused(f"L’adresse « {host} » est introuvable (DNS).") from error
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise TargetRefused(f"L’adresse « {host} » est introuvable (DNS).")
    for address in addresses:
        problem = _address_problem(address)
        if problem:
            raise TargetRefused(
                f"« {host} » désigne {problem} ({address}) : le portail n’y envoie rien."
            )
    return addresses


def check_target(url: str) -> tuple[str, str, int, list[str]]:
    """(scheme, host, port, checked addresses) of a webhook address, or TargetRefused."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise TargetRefused("Adresse invalide.") from error
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise TargetRefused("Adresse attendue en https://, avec un nom de domaine.")
    if parts.username or parts.password:
        raise TargetRefused("L’adresse ne doit pas contenir d’identifiant ni de mot de passe.")
    host = parts.hostname
    port = port or (443 if parts.scheme == "https" else 80)
    addresses = resolve_checked(host, port)
    if parts.scheme == "http":
        # Plain http only to this machine, where the settings allow it (DEBUG, tests).
        loopback = all(
            ipaddress.ip_address(address.split("%", 1)[0]).is_loopback for address in addresses
        )
        if not (settings.WEBHOOK_ALLOW_LOOPBACK and loopback):
            raise TargetRefused("Adresse attendue en https:// : le portail n’envoie rien en clair.")
    return parts.scheme, host, port, addresses


# Signature


def sign(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(endpoint: WebhookEndpoint, timestamp: int, body: bytes, now) -> str:
    """t=…,v1=… with the current secret, and a second v1 with the previous one for a day
    after a rotation."""
    parts = [f"t={timestamp}", f"v1={sign(endpoint.secret, timestamp, body)}"]
    if (
        endpoint.previous_secret
        and endpoint.previous_secret_until
        and now < endpoint.previous_secret_until
    ):
        parts.append(f"v1={sign(endpoint.previous_secret, timestamp, body)}")
    return ",".join(parts)


def verify_signature(
    secret: str, header: str, body: bytes, *, now: float | None = None, tolerance: int = 300
) -> bool:
    """What a receiver checks (docs/WEBHOOKS.md has the same in a few lines): one v1
    matches and the timestamp is recent."""
    fields = [part.split("=", 1) for part in header.split(",") if "=" in part]
    timestamps = [value for key, value in fields if key == "t"]
    if len(timestamps) != 1 or not timestamps[0].isdigit():
        return False
    timestamp = int(timestamps[0])
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body)
    return any(hmac.compare_digest(expected, value) for key, value in fields if key == "v1")


# Emission


def _body(*, event: str, event_id: uuid.UUID, now: datetime, data: dict) -> str:
    # DjangoJSONEncoder writes instants in ISO 8601, UTC ones ending in Z.
    return json.dumps(
        {"id": str(event_id), "type": event, "cree_le": now.astimezone(UTC), "donnees": data},
        cls=DjangoJSONEncoder,
        ensure_ascii=False,
        separators=(",", ":"),
    )


def _endpoints(editeur_ids) -> dict[int, list[tuple[int, list[str]]]]:
    """(pk, events) of each company's active endpoints (ten at most each: read whole)."""
    editeur_ids = {pk for pk in editeur_ids if pk is not None}
    endpoints: dict[int, list[tuple[int, list[str]]]] = {}
    if not editeur_ids:
        return endpoints
    for pk, editeur_id, events in WebhookEndpoint.objects.filter(
        editeur_id__in=editeur_ids, disabled_at__isnull=True
    ).values_list("pk", "editeur_id", "events"):
        endpoints.setdefault(editeur_id, []).append((pk, events))
    return endpoints


def _subscribed(editeur_id: int | None, event: str) -> list[int]:
    """The company's active endpoints that want the event."""
    return [pk for pk, events in _endpoints({editeur_id}).get(editeur_id, []) if event in events]


@dataclass(frozen=True)
class Emission:
    """One webhook_emit call, for webhooks_emit_many."""

    editeur_id: int | None
    event: str
    data: dict
    now: datetime


def webhook_emit(*, editeur_id: int | None, event: str, data: dict, now=None) -> int:
    """Record the event for each active endpoint of the company that wants it, and queue
    the deliveries once the transaction commits. Returns how many."""
    emission = Emission(editeur_id=editeur_id, event=event, data=data, now=now or timezone.now())
    return webhooks_emit_many([emission])


def webhooks_emit_many(emissions: list[Emission]) -> int:
    """webhook_emit for each emission in turn, the companies' endpoints read in one query
    and the deliveries inserted in one: the same deliveries, queued the same way."""
    endpoints = _endpoints(emission.editeur_id for emission in emissions)
    deliveries = []
    for emission in emissions:
        wanted = [
            pk for pk, events in endpoints.get(emission.editeur_id, []) if emission.event in events
        ]
        if not wanted:
            continue
        now, event_id = emission.now, uuid.uuid4()
        body = _body(
            event=WebhookEvent(emission.event), event_id=event_id, now=now, data=emission.data
        )
        deliveries += [
            WebhookDelivery(
                endpoint_id=pk,
                event=emission.event,
                event_id=event_id,
                body=body,
                created_at=now,
                expires_at=now + DELIVERY_LIFETIME,
                next_attempt_at=now,
                queued_at=now,
            )
            for pk in wanted
        ]
    if not deliveries:
        return 0
    for delivery in WebhookDelivery.objects.bulk_create(deliveries):
        _queue_after_commit([delivery.pk], due_at=delivery.created_at)
    return len(deliveries)


def _queue_after_commit(ids, *, due_at: datetime) -> None:
    from segur_portal import tasks

    at = due_at.isoformat()
    for pk in ids:
        # robust: a broker down must not fail the event; the sweep queues it again.
        transaction.on_commit(
            lambda pk=pk: tasks.webhook_deliver.delay(str(pk), due_at=at), robust=True
        )


# Delivery


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    duration_ms: int
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _DeadlineReader(io.RawIOBase):
    """The receiver's answer, read under the attempt's deadline: a receiver that answers
    a byte at a time (each within the read timeout) still stops at the deadline."""

    def __init__(self, sock, deadline: float):
        self.sock, self.deadline = sock, deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("délai total de la tentative dépassé")
        self.sock.settimeout(min(remaining, READ_TIMEOUT_SECONDS))
        return self.sock.recv_into(buffer)


class _DeadlineSocket:
    """What http.client needs of a socket: send, and a file to read the answer from."""

    def __init__(self, sock, deadline: float):
        self.sock, self.deadline = sock, deadline

    def sendall(self, data) -> None:
        self.sock.settimeout(
            max(min(self.deadline - time.monotonic(), READ_TIMEOUT_SECONDS), 0.001)
        )
        self.sock.sendall(data)

    def makefile(self, mode: str = "rb", *args, **kwargs):
        return io.BufferedReader(_DeadlineReader(self.sock, self.deadline))

    def close(self) -> None:
        self.sock.close()


def _connect(addresses: list[str], port: int, deadline: float) -> socket.socket:
    """A connection to the first of the checked addresses that answers."""
    error: OSError = OSError("aucune adresse")
    for address in addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            return socket.create_connection(
                (address, port), timeout=min(CONNECT_TIMEOUT_SECONDS, remaining)
            )
        except OSError as failure:
            error = failure
    raise error


def post(url: str, body: bytes, headers: dict[str, str]) -> Answer:
    """POST `body` to `url` on an address checked after resolution, never following a
    redirect, within TOTAL_TIMEOUT_SECONDS. Never raises: the answer says what went
    wrong."""
    started = time.monotonic()
    deadline = started + TOTAL_TIMEOUT_SECONDS

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        scheme, host, port, addresses = check_target(url)
    except TargetRefused as error:
        return Answer(None, elapsed(), str(error))
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    name = f"[{host}]" if ":" in host else host
    default_port = 443 if scheme == "https" else 80
    sock = None
    try:
        # The address connected to is one just checked, never the name resolved again:
        # a name that changes its answer between the check and the connection (DNS
        # rebinding) gains nothing.
        sock = _connect(addresses, port, deadline)
        if scheme == "https":
            sock.settimeout(max(min(deadline - time.monotonic(), READ_TIMEOUT_SECONDS), 0.001))
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
        connection = http.client.HTTPConnection(host, port)
        connection.sock = _DeadlineSocket(sock, deadline)
        connection.request(
            "POST",
            target,
            body=body,
            headers={"Host": name if port == default_port else f"{name}:{port}", **headers},
        )
        response = connection.getresponse()
        # What the receiver says is not needed: a little is read, the rest never.
        response.read(RESPONSE_KEPT_BYTES)
        status = response.status
    except (OSError, http.client.HTTPException, ValueError) as error:
        return Answer(None, elapsed(), f"{type(error).__name__} : {error}"[:500])
    finally:
        if sock is not None:
            sock.close()
    if 300 <= status < 400:
        return Answer(
            status, elapsed(), "Redirection refusée : le portail ne suit aucune redirection."
        )
    if not 200 <= status < 300:
        return Answer(status, elapsed(), f"Le récepteur a répondu {status}.")
    return Answer(status, elapsed())


def retry_delay(attempts: int) -> timedelta:
    """After the n-th failed attempt: base × 2^(n−1), an hour at most."""
    base = timedelta(seconds=settings.WEBHOOK_RETRY_BASE_SECONDS)
    return min(base * 2 ** max(attempts - 1, 0), RETRY_MAX_DELAY)


def webhook_deliver(*, delivery_id, due_at: datetime | None = None) -> WebhookDelivery | None:
    """One attempt at a due delivery. `due_at` is the instant its caller found it due
    (the event's, or the sweep's clock): the attempt is made then, or now if that is
    later. A duplicate task, a delivery not due or past its 24 hours, does nothing: the
    attempt is claimed by one UPDATE before anything is sent."""
    now = max(timezone.now(), due_at or datetime.min.replace(tzinfo=UTC))
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id,
        status=Status.EN_ATTENTE,
        next_attempt_at__lte=due_at or now,
        expires_at__gt=now,
    ).update(next_attempt_at=now + ATTEMPT_LEASE, attempts=F("attempts") + 1)
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    body = delivery.body.encode()
    timestamp = int(now.timestamp())
    answer = post(
        endpoint.url,
        body,
        {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            "X-Segur-Event": delivery.event,
            "X-Segur-Delivery": str(delivery.pk),
            SIGNATURE_HEADER: signature_header(endpoint, timestamp, body, now),
        },
    )
    return _record(delivery, answer, now=now)


def _record(delivery: WebhookDelivery, answer: Answer, *, now: datetime) -> WebhookDelivery:
    with transaction.atomic():
        locked = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        WebhookAttempt.objects.create(
            delivery=locked,
            at=now,
            status_code=answer.status_code,
            duration_ms=answer.duration_ms,
            error=answer.error,
        )
        locked.last_status_code = answer.status_code
        locked.last_duration_ms = answer.duration_ms
        locked.last_error = answer.error
        if answer.ok:
            locked.status = Status.LIVREE
            locked.delivered_at = now
        else:
            following = now + retry_delay(locked.attempts)
            if following >= locked.expires_at:
                locked.status = Status.ECHEC
            locked.next_attempt_at = following
        locked.save()
    if not answer.ok:
        logger.info(
            "webhook %s : tentative %s échouée (%s)", locked.pk, locked.attempts, answer.error
        )
    return locked


def _due(now: datetime) -> Q:
    """Pending deliveries whose attempt is due and not yet queued for it, or queued so
    long ago that the broker lost the task."""
    return Q(status=Status.EN_ATTENTE, next_attempt_at__lte=now) & (
        Q(queued_at__lt=F("next_attempt_at")) | Q(queued_at__lt=now - REQUEUE_AFTER)
    )


def webhooks_sweep(*, now: datetime) -> int:
    """Sweep: abandon the deliveries past their 24 hours, then queue those due again
    (set-based, through the partial index of pending deliveries). Idempotent."""
    with transaction.atomic():
        # Never attempted again before its end (a worker outage): abandoned, said so. A
        # pending delivery is due again before it expires (or at the end of an attempt's
        # lease), so the index's range of due rows holds every one that expired.
        WebhookDelivery.objects.filter(
            status=Status.EN_ATTENTE, next_attempt_at__lte=now, expires_at__lte=now
        ).update(
            status=Status.ECHEC,
            last_error="Non livrée dans les 24 heures suivant l’événement.",
        )
        due = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(_due(now))
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:SWEEP_BATCH]
        )
        WebhookDelivery.objects.filter(pk__in=due).update(queued_at=now)
        _queue_after_commit(due, due_at=now)
    return len(due)


# The company's endpoints (the page « Webhooks » of « Mon entreprise »)


def can_manage_webhooks(user) -> bool:
    """The mandataire and the représentants, who keep the company's data."""
    from candidatures.permissions import can_edit_company

    return user.is_active and can_edit_company(user)


def _require_manager(actor, endpoint: WebhookEndpoint | None = None) -> None:
    if not can_manage_webhooks(actor):
        raise PermissionDenied(
            "Le mandataire ou un représentant de l’entreprise gère les webhooks."
        )
    if endpoint is not None and endpoint.editeur_id != actor.editeur_id:
        raise PermissionDenied


def _clean_events(events) -> list[str]:
    chosen = [event for event in WebhookEvent.values if event in set(events)]
    if not chosen:
        raise ValidationError({"events": "Cochez au moins un événement à recevoir."})
    return chosen


def webhook_endpoint_create(
    *, actor, url: str, events, description: str = "", now=None
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint, its address checked now (and again at each delivery). Returns
    the endpoint and its secret, shown once."""
    from candidatures.models import Editeur

    now = now or timezone.now()
    _require_manager(actor)
    url = url.strip()
    if len(url) > 500:
        raise ValidationError({"url": "Adresse de 500 caractères au plus."})
    chosen = _clean_events(events)
    try:
        check_target(url)
    except TargetRefused as error:
        raise ValidationError({"url": str(error)}) from error
    secret = "whsec_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        # The company's row is locked: two registrations at once count each other.
        list(Editeur.objects.select_for_update().filter(pk=actor.editeur_id).values_list("pk"))
        active = WebhookEndpoint.objects.filter(
            editeur_id=actor.editeur_id, disabled_at__isnull=True
        )
        if active.count() >= MAX_ENDPOINTS:
            raise ValidationError(
                f"Une entreprise a {MAX_ENDPOINTS} points de réception actifs au plus : "
                "désactivez-en un d’abord."
            )
        endpoint = WebhookEndpoint.objects.create(
            editeur_id=actor.editeur_id,
            url=url,
            description=description.strip()[:100],
            events=chosen,
            secret=secret,
            created_by=actor,
            created_at=now,
        )
        _journal(endpoint, actor=actor, event="webhook_cree", events=chosen)
    return endpoint, secret


def _journal(endpoint: WebhookEndpoint, *, actor, event: str, **data) -> None:
    """In the journal, as the API tokens: who opened, rotated or closed a way out of the
    company's data. The host only: an address's path or query may hold a receiver's key."""
    from segur_portal.journal_events import journal_account

    journal_account(
        actor,
        event=event,
        webhook=endpoint.pk,
        host=urlsplit(endpoint.url).hostname or "",
        **data,
    )


def webhook_secret_rotate(*, endpoint: WebhookEndpoint, actor, now=None) -> str:
    """A new secret, shown once; the previous one still signs for a day beside it."""
    now = now or timezone.now()
    _require_manager(actor, endpoint)
    secret = "whsec_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        if locked.disabled_at is not None:
            raise ValidationError("Ce point de réception est désactivé.")
        locked.previous_secret = locked.secret
        locked.previous_secret_until = now + PREVIOUS_SECRET_VALIDITY
        locked.secret = secret
        locked.secret_rotated_at = now
        locked.save(
            update_fields=[
                "previous_secret",
                "previous_secret_until",
                "secret",
                "secret_rotated_at",
            ]
        )
        _journal(locked, actor=actor, event="webhook_secret_renouvele")
    return secret


def webhook_endpoint_disable(*, endpoint: WebhookEndpoint, actor, now=None) -> None:
    """No more deliveries to it; those under way are abandoned. Kept, for the record."""
    now = now or timezone.now()
    _require_manager(actor, endpoint)
    with transaction.atomic():
        updated = WebhookEndpoint.objects.filter(pk=endpoint.pk, disabled_at__isnull=True).update(
            disabled_at=now, disabled_by=actor
        )
        if updated:
            WebhookDelivery.objects.filter(endpoint=endpoint, status=Status.EN_ATTENTE).update(
                status=Status.ECHEC, last_error="Point de réception désactivé."
            )
            _journal(endpoint, actor=actor, event="webhook_desactive")


def webhook_redeliver(*, delivery: WebhookDelivery, actor, now=None) -> WebhookDelivery:
    """Send a delivery again, as it was (same event id, same body, signed anew), with
    24 hours of attempts of its own."""
    now = now or timezone.now()
    endpoint = delivery.endpoint
    _require_manager(actor, endpoint)
    if endpoint.disabled_at is not None:
        raise ValidationError(
            "Ce point de réception est désactivé : enregistrez de nouveau son adresse."
        )
    pending = WebhookDelivery.objects.filter(
        endpoint=endpoint, event_id=delivery.event_id, status=Status.EN_ATTENTE
    )
    if pending.exists():
        # A click repeated sends nothing more: the delivery under way carries the event.
        raise ValidationError(
            "Cet événement est déjà en cours de livraison à cette adresse : "
            "attendez son résultat avant de le renvoyer."
        )
    copy = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event=delivery.event,
        event_id=delivery.event_id,
        body=delivery.body,
        created_at=now,
        expires_at=now + DELIVERY_LIFETIME,
        next_attempt_at=now,
        queued_at=now,
        redelivery_of=delivery,
        requested_by=actor,
    )
    _queue_after_commit([copy.pk], due_at=now)
    return copy


def endpoints_of(editeur_id: int):
    return WebhookEndpoint.objects.filter(editeur_id=editeur_id).select_related("created_by")


def recent_deliveries(editeur_id: int, *, limit: int = 50):
    return (
        WebhookDelivery.objects.filter(endpoint__editeur_id=editeur_id)
        .select_related("endpoint")
        .order_by("-created_at")[:limit]
    )


# What each event says: one function per event, called by the service where it happens.

API_ROOT = "/api/v1"


def _api_url(path: str) -> str:
    return f"{settings.SITE_URL}{API_ROOT}{path}"


def _candidature_ref(candidature) -> dict:
    return {
        "id": candidature.pk,
        "reference": candidature.reference,
        "url": _api_url(f"/candidatures/{candidature.pk}"),
    }


def webhook_transition(transition) -> None:
    """A candidature changed state (candidatures.services.candidature._apply)."""
    webhooks_emit_many([transition_emission(transition)])


def transition_emission(transition) -> Emission:
    """What webhook_transition emits, for webhooks_emit_many."""
    candidature = transition.candidature
    return Emission(
        editeur_id=candidature.editeur_id,
        event=WebhookEvent.CANDIDATURE_ETAT,
        now=transition.at,
        data={
            "candidature": _candidature_ref(candidature),
            "de": transition.from_state,
            "vers": transition.to_state,
            "motif": transition.reason,
        },
    )


def webhook_fichier_checked(fichier) -> None:
    """A file the company uploaded was accepted or refused by the background check (the
    agency's attachments, though owned by the company, are told by their exchange)."""
    if not _subscribed(fichier.editeur_id, WebhookEvent.FICHIER_VERIFIE):
        return
    if fichier.uploaded_by.editeur_id != fichier.editeur_id:
        return
    webhook_emit(
        editeur_id=fichier.editeur_id,
        event=WebhookEvent.FICHIER_VERIFIE,
        now=fichier.checked_at,
        data={
            "fichier": {
                "id": str(fichier.pk),
                "nom": fichier.original_name,
                "statut": fichier.status,
                "motif_refus": fichier.refusal_reason,
                "sha256": fichier.sha256,
                "url": _api_url(f"/fichiers/{fichier.pk}"),
            }
        },
    )


def _sollicitation_data(sollicitation) -> dict:
    return {
        "candidature": _candidature_ref(sollicitation.candidature),
        "sollicitation": {
            "id": sollicitation.pk,
            "phase": sollicitation.phase,
            "ouverte_le": sollicitation.opened_at,
            "echeance": sollicitation.effective_due_at,
        },
    }


def webhook_sollicitation_opened(sollicitation) -> None:
    webhook_emit(
        editeur_id=sollicitation.candidature.editeur_id,
        event=WebhookEvent.SOLLICITATION_OUVERTE,
        now=sollicitation.opened_at,
        data=_sollicitation_data(sollicitation),
    )


def sollicitation_closing_emission(sollicitation, *, now) -> Emission:
    """The last working day to answer (the reminder of the sweep), for
    webhooks_emit_many."""
    return Emission(
        editeur_id=sollicitation.candidature.editeur_id,
        event=WebhookEvent.SOLLICITATION_ECHEANCE,
        now=now,
        data=_sollicitation_data(sollicitation),
    )


def webhook_decision(decision) -> None:
    """A decision of the collège notified to the company (the séance closed)."""
    candidature = decision.inscription.candidature
    webhook_emit(
        editeur_id=candidature.editeur_id,
        event=WebhookEvent.DECISION_NOTIFIEE,
        now=decision.notified_at,
        data={
            "candidature": _candidature_ref(candidature),
            "decision": {
                "nature": decision.kind,
                "texte": decision.text,
                "notifiee_le": decision.notified_at,
                "levee_des_reserves_avant": decision.reserves_due_at,
            },
        },
    )


def webhook_attestation(attestation) -> None:
    """The sealed PDF of an attestation is ready."""
    candidature = attestation.candidature
    webhook_emit(
        editeur_id=candidature.editeur_id,
        event=WebhookEvent.ATTESTATION_DELIVREE,
        data={
            "candidature": _candidature_ref(candidature),
            "attestation": {
                "numero": attestation.numero,
                "sha256": attestation.sha256,
                "url": _api_url(f"/candidatures/{candidature.pk}/attestation"),
            },
        },
    )
