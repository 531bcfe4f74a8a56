import uuid

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils import timezone

from preuves.enums import Consultation, FichierStatus, LotMatch, Verdict

# The verified types a browser shows itself: PDF in its viewer, images, MP4 and MOV
# videos. AVI and FLV have no player in browsers; every other type downloads.
PREVIEW_KINDS = {
    "application/pdf": "pdf",
    "image/png": "image",
    "image/jpeg": "image",
    "video/mp4": "video",
    "video/quicktime": "video",
}


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
    virus_signature = models.CharField("signature antivirus", max_length=255, blank=True)
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
            # Reuse detection looks files up by content (preuves.selectors.reuse_counts).
            models.Index(fields=["sha256"], name="fichier_sha256"),
            # The admin's list of a million files, newest first, a page at a time.
            models.Index(fields=["uploaded_at"], name="fichier_uploaded"),
            # The same list filtered by a status other than accepted (a few thousand
            # rows): its page in that order and the paginator's count, which read the
            # whole table without it. Accepted files, nearly all, stay out of it.
            models.Index(
                fields=["status", "uploaded_at"],
                condition=~Q(status=FichierStatus.ACCEPTEE),
                name="fichier_status_rare",
            ),
            # Its search by part of a name: Django's icontains is UPPER(name) LIKE
            # UPPER('%…%'), which a trigram index on UPPER(name) answers (PostgreSQL
            # only: migration 0006 makes it there and nowhere else).
            GinIndex(
                OpClass(Upper("original_name"), name="gin_trgm_ops"), name="fichier_name_trgm"
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
            models.CheckConstraint(
                condition=~Q(status=FichierStatus.INFECTEE) | ~Q(virus_signature=""),
                name="fichier_infected_has_signature",
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
        return self.status in (FichierStatus.REFUSEE, FichierStatus.INFECTEE)

    @property
    def is_infected(self) -> bool:
        return self.status == FichierStatus.INFECTEE

    @property
    def preview_kind(self) -> str:
        """How a browser may show the file in a page ("pdf", "image", "video"), or ""
        to download it: only a type the worker read in an accepted file's content."""
        return PREVIEW_KINDS.get(self.detected_mime, "") if self.is_accepted else ""


class FichierDownload(models.Model):
    """One download or preview of a file: who, how, when, from where (documents here
    count as originals)."""

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
    kind = models.CharField(
        "consultation",
        max_length=20,
        choices=Consultation.choices,
        default=Consultation.TELECHARGEMENT,
    )

    class Meta:
        verbose_name = "téléchargement"
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["fichier", "-at"], name="download_fichier_at")]

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


class DepotLot(models.Model):
    """Files dropped together on a dossier, loose or in ZIP archives, each matched by its
    name to the expected proofs it answers (preuves.bulk), waiting for the editor's
    review. Nothing is deposited until the editor confirms; an unconfirmed batch expires
    and the sweep deletes it with its staged objects (`lots/<batch>/…` on storage)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    candidature = models.ForeignKey(
        "candidatures.Candidature", on_delete=models.PROTECT, related_name="lots"
    )
    # The company that owns the batch: only its members see it or confirm it.
    editeur = models.ForeignKey(
        "candidatures.Editeur", on_delete=models.PROTECT, related_name="lots"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.RESTRICT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField("expire le")
    # Dropped on one section: only its proofs are proposed.
    section = models.CharField("section", max_length=100, blank=True)
    confirmed_at = models.DateTimeField("confirmé le", null=True, blank=True)

    class Meta:
        verbose_name = "dépôt groupé"
        verbose_name_plural = "dépôts groupés"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["expires_at"], name="lot_expiry")]

    def __str__(self) -> str:
        return f"Dépôt groupé du {self.created_at:%d/%m/%Y %H:%M}"


class DepotLotFichier(models.Model):
    """One file of a batch: a file as received, or a member of a ZIP archive (read from
    the stored archive again at confirmation, never extracted). Sizes in bytes."""

    lot = models.ForeignKey(DepotLot, on_delete=models.CASCADE, related_name="fichiers")
    position = models.PositiveIntegerField("ordre")
    name = models.CharField("nom", max_length=255)
    # The path inside the archive, cleaned, as shown to the editor; empty for a loose file.
    path = models.CharField("chemin dans l’archive", max_length=500, blank=True)
    # The staged object: the file itself, or the whole archive for a member.
    storage_name = models.CharField("objet stocké", max_length=255, blank=True)
    member_index = models.PositiveIntegerField("rang dans l’archive", null=True, blank=True)
    member_name = models.TextField("nom dans l’archive", blank=True)
    size = models.PositiveBigIntegerField("taille (octets)")
    sha256 = models.CharField("empreinte SHA-256", max_length=64, blank=True)
    # libmagic on the first bytes, to propose a mapping; the worker decides afterwards.
    sniffed_mime = models.CharField("type lu", max_length=255, blank=True)
    # Why the file cannot be deposited at all (empty, corrupt, too large), or "".
    problem = models.TextField("problème", blank=True)
    # Item keys (preuves.depot.Item.key): those the name matched, those proposed.
    candidates = models.JSONField("preuves reconnues", default=list, blank=True)
    proposed = models.JSONField("preuves proposées", default=list, blank=True)
    match = models.CharField("correspondance", max_length=20, choices=LotMatch.choices)
    # Set at confirmation: the stored file made from it.
    fichier = models.ForeignKey(
        Fichier, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = "fichier d’un dépôt groupé"
        verbose_name_plural = "fichiers des dépôts groupés"
        ordering = ["lot", "position"]

    def __str__(self) -> str:
        return self.path or self.name
