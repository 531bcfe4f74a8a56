from django.db import models


class FichierStatus(models.TextChoices):
    EN_VERIFICATION = "en_verification", "En cours de vérification"
    ACCEPTEE = "acceptee", "Acceptée"
    REFUSEE = "refusee", "Refusée"
    # A virus signature was found: kept for the record, never served.
    INFECTEE = "infectee", "Infectée"


class Verdict(models.TextChoices):
    CONFORME = "conforme", "Conforme"
    NON_CONFORME = "non_conforme", "Non conforme"
    COMPLEMENT = "complement", "Complément demandé"


class Consultation(models.TextChoices):
    """How a file left the portal, for the log of who saw what."""

    TELECHARGEMENT = "telechargement", "Téléchargement"
    APERCU = "apercu", "Aperçu"
    ARCHIVE = "archive", "Archive du dossier"


class LotMatch(models.TextChoices):
    """What the name of a file in a bulk deposit told about the proof it answers."""

    RECONNU = "reconnu", "Reconnu"
    AMBIGU = "ambigu", "Ambigu"
    NON_RECONNU = "non_reconnu", "Non reconnu"
    TYPE_INADAPTE = "type_inadapte", "Type inadapté"
    DEJA_DEPOSE = "deja_depose", "Déjà déposé"
    ILLISIBLE = "illisible", "Illisible"
