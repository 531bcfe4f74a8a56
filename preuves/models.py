import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from preuves.enums import FichierStatus, Verdict


def storage_name_for(fichier_id: uuid.UUID) -> str:
    """The storage key of a file: its UUID only, so nothing the user typed reaches the
    storage. Two levels of folders keep directories small on a file system."""
    key = fichier_id.hex
    return f"fichiers/{key[:2]}/{key[2:4]}/{key}"


class Fichier(models.Model):
    """A file received from a user, stored privately and checked in the background.

    Every upload of the portal is one of these; the features that need a file point
    here with a PROTECT foreign key. Sizes are in bytes (1 Mo = 2^20 bytes).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    storage_name = models.CharField("clé de stockage", max_length=255, unique=True)
    original_name = models.CharField("nom d’origine", max_length=255)
    size = models.PositiveBigIntegerField("taille (octets)")
    sha256 = models.CharField("empreinte SHA-256", max_length=64)
    detected_mime = models.CharField("type détecté", max_length=255, blank=True)
    # The rule in force when the file was received; an empty list accepts any format.
    allowed_mime_types = models.JSONField("types acceptés", default=list, blank=True)
    max_bytes = models.PositiveBigIntegerField("taille maximale (octets)")
    status = models.CharField(
        "statut",
        max_length=20,
        choices=FichierStatus.choices,
        default=FichierStatus.EN_VERIFICATION,
    )
    refusal_reason = models.TextField("motif du refus", blank=True)
    editeur = models.ForeignKey(
        "candidatures.Editeur",
        verbose_name="entreprise",
        # Empty for the agency's own uploads.
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="fichiers",
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="déposé par",
        on_delete=models.RESTRICT,
        related_name="+",
    )
    uploaded_at = models.DateTimeField("déposé le", default=timezone.now)
    # When the check was last handed to the broker: the sweep queues it again only
    # after a quiet delay, however often it runs.
    queued_at = models.DateTimeField("mis en file le", default=timezone.now)
    checked_at = models.DateTimeField("vérifié le", null=True, blank=True)
    check_attempts = models.PositiveSmallIntegerField("tentatives de vérification", default=0)

    class Meta:
        verbose_name = "fichier"
        verbose_name_plural = "fichiers"
        ordering = ["-uploaded_at"]
        indexes = [
            models.Index(
                fields=["queued_at"],
                condition=Q(status=FichierStatus.EN_VERIFICATION),
                name="fichier_pending",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=FichierStatus.values), name="fichier_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status=FichierStatus.EN_VERIFICATION) | Q(checked_at__isnull=False),
                name="fichier_decided_when_checked",
            ),
            models.CheckConstraint(
                condition=~Q(status=FichierStatus.REFUSEE) | ~Q(refusal_reason=""),
                name="fichier_refusal_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.original_name

    @property
    def is_pending(self) -> bool:
        return self.status == FichierStatus.EN_VERIFICATION

    @property
    def is_accepted(self) -> bool:
        return self.status == FichierStatus.ACCEPTEE

    @property
    def is_refused(self) -> bool:
        return self.status == FichierStatus.REFUSEE


class FichierDownload(models.Model):
    """One download of a file: who, when, from where (documents here count as originals)."""

    # PROTECT: a file someone has downloaded stays on record.
    fichier = models.ForeignKey(Fichier, on_delete=models.PROTECT, related_name="downloads")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="utilisateur",
        on_delete=models.RESTRICT,
        related_name="+",
    )
    at = models.DateTimeField("le", default=timezone.now)
    ip_address = models.GenericIPAddressField("adresse IP", null=True, blank=True)

    class Meta:
        verbose_name = "téléchargement"
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.fichier} — {self.user} — {self.at:%Y-%m-%d %H:%M}"


class Depot(models.Model):
    """A file (or, for a test-space report, a link) the company deposits to answer one
    expected proof of a requirement — or the requirement itself when the REM lists no
    proof for it. Removed deposits are kept, marked, for the record."""

    candidature = models.ForeignKey(
        "candidatures.Candidature", on_delete=models.PROTECT, related_name="depots"
    )
    exigence = models.ForeignKey(
        "candidatures.Exigence", on_delete=models.PROTECT, related_name="depots"
    )
    preuve_attendue = models.ForeignKey(
        "candidatures.PreuveAttendue",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="depots",
    )
    fichier = models.ForeignKey(
        Fichier, on_delete=models.PROTECT, null=True, blank=True, related_name="depots"
    )
    url = models.URLField("lien vers le rapport", max_length=500, blank=True)
    deposited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.RESTRICT, related_name="+"
    )
    deposited_at = models.DateTimeField("déposé le", default=timezone.now)
    removed_at = models.DateTimeField("retiré le", null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = "dépôt de preuve"
        verbose_name_plural = "dépôts de preuves"
        ordering = ["deposited_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(fichier__isnull=False) & Q(url=""))
                | (Q(fichier__isnull=True) & ~Q(url="")),
                name="depot_file_or_link",
            )
        ]
        indexes = [models.Index(fields=["candidature", "removed_at"], name="depot_current")]

    def __str__(self) -> str:
        return f"Dépôt {self.pk}"

    @property
    def is_accepted(self) -> bool:
        return bool(self.url) or (self.fichier is not None and self.fichier.is_accepted)


class DossierSoumission(models.Model):
    """The submission of the complete proof dossier: its reception time orders the
    instruction queue; its manifest lists every file with size and SHA-256."""

    candidature = models.ForeignKey(
        "candidatures.Candidature", on_delete=models.PROTECT, related_name="soumissions"
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.RESTRICT, related_name="+"
    )
    submitted_at = models.DateTimeField("reçu le")
    manifest = models.JSONField("manifeste")
    receipt = models.ForeignKey(
        Fichier, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = "soumission du dossier de preuves"
        verbose_name_plural = "soumissions des dossiers de preuves"
        ordering = ["submitted_at"]

    def __str__(self) -> str:
        return f"Soumission du {self.submitted_at:%d/%m/%Y}"


class ExigenceVerdict(models.Model):
    """An instructor's verdict on one requirement; the latest one counts, all are kept."""

    candidature = models.ForeignKey(
        "candidatures.Candidature", on_delete=models.PROTECT, related_name="verdicts"
    )
    exigence = models.ForeignKey(
        "candidatures.Exigence", on_delete=models.PROTECT, related_name="verdicts"
    )
    verdict = models.CharField("verdict", max_length=20, choices=Verdict.choices)
    comment = models.TextField("commentaire", blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.RESTRICT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "verdict sur une exigence"
        verbose_name_plural = "verdicts sur les exigences"
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["candidature", "exigence", "at"], name="verdict_latest")]

    def __str__(self) -> str:
        return f"{self.exigence} : {self.get_verdict_display()}"


class VisiteConformite(models.Model):
    """The INS conformity visit: scheduled within 4 weeks of the start of instruction;
    its audio-video recording due 2 working days after it (DSR §4.5)."""

    candidature = models.OneToOneField(
        "candidatures.Candidature", on_delete=models.PROTECT, related_name="visite"
    )
    scheduled_for = models.DateTimeField("date de la visite")
    scheduled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.RESTRICT, related_name="+"
    )
    scheduled_at = models.DateTimeField(default=timezone.now)
    recording_due_at = models.DateTimeField("enregistrement attendu avant")
    recording = models.ForeignKey(
        Fichier, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recording_received_at = models.DateTimeField(null=True, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    overdue_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "visite de conformité"
        verbose_name_plural = "visites de conformité"

    def __str__(self) -> str:
        return f"Visite du {self.scheduled_for:%d/%m/%Y}"
