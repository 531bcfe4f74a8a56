from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from candidatures.validators import validate_siret

validate_phone = RegexValidator(
    r"^(?:\+\d{7,15}|0\d{9})$",
    "Numéro de téléphone attendu : 10 chiffres (01 23 45 67 89) ou format international "
    "(+33 1 23 45 67 89).",
)


class Editeur(models.Model):
    """A software company. Its users are `segur_portal.User` rows pointing here."""

    raison_sociale = models.CharField("raison sociale", max_length=255)
    siret = models.CharField("SIRET", max_length=14, unique=True, validators=[validate_siret])
    representant_nom = models.CharField(
        "nom et prénom du représentant légal", max_length=200, default=""
    )
    representant_titre = models.CharField("titre du représentant légal", max_length=200, default="")
    representant_email = models.EmailField("courriel du représentant légal", default="")
    representant_telephone = models.CharField(
        "téléphone du représentant légal", max_length=20, default="", validators=[validate_phone]
    )
    contact_nom = models.CharField(
        "nom et prénom du contact pour le référencement", max_length=200, default=""
    )
    contact_email = models.EmailField("courriel du contact", default="")
    contact_telephone = models.CharField(
        "téléphone du contact", max_length=20, default="", validators=[validate_phone]
    )
    created_at = models.DateTimeField("créé le", default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="déclaré par",
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = "éditeur"
        verbose_name_plural = "éditeurs"
        ordering = ["raison_sociale"]

    def __str__(self) -> str:
        return f"{self.raison_sociale} ({self.siret})"

    @property
    def contact_emails(self) -> list[str]:
        """The company's declared contacts, who receive reminders besides its users."""
        return [email for email in (self.contact_email, self.representant_email) if email]


# The fields a company fills, in the order of the form; EditeurChange records them.
EDITEUR_FIELDS = [
    "raison_sociale",
    "representant_nom",
    "representant_titre",
    "representant_email",
    "representant_telephone",
    "contact_nom",
    "contact_email",
    "contact_telephone",
]


class EditeurChange(models.Model):
    """One change of a company's data: who, when, which field, before and after."""

    editeur = models.ForeignKey(Editeur, on_delete=models.CASCADE, related_name="changes")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.RESTRICT, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)
    field = models.CharField(max_length=50)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)

    class Meta:
        verbose_name = "modification d’un éditeur"
        verbose_name_plural = "modifications des éditeurs"
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.editeur} : {self.field}"

    @property
    def field_label(self) -> str:
        return Editeur._meta.get_field(self.field).verbose_name


class Cgu(models.Model):
    """A version of the conditions générales d'utilisation. Editors accept the current
    (latest published) one before any deposit."""

    version = models.CharField("version", max_length=20, unique=True)
    text = models.TextField("texte")
    published_at = models.DateTimeField("publiée le", default=timezone.now)

    class Meta:
        verbose_name = "CGU"
        verbose_name_plural = "CGU"
        ordering = ["-published_at"]

    def __str__(self) -> str:
        return f"CGU version {self.version}"


class CguAcceptance(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.RESTRICT, related_name="cgu_acceptances"
    )
    cgu = models.ForeignKey(Cgu, on_delete=models.PROTECT, related_name="acceptances")
    accepted_at = models.DateTimeField(default=timezone.now)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        verbose_name = "acceptation des CGU"
        verbose_name_plural = "acceptations des CGU"
        constraints = [models.UniqueConstraint(fields=["user", "cgu"], name="cgu_accepted_once")]

    def __str__(self) -> str:
        return f"{self.user} — {self.cgu}"
