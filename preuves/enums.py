from django.db import models


class FichierStatus(models.TextChoices):
    EN_VERIFICATION = "en_verification", "En cours de vérification"
    ACCEPTEE = "acceptee", "Acceptée"
    REFUSEE = "refusee", "Refusée"


class Verdict(models.TextChoices):
    CONFORME = "conforme", "Conforme"
    NON_CONFORME = "non_conforme", "Non conforme"
    COMPLEMENT = "complement", "Complément demandé"
