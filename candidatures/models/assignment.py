from django.conf import settings
from django.db import models
from django.utils import timezone


class Assignment(models.Model):
    """A candidature given to an instructor by a member of the agency
    (candidatures.services.assignment.candidature_assign): who, to whom, when, and who
    had it before. Taking a dossier in instruction makes the taker its instructor
    without a row here: the transition log records that."""

    candidature = models.ForeignKey(
        "candidatures.Candidature", on_delete=models.PROTECT, related_name="assignments"
    )
    instructeur = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="attribuée à",
        on_delete=models.RESTRICT,
        related_name="+",
    )
    previous = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="attribuée auparavant à",
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="+",
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="attribuée par",
        on_delete=models.RESTRICT,
        related_name="+",
    )
    at = models.DateTimeField("le", default=timezone.now)

    class Meta:
        verbose_name = "attribution d’une candidature"
        verbose_name_plural = "attributions des candidatures"
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.candidature_id} → {self.instructeur_id}"
