from django.conf import settings
from django.db import models
from django.utils import timezone


class CandidatureRemMove(models.Model):
    """A candidature moved deliberately to another version of its DSR's REM: who, when,
    from which version to which, why, and what it changed for the candidature."""

    candidature = models.ForeignKey(
        "candidatures.Candidature", on_delete=models.CASCADE, related_name="rem_moves"
    )
    from_version = models.ForeignKey(
        "candidatures.RemVersion",
        verbose_name="version de départ",
        on_delete=models.PROTECT,
        related_name="+",
    )
    to_version = models.ForeignKey(
        "candidatures.RemVersion",
        verbose_name="version d’arrivée",
        on_delete=models.PROTECT,
        related_name="+",
    )
    # RESTRICT: an agent who moved a candidature stays on record.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="auteur",
        on_delete=models.RESTRICT,
        related_name="+",
    )
    at = models.DateTimeField("le", default=timezone.now)
    reason = models.TextField("motif")
    # The impact as it was shown and applied: requirement and proof identifiers, and
    # the deposits it concerned.
    impact = models.JSONField("impact", default=dict)

    class Meta:
        verbose_name = "changement de version du REM"
        verbose_name_plural = "changements de version du REM"
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.candidature_id} : REM {self.from_version_id} → {self.to_version_id}"
