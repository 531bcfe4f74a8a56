"""The agency's reference data: couloirs, DSRs and their profiles, REM versions with
their requirements, scenarios and expected proofs, and the campaigns (guichets)."""

import unicodedata
from datetime import datetime, time
from itertools import pairwise

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone

from candidatures.enums import Jalon, Nature, Perimetre, Phase, ProofKind, RemStatus
from segur_portal.clocks import PARIS


def name_key(name: str) -> str:
    """How two spellings of one name compare: case, accents and spacing ignored."""
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(plain.lower().split())


class CouloirManager(models.Manager):
    def get_by_natural_key(self, code):
        return self.get(code=code)


class Couloir(models.Model):
    code = models.CharField("code", max_length=10, unique=True)
    name = models.CharField("nom", max_length=100)

    objects = CouloirManager()

    class Meta:
        verbose_name = "couloir"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def natural_key(self):
        return (self.code,)


class DsrManager(models.Manager):
    def get_by_natural_key(self, code):
        return self.get(code=code)


class Dsr(models.Model):
    """Dossier de Spécifications de Référencement, e.g. MDV-LGC-Va2."""

    code = models.CharField("code", max_length=40, unique=True)
    title = models.CharField("intitulé", max_length=255)
    wave = models.PositiveSmallIntegerField("vague")
    couloir = models.ForeignKey(Couloir, on_delete=models.PROTECT, related_name="dsrs")

    objects = DsrManager()

    class Meta:
        verbose_name = "DSR"
        verbose_name_plural = "DSR"
        ordering = ["-wave", "couloir__name", "code"]

    def __str__(self) -> str:
        return f"{self.code} — {self.title}"

    def natural_key(self):
        return (self.code,)


class ProfilManager(models.Manager):
    def get_by_natural_key(self, dsr_code, name):
        return self.get(dsr__code=dsr_code, name__iexact=name)


class Profil(models.Model):
    """A profile of a DSR. "Général" is mandatory; the others are chosen by the editor."""

    dsr = models.ForeignKey(Dsr, on_delete=models.PROTECT, related_name="profils")
    name = models.CharField("nom", max_length=200)
    mandatory = models.BooleanField("obligatoire", default=False)
    position = models.PositiveSmallIntegerField("ordre", default=100)

    objects = ProfilManager()

    class Meta:
        verbose_name = "profil"
        ordering = ["dsr", "-mandatory", "position", "name"]
        constraints = [models.UniqueConstraint("dsr", Lower("name"), name="profil_unique_per_dsr")]

    def __str__(self) -> str:
        return self.name

    def natural_key(self):
        return (self.dsr.code, self.name)

    natural_key.dependencies = ["candidatures.dsr"]


def rem_source_path(instance, filename: str) -> str:
    # The stored name never comes from the uploader: see RemVersion.source_name.
    return f"rem/{instance.dsr.code}/{instance.source_sha256}{instance.source_suffix}"


