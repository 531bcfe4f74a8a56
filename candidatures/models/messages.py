"""What a sollicitation and a support request are made of: messages between a company
and the agency, each with attachments checked like proofs."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Message(models.Model):
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="auteur", on_delete=models.RESTRICT, related_name="+"
    )
    # Kept with the message: an agent who later changes role still wrote for the agency.
    from_agency = models.BooleanField("message de l’ANS")
    sent_at = models.DateTimeField("envoyé le", default=timezone.now)
    text = models.TextField("message")

    class Meta:
        abstract = True
        ordering = ["sent_at", "id"]

    def __str__(self) -> str:
        return f"Message {self.pk}"


class MessageFichier(models.Model):
    """One attachment of a message. A file exchanged has the value of an original
    (DSR §4.11): it cannot be deleted while a message refers to it."""

    fichier = models.ForeignKey("preuves.Fichier", on_delete=models.PROTECT, related_name="+")

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.message_id} → {self.fichier_id}"
