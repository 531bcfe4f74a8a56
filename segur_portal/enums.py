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