class RemVersion(models.Model):
    """One import of a DSR's REM sheet. Drafts are previewed, then published."""

    dsr = models.ForeignKey(Dsr, on_delete=models.PROTECT, related_name="rem_versions")
    label = models.CharField("version", max_length=100)
    published_on = models.DateField("publiée par l’ANS le", null=True, blank=True)
    status = models.CharField(
        "statut", max_length=20, choices=RemStatus.choices, default=RemStatus.DRAFT
    )
    source_file = models.FileField("fichier source", upload_to=rem_source_path, max_length=300)
    source_name = models.CharField("nom du fichier importé", max_length=255)
    source_sha256 = models.CharField("SHA-256 du fichier", max_length=64)
    source_size = models.PositiveBigIntegerField("taille du fichier")
    default_perimetre = models.CharField(
        "périmètre par défaut", max_length=20, choices=Perimetre.choices
    )
    rem_filter = models.CharField("REM retenu (fichier multi-REM)", max_length=20, blank=True)
    sheets = models.JSONField("feuilles lues", default=list)
    rows_read = models.PositiveIntegerField("lignes lues", default=0)
    skipped_obsolete = models.PositiveIntegerField("lignes obsolètes ignorées", default=0)
    warnings = models.JSONField("avertissements", default=list)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="importée par",
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Vide : importée en ligne de commande.",
    )
    imported_at = models.DateTimeField("importée le", default=timezone.now)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="publiée par",
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="+",
    )
    published_at = models.DateTimeField("publiée sur le portail le", null=True, blank=True)

    class Meta:
        verbose_name = "version de REM"
        verbose_name_plural = "versions de REM"
        ordering = ["dsr", "-imported_at"]
        constraints = [
            models.UniqueConstraint(fields=["dsr", "label"], name="rem_version_label_unique")
        ]

    def __str__(self) -> str:
        return f"REM {self.dsr.code} {self.label}"

    @property
    def source_suffix(self) -> str:
        return ".xlsx" if self.source_name.lower().endswith(".xlsx") else ".csv"

    @property
    def is_published(self) -> bool:
        return self.status == RemStatus.PUBLISHED


class Exigence(models.Model):
    rem_version = models.ForeignKey(RemVersion, on_delete=models.CASCADE, related_name="exigences")
    identifier = models.CharField("N° exigence", max_length=100)
    numero = models.CharField("N°", max_length=20, blank=True)
    perimetre = models.CharField("périmètre", max_length=20, choices=Perimetre.choices)
    conditional = models.BooleanField("exigence conditionnelle", default=False)
    profil = models.ForeignKey(Profil, on_delete=models.PROTECT, related_name="exigences")
    id_section = models.CharField("ID section", max_length=100, blank=True)
    section = models.TextField("section", blank=True)
    bloc = models.TextField("bloc", blank=True)
    fonction = models.TextField("fonction", blank=True)
    nature = models.CharField("nature", max_length=20, choices=Nature.choices)
    nature_inferred = models.BooleanField("nature déduite de l’énoncé", default=False)
    statement = models.TextField("énoncé")
    position = models.PositiveIntegerField("ordre dans la feuille")
    source_sheet = models.CharField("feuille", max_length=100, blank=True)
    source_row = models.PositiveIntegerField("ligne", default=0)

    class Meta:
        verbose_name = "exigence"
        ordering = ["rem_version", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["rem_version", "identifier"], name="exigence_unique_per_version"
            )
        ]
        indexes = [models.Index(fields=["rem_version", "position"], name="exigence_order")]

    def __str__(self) -> str:
        return self.identifier

    @property
    def is_required(self) -> bool:
        return self.nature == Nature.EXIGENCE


class Scenario(models.Model):
    exigence = models.ForeignKey(Exigence, on_delete=models.CASCADE, related_name="scenarios")
    identifier = models.CharField("N° scénario", max_length=100)
    text = models.TextField("scénario de conformité")
    position = models.PositiveIntegerField("ordre")

    class Meta:
        verbose_name = "scénario de conformité"
        verbose_name_plural = "scénarios de conformité"
        ordering = ["exigence", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["exigence", "identifier"], name="scenario_unique_per_exigence"
            )
        ]

    def __str__(self) -> str:
        return self.identifier


class PreuveAttendue(models.Model):
    """A proof the REM asks for, under one scenario."""

    scenario = models.ForeignKey(
        Scenario, on_delete=models.CASCADE, related_name="preuves_attendues"
    )
    identifier = models.CharField("N° preuve", max_length=100)
    text = models.TextField("preuve attendue")
    kind = models.CharField("type de preuve", max_length=20, choices=ProofKind.choices)
    # The wording rule that chose the kind at import ("defaut" when none matched).
    kind_rule = models.CharField("règle de déduction du type", max_length=40)
    kind_corrected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="type corrigé par",
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="+",
    )
    kind_corrected_at = models.DateTimeField("type corrigé le", null=True, blank=True)
    position = models.PositiveIntegerField("ordre")

    class Meta:
        verbose_name = "preuve attendue"
        verbose_name_plural = "preuves attendues"
        ordering = ["scenario", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["scenario", "identifier"], name="preuve_attendue_unique_per_scenario"
            )
        ]

    def __str__(self) -> str:
        return self.identifier


