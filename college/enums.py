from django.db import models


class SeanceStatus(models.TextChoices):
    PLANIFIEE = "planifiee", "Planifiée"
    OUVERTE = "ouverte", "Ouverte"
    CLOSE = "close", "Close"
    # Its day passed without it being opened: its agenda went to the next séance.
    NON_TENUE = "non_tenue", "Non tenue"


class DecisionKind(models.TextChoices):
    """The collège's three outcomes (DSR §4.6)."""

    SANS_RESERVE = "sans_reserve", "Référencement attribué sans réserve"
    RESERVES_NON_BLOQUANTES = (
        "reserves_non_bloquantes",
        "Référencement non attribué : réserves non bloquantes",
    )
    RESERVES_BLOQUANTES = "reserves_bloquantes", "Référencement refusé : réserves bloquantes"


class ReserveStatus(models.TextChoices):
    A_LEVER = "a_lever", "À lever"
    REPONSE_SOUMISE = "reponse_soumise", "Réponse soumise"
    LEVEE = "levee", "Levée"


class AttestationStatus(models.TextChoices):
    VALIDE = "valide", "Valide"
    RETIREE = "retiree", "Retirée"
