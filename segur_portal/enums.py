from django.db import models


class Role(models.TextChoices):
    EDITEUR = "editeur", "Éditeur"
    INSTRUCTEUR = "instructeur", "Instructeur ANS"
    COLLEGE = "college", "Membre du collège"
    ADMIN = "admin", "Administrateur"


AGENCY_ROLES = frozenset({Role.INSTRUCTEUR, Role.COLLEGE, Role.ADMIN})


class CompanyRole(models.TextChoices):
    MANDATAIRE = "mandataire", "Mandataire"
    REPRESENTANT = "representant", "Représentant"
    SALARIE = "salarie", "Salarié"


class AccessRequestStatus(models.TextChoices):
    EN_ATTENTE = "en_attente", "En attente du mandataire"
    ACCEPTEE = "acceptee", "Acceptée"
    REFUSEE = "refusee", "Refusée"
    # Replaced by a newer request of the same person, or the person joined a company.
    CLOSE = "close", "Sans suite"


class JournalKind(models.TextChoices):
    """What an entry of the journal records (segur_portal.journal)."""

    CANDIDATURE_CREEE = "candidature.creee", "Candidature créée"
    TRANSITION = "candidature.transition", "Changement d’état"
    REM_MOVE = "candidature.rem", "Changement de version du REM"
    SOLLICITATION_MESSAGE = "sollicitation.message", "Message d’une sollicitation"
    SOLLICITATION_CLOSE = "sollicitation.close", "Échange clos"
    SOLLICITATION_EXPIREE = "sollicitation.expiree", "Sollicitation sans réponse"
    SOLLICITATION_RAPPEL = "sollicitation.rappel", "Rappel envoyé"
    SUPPORT_MESSAGE = "support.message", "Message au support"
    FICHIER_RECU = "fichier.recu", "Fichier reçu"
    FICHIER_VERIFIE = "fichier.verifie", "Fichier vérifié"
    FICHIER_TELECHARGE = "fichier.telecharge", "Fichier téléchargé"
    FICHIER_SUPPRIME = "fichier.supprime", "Fichier supprimé"
    PREUVE_DEPOSEE = "preuve.deposee", "Preuve déposée"
    PREUVE_RETIREE = "preuve.retiree", "Preuve retirée"
    VERDICT = "instruction.verdict", "Verdict d’instruction"
    SIGNATURE = "convention.signature", "Convention signée"
    DECISION = "college.decision", "Décision du collège"
    ATTESTATION = "attestation", "Attestation"
    REGISTRE = "registre", "Changement du registre public"
    COMPTE = "compte", "Compte et rôle"
    API_APPEL = "api.appel", "Appel de l’API"


class ApiTokenScope(models.TextChoices):
    LECTURE = "lecture", "Lecture seule"
    ECRITURE = "ecriture", "Lecture et écriture"


class WebhookEvent(models.TextChoices):
    """What a company may be told of on its webhook endpoints (segur_portal.webhooks)."""

    FICHIER_VERIFIE = "fichier.verifie", "Fichier vérifié (accepté ou refusé)"
    SOLLICITATION_OUVERTE = "sollicitation.ouverte", "Sollicitation de l’ANS ouverte"
    SOLLICITATION_ECHEANCE = (
        "sollicitation.echeance_proche",
        "Sollicitation bientôt échue (dernier jour ouvré)",
    )
    CANDIDATURE_ETAT = "candidature.etat", "Changement d’état d’une candidature"
    DECISION_NOTIFIEE = "decision.notifiee", "Décision du collège notifiée"
    ATTESTATION_DELIVREE = "attestation.delivree", "Attestation de référencement délivrée"


class WebhookDeliveryStatus(models.TextChoices):
    EN_ATTENTE = "en_attente", "En cours de livraison"
    LIVREE = "livree", "Livrée"
    ECHEC = "echec", "Abandonnée après 24 heures d’échecs"