JALONS = [jalon.value for jalon in Jalon]
# J2 closes at 14:00, Paris time (DSR §4.2).
J2_CLOSING_TIME = time(14, 0)
J2_TIME_MESSAGE = (
    "J2 ferme à 14:00, heure de Paris (DSR §4.2) : laissez l’heure vide ou indiquez 14:00."
)


class Campagne(models.Model):
    """A DSR's guichet: the seven jalon datetimes, stored in UTC, shown in Paris time."""

    dsr = models.ForeignKey(Dsr, on_delete=models.PROTECT, related_name="campagnes")
    label = models.CharField("intitulé", max_length=150)
    j1 = models.DateTimeField(Jalon.J1.label)
    j2 = models.DateTimeField(Jalon.J2.label)
    j3 = models.DateTimeField(Jalon.J3.label)
    j4 = models.DateTimeField(Jalon.J4.label)
    j5 = models.DateTimeField(Jalon.J5.label)
    j6 = models.DateTimeField(Jalon.J6.label)
    j7 = models.DateTimeField(Jalon.J7.label)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "campagne"
        ordering = ["dsr", "-j1"]
        constraints = [
            models.CheckConstraint(condition=Q(j1__lt=F("j2")), name="campagne_j1_before_j2"),
            *[
                models.CheckConstraint(
                    condition=Q(**{f"{earlier}__lte": F(later)}),
                    name=f"campagne_{earlier}_not_after_{later}",
                )
                for earlier, later in pairwise(JALONS[1:])
            ],
        ]

    def __str__(self) -> str:
        return f"{self.dsr.code} — {self.label}"

    def jalons(self) -> list[tuple[Jalon, datetime]]:
        return [(jalon, getattr(self, jalon.value)) for jalon in Jalon]

    def clean(self):
        errors = {}
        for (earlier, when), (jalon, moment) in pairwise(self.jalons()):
            if when is None or moment is None:
                continue
            # J2 closes strictly after the opening; the later jalons may share a date.
            if moment < when or (jalon == Jalon.J2 and moment == when):
                errors[jalon.value] = (
                    f"{jalon.name} doit tomber {'après' if jalon == Jalon.J2 else 'au plus tôt à'} "
                    f"{earlier.name} ({timezone.localtime(when):%d/%m/%Y à %H:%M})."
                )
        if self.j2 is not None and self.j2.astimezone(PARIS).time() != J2_CLOSING_TIME:
            errors.setdefault(Jalon.J2.value, J2_TIME_MESSAGE)
        if (
            self.dsr_id is not None
            and not self.dsr.rem_versions.filter(status=RemStatus.PUBLISHED).exists()
        ):
            errors[NON_FIELD_ERRORS] = (
                f"Le REM de {self.dsr.code} n’est pas publié : publiez-le avant d’ouvrir une "
                "campagne, les candidatures s’y rattachent dès leur création."
            )
        if errors:
            raise ValidationError(errors)

    def phase_at(self, now: datetime) -> Phase:
        if now < self.j1:
            return Phase.A_VENIR
        if now < self.j5:
            return Phase.IDENTIFICATION
        if now < self.j6:
            return Phase.PREUVES
        if now < self.j7:
            return Phase.INSTRUCTION
        return Phase.DECISION

    def next_jalon(self, now: datetime) -> tuple[Jalon, datetime] | None:
        return next(((j, moment) for j, moment in self.jalons() if moment > now), None)
