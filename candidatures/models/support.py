from django.conf import settings
from django.db import models
from django.utils import timezone

from candidatures.models.messages import Message, MessageFichier


class SupportDemande(models.Model):
    """A company's question to the ANS support about the procedure or the portal (DSR
    §4.7), and the conversation that answers it. Outside any sollicitation: it never
    starts or stops a clock."""

    editeur = models.ForeignKey(
        "candidatures.Editeur", on_delete=models.PROTECT, related_name="support_demandes"
    )
    subject = models.CharField("objet", max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="posée par",
        on_delete=models.RESTRICT,
        related_name="+",
    )
    created_at = models.DateTimeField("posée le", default=timezone.now)
    last_message_at = models.DateTimeField("dernier message le", default=timezone.now)
    # The company's oldest message the agency has not answered yet; null once it has.
    # The agency's inbox puts these first, the longest waiting at the top.
    waiting_since = models.DateTimeField("en attente de l’ANS depuis", null=True, blank=True)

    class Meta:
        verbose_name = "demande au support"
        verbose_name_plural = "demandes au support"
        ordering = ["-last_message_at", "-id"]
        # PostgreSQL puts nulls last in an ascending index, which is the inbox's order
        # (the selector's NULLS LAST); SQLite refuses NULLS LAST in an index.
        indexes = [
            models.Index(
                models.F("waiting_since").asc(),
                models.F("last_message_at").desc(),
                name="support_inbox_order",
            )
        ]

    def __str__(self) -> str:
        return self.subject

    @property
    def awaits_agency(self) -> bool:
        return self.waiting_since is not None


class SupportMessage(Message):
    demande = models.ForeignKey(SupportDemande, on_delete=models.CASCADE, related_name="messages")
    fichiers = models.ManyToManyField(
        "preuves.Fichier",
        verbose_name="pièces jointes",
        blank=True,
        through="candidatures.SupportMessageFichier",
        related_name="+",
    )

    class Meta(Message.Meta):
        verbose_name = "message au support"
        verbose_name_plural = "messages au support"


class SupportMessageFichier(MessageFichier):
    message = models.ForeignKey(SupportMessage, on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = "pièce jointe d’un message au support"
        verbose_name_plural = "pièces jointes des messages au support"
        constraints = [
            models.UniqueConstraint(
                fields=["message", "fichier"], name="support_message_fichier_unique"
            )
        ]
