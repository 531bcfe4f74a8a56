from django.db import models


class Nature(models.TextChoices):
    # EXIGENCE: "le système DOIT", checked. PRECONISATION: "le système PEUT", never required.
    EXIGENCE = "exigence", "Exigence"
    PRECONISATION = "preconisation", "Préconisation"


class Perimetre(models.TextChoices):
    """The two perimeters of a wave-2 REM (DSR §4.1.2): the wave-1 requirements still
    checked in some cases, and the wave-2 requirements."""

    VAGUE_1 = "vague_1", "Vague 1"
    VAGUE_2 = "vague_2", "Vague 2"


class ProofKind(models.TextChoices):
    VIDEO_CAPTURE = "video_capture", "Vidéo ou capture d’écran"
    LIEN_RAPPORT = "lien_rapport", "Lien vers le rapport de l’espace de test"
    FICHIER = "fichier", "Fichier (TBB, dump, logs…)"
    COMPTE_RENDU = "compte_rendu", "Compte-rendu (biologie, imagerie…)"
    JUSTIFICATIF = "justificatif", "Justificatif ou homologation"


class RemStatus(models.TextChoices):
    DRAFT = "draft", "Brouillon"
    PUBLISHED = "published", "Publiée"


class Jalon(models.TextChoices):
    """The seven milestones of a campaign (DSR §4.1.4)."""

    J1 = "j1", "J1 — ouverture du guichet"
    J2 = "j2", "J2 — date limite de première soumission de la candidature administrative"
    J3 = "j3", "J3 — fin des échanges sur la candidature administrative"
    J4 = "j4", "J4 — date limite de première soumission du formulaire d’éligibilité"
    J5 = "j5", "J5 — fin des échanges sur l’éligibilité"
    J6 = "j6", "J6 — date limite de soumission du dossier de preuves complet"
    J7 = "j7", "J7 — fin des échanges sur les preuves"


class Phase(models.TextChoices):
    A_VENIR = "a_venir", "Guichet pas encore ouvert"
    IDENTIFICATION = "identification", "Phase 1 — identification et éligibilité"
    PREUVES = "preuves", "Phase 2 — dépôt des preuves"
    INSTRUCTION = "instruction", "Phase 3 — instruction des preuves"
    DECISION = "decision", "Échanges clos — décisions du collège"


class CandidatureState(models.TextChoices):
    BROUILLON = "brouillon", "Brouillon"
    ADMIN_SOUMISE = "admin_soumise", "Candidature administrative soumise"
    ADMIN_VALIDEE = "admin_validee", "Candidature administrative validée"
    ELIGIBILITE_SOUMISE = "eligibilite_soumise", "Éligibilité soumise"
    ELIGIBLE = "eligible", "Éligible — dépôt des preuves ouvert"
    DOSSIER_SOUMIS = "dossier_soumis", "Dossier de preuves soumis"
    EN_INSTRUCTION = "en_instruction", "En instruction"
    PREUVES_VALIDEES = "preuves_validees", "Preuves validées"
    CONVENTION_ENVOYEE = "convention_envoyee", "Convention envoyée"
    CONVENTION_SIGNEE = "convention_signee", "Convention signée"
    EN_COLLEGE = "en_college", "Inscrite en collège"
    RESERVES_NON_BLOQUANTES = "reserves_non_bloquantes", "Réserves non bloquantes à lever"
    LEVEE_SOUMISE = "levee_soumise", "Levée des réserves soumise"
    REFERENCEE = "referencee", "Référencée"
    REFUSEE = "refusee", "Refusée"
    REJETEE = "rejetee", "Rejetée"
    ABANDONNEE = "abandonnee", "Abandonnée"
    RETIREE = "retiree", "Retirée par l’éditeur"
    DEREFERENCEE = "dereferencee", "Déréférencée"


# Named groups of states.
TERMINAL_STATES = frozenset(
    {
        CandidatureState.REFERENCEE,
        CandidatureState.REFUSEE,
        CandidatureState.REJETEE,
        CandidatureState.ABANDONNEE,
        CandidatureState.RETIREE,
        CandidatureState.DEREFERENCEE,
    }
)
# Closed without a référencement: the same version may be filed again in a new
# candidature (a referenced, dereferenced or still open one blocks it).
VERSION_REUSABLE_STATES = frozenset(
    {
        CandidatureState.REFUSEE,
        CandidatureState.REJETEE,
        CandidatureState.ABANDONNEE,
        CandidatureState.RETIREE,
    }
)
PHASE_1_STATES = frozenset(
    {
        CandidatureState.BROUILLON,
        CandidatureState.ADMIN_SOUMISE,
        CandidatureState.ADMIN_VALIDEE,
        CandidatureState.ELIGIBILITE_SOUMISE,
    }
)
# Published in the public list of candidatures in progress (DSR §4.5): from the
# validated administrative candidature until the collège's decision.
IN_PROGRESS_STATES = frozenset(
    {
        CandidatureState.ADMIN_VALIDEE,
        CandidatureState.ELIGIBILITE_SOUMISE,
        CandidatureState.ELIGIBLE,
        CandidatureState.DOSSIER_SOUMIS,
        CandidatureState.EN_INSTRUCTION,
        CandidatureState.PREUVES_VALIDEES,
        CandidatureState.CONVENTION_ENVOYEE,
        CandidatureState.CONVENTION_SIGNEE,
        CandidatureState.EN_COLLEGE,
        CandidatureState.RESERVES_NON_BLOQUANTES,
        CandidatureState.LEVEE_SOUMISE,
    }
)


class SollicitationPhase(models.TextChoices):
    ADMINISTRATIVE = "administrative", "Candidature administrative"
    ELIGIBILITE = "eligibilite", "Éligibilité"
    INSTRUCTION = "instruction", "Instruction des preuves"


class SollicitationStatus(models.TextChoices):
    # The clock runs until the company's first answer.
    OUVERTE = "ouverte", "En attente de réponse de l’éditeur"
    # Answered: the clock is stopped, both sides may still write until it is closed.
    REPONDUE = "repondue", "Répondue, échange en cours"
    EXPIREE = "expiree", "Close sans réponse"
    CLOSE = "close", "Close"


class ServiceSocle(models.TextChoices):
    INS = "ins", "INS"
    DMP = "dmp", "DMP"
    MSSANTE = "mssante", "MSSanté"
    PSC = "psc", "Pro Santé Connect"
    APCV = "apcv", "ApCV"
    E_PRESCRIPTION = "e_prescription", "e-prescription"
    AUTRE = "autre", "Autre"


class CndaStatus(models.TextChoices):
    """Where the CNDA homologations of the version stand (DSR §4.4)."""

    NON_RENSEIGNE = "", "Non renseigné"
    CERTIFIE = "certifie", "Certifié : toutes les homologations CNDA sont obtenues"
    EN_COURS_ACTIF = (
        "en_cours_actif",
        ("En cours actif : le dossier de tests est déposé et en analyse au CNDA"),
    )
    NON_DEPOSE = "non_depose", "Demande non déposée ou incomplète"
