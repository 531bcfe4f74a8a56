"""What the editors' API and webhooks keep: personal API tokens, the company's webhook
endpoints, each delivery of an event and each attempt to deliver it.

Imported by segur_portal.models, so that Django finds them in the segur_portal app.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from segur_portal.enums import ApiTokenScope, WebhookDeliveryStatus, WebhookEvent

USER = settings.AUTH_USER_MODEL


class ApiToken(models.Model):
    """A personal API token of a company user (docs/API.md). Only the SHA-256 of the
    token is stored: it is shown once, when it is made. It acts as its creator, with the
    same rights, as long as the creator still belongs to the company."""

    name = models.CharField("nom", max_length=100)
    # The token's first characters, shown to tell tokens apart (never enough to use one).
    prefix = models.CharField("début du jeton", max_length=16)
    token_hash = models.CharField(max_length=64, unique=True)
    scope = models.CharField("portée", max_length=20, choices=ApiTokenScope.choices)
    editeur = models.ForeignKey(
        "candidatures.Editeur",
        verbose_name="entreprise",
        on_delete=models.PROTECT,
        related_name="api_tokens",
    )
    created_by = models.ForeignKey(
        USER, verbose_name="créé par", on_delete=models.RESTRICT, related_name="api_tokens"
    )
    created_at = models.DateTimeField("créé le", default=timezone.now)
    expires_at = models.DateTimeField("expire le")
    last_used_at = models.DateTimeField("dernier usage", null=True, blank=True)
    revoked_at = models.DateTimeField("révoqué le", null=True, blank=True)
    # Kept for traceability: who closed whose token (the owner, or the mandataire).
    revoked_by = models.ForeignKey(
        USER,
        verbose_name="révoqué par",
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = "jeton d’accès à l’API"
        verbose_name_plural = "jetons d’accès à l’API"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")), name="api_token_expires_later"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and now < self.expires_at

    @property
    def html_id(self) -> str:
        return f"jeton-{self.pk}"

    @property
    def writes(self) -> bool:
        return self.scope == ApiTokenScope.ECRITURE


class WebhookEndpoint(models.Model):
    """An HTTPS address of a company that receives the events it chose, each delivery
    signed with the endpoint's secret (segur_portal.webhooks)."""

    editeur = models.ForeignKey(
        "candidatures.Editeur",
        verbose_name="entreprise",
        on_delete=models.PROTECT,
        related_name="webhook_endpoints",
    )
    url = models.URLField("adresse de réception", max_length=500)
    description = models.CharField("description", max_length=100, blank=True)
    events = models.JSONField("événements", default=list)
    # The signing secret: the portal needs it to sign, so it is kept as is; the page shows
    # it once, when it is made or rotated.
    secret = models.CharField(max_length=64)
    # After a rotation the previous secret still signs, beside the new one, for a day:
    # the receiver switches without losing a delivery.
    previous_secret = models.CharField(max_length=64, blank=True)
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        USER, verbose_name="créé par", on_delete=models.RESTRICT, related_name="+"
    )
    created_at = models.DateTimeField("créé le", default=timezone.now)
    secret_rotated_at = models.DateTimeField("secret renouvelé le", null=True, blank=True)
    disabled_at = models.DateTimeField("désactivé le", null=True, blank=True)
    disabled_by = models.ForeignKey(
        USER,
        verbose_name="désactivé par",
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = "point de réception des webhooks"
        verbose_name_plural = "points de réception des webhooks"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.url

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None

    @property
    def html_id(self) -> str:
        return f"webhook-{self.pk}"

    def event_labels(self) -> list[str]:
        return [WebhookEvent(event).label for event in self.events if event in WebhookEvent.values]


class WebhookDelivery(models.Model):
    """One event to deliver to one endpoint: the exact body signed, and where its
    delivery stands. Sent by a Celery task; the sweep queues again what is due (an
    attempt that failed waits its back-off; one the broker lost is taken up again)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.PROTECT, related_name="deliveries"
    )
    event = models.CharField("événement", max_length=40, choices=WebhookEvent.choices)
    # The event's own id, in the body: a delivery sent again keeps it, so that a receiver
    # recognises a repeat.
    event_id = models.UUIDField("identifiant de l’événement")
    body = models.TextField("contenu envoyé")
    created_at = models.DateTimeField("créée le", default=timezone.now)
    # Past this instant (24 hours after the event) a failing delivery is abandoned.
    expires_at = models.DateTimeField("abandonnée après")
    status = models.CharField(
        "statut",
        max_length=20,
        choices=WebhookDeliveryStatus.choices,
        default=WebhookDeliveryStatus.EN_ATTENTE,
    )
    attempts = models.PositiveSmallIntegerField("tentatives", default=0)
    next_attempt_at = models.DateTimeField("prochaine tentative")
    # When a task was last queued for it: the sweep queues a due delivery once.
    queued_at = models.DateTimeField("mise en file le")
    delivered_at = models.DateTimeField("livrée le", null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField("dernier code HTTP", null=True, blank=True)
    last_duration_ms = models.PositiveIntegerField("dernier temps de réponse (ms)", null=True)
    last_error = models.TextField("dernière erreur", blank=True)
    redelivery_of = models.ForeignKey(
        "self",
        verbose_name="renvoi de",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    requested_by = models.ForeignKey(
        USER,
        verbose_name="renvoyée par",
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = "livraison d’un webhook"
        verbose_name_plural = "livraisons des webhooks"
        ordering = ["-created_at"]
        indexes = [
            # The sweep reads only the deliveries still to make, through this index.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status=WebhookDeliveryStatus.EN_ATTENTE),
                name="webhook_delivery_due",
            ),
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_endpoint"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint}"


class WebhookAttempt(models.Model):
    """One attempt to deliver: when, what the receiver answered and how fast."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    at = models.DateTimeField("le")
    status_code = models.PositiveSmallIntegerField("code HTTP", null=True, blank=True)
    duration_ms = models.PositiveIntegerField("temps de réponse (ms)")
    error = models.TextField("erreur", blank=True)

    class Meta:
        verbose_name = "tentative de livraison"
        verbose_name_plural = "tentatives de livraison"
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.at:%Y-%m-%d %H:%M:%S}"
