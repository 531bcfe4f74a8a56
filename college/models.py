"""Phase 3: the convention the company signs, the weekly séances of the collège, their
decisions with réserves, and the attestation of referenced software."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django_fsm import FSMField, transition

from college.enums import AttestationStatus, DecisionKind, ReserveStatus, SeanceStatus

USER = settings.AUTH_USER_MODEL


class Convention(models.Model):
    """The convention de référencement issued to a candidature, and its signature.

    `sha256` is the hash of the exact document shown to the signer; the signature
    records it, so what was signed can always be proved. Re-issuing makes a new row.
    """

    candidature = models.ForeignKey(
        "candidatures.Candidature", on_delete=models.PROTECT, related_name="conventions"
    )
    document = models.OneToOneField(
        "preuves.Fichier", on_delete=models.PROTECT, related_name="+", verbose_name="document"
    )
    sha256 = models.CharField("empreinte SHA-256 du document", max_length=64)
    # What the document states (college.documents.convention_data), kept as issued.
    data = models.JSONField("contenu du document", default=dict)
    issued_at = models.DateTimeField("émise le", default=timezone.now)
    issued_by = models.ForeignKey(USER, on_delete=models.RESTRICT, related_name="+")
    signed_at = models.DateTimeField("signée le", null=True, blank=True)
    signed_by = models.ForeignKey(
        USER, on_delete=models.RESTRICT, null=True, blank=True, related_name="+"
    )
    signer_name = models.CharField("nom du signataire", max_length=200, blank=True)
    signer_email = models.EmailField("courriel du signataire", blank=True)
    signer_capacity = models.CharField("qualité du signataire", max_length=200, blank=True)
    consent_text = models.TextField("consentement exprimé", blank=True)
    signed_sha256 = models.CharField("empreinte du document signé", max_length=64, blank=True)
    signed_ip = models.GenericIPAddressField("adresse IP", null=True, blank=True)
    signed_user_agent = models.CharField("navigateur", max_length=400, blank=True)
    signed_document = models.OneToOneField(
        "preuves.Fichier",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="convention signée",
    )

    class Meta:
        verbose_name = "convention de référencement"
        verbose_name_plural = "conventions de référencement"
        ordering = ["-issued_at"]
        constraints = [
            models.CheckConstraint(
                name="convention_signed_with_hash",
                condition=Q(signed_at__isnull=True) | ~Q(signed_sha256=""),
            )
        ]

    def __str__(self):
        return f"Convention {self.candidature.reference}"

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None


class Seance(models.Model):
    """A weekly meeting of the collège. Opened, its decisions recorded, then closed;
    once closed nothing about it changes."""

    date = models.DateField("date", unique=True)
    starts_at = models.DateTimeField("début")
    status = FSMField(
        "statut", max_length=20, choices=SeanceStatus.choices, default=SeanceStatus.PLANIFIEE
    )
    opened_at = models.DateTimeField("ouverte le", null=True, blank=True)
    opened_by = models.ForeignKey(
        USER, on_delete=models.RESTRICT, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField("close le", null=True, blank=True)
    closed_by = models.ForeignKey(
        USER, on_delete=models.RESTRICT, null=True, blank=True, related_name="+"
    )
    minutes = models.OneToOneField(
        "preuves.Fichier",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="procès-verbal",
    )

    class Meta:
        verbose_name = "séance du collège"
        verbose_name_plural = "séances du collège"
        ordering = ["date"]

    def __str__(self):
        return f"Séance du {self.date:%d/%m/%Y}"

    @transition(field=status, source=SeanceStatus.PLANIFIEE, target=SeanceStatus.OUVERTE)
    def open(self):
        pass

    @transition(field=status, source=SeanceStatus.OUVERTE, target=SeanceStatus.CLOSE)
    def close(self):
        pass

    @transition(field=status, source=SeanceStatus.PLANIFIEE, target=SeanceStatus.NON_TENUE)
    def not_held(self):
        pass


class SeanceMembre(models.Model):
    """A collège member at a séance: present or not."""

    seance = models.ForeignKey(Seance, on_delete=models.CASCADE, related_name="membres")
    user = models.ForeignKey(USER, on_delete=models.RESTRICT, related_name="+")
    present = models.BooleanField("présent", default=False)

    class Meta:
        verbose_name = "membre de séance"
        constraints = [
            models.UniqueConstraint(fields=["seance", "user"], name="seance_membre_unique")
        ]

    def __str__(self):
        return f"{self.user} — {self.seance}"


class Inscription(models.Model):
    """A candidature on a séance's agenda (its convention signed)."""

    seance = models.ForeignKey(Seance, on_delete=models.PROTECT, related_name="inscriptions")
    candidature = models.ForeignKey(
        "candidatures.Candidature", on_delete=models.PROTECT, related_name="inscriptions"
    )
    inscribed_at = models.DateTimeField("inscrite le", default=timezone.now)
    # When the convention was signed: orders the agenda, oldest first.
    signed_at = models.DateTimeField("convention signée le")
    carried_over = models.BooleanField("reportée d’une séance précédente", default=False)
    # Why the previous séance did not decide it (on the inscription that carries it) …
    carried_over_reason = models.TextField("motif du report", blank=True)
    # … and, on the séance that did not decide it, why it left without a decision.
    deferred_reason = models.TextField("motif de la non-décision", blank=True)

    class Meta:
        verbose_name = "inscription à l’ordre du jour"
        ordering = ["signed_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["seance", "candidature"], name="inscription_unique_per_seance"
            )
        ]

    def __str__(self):
        return f"{self.candidature.reference} — {self.seance}"


class ConflitInteret(models.Model):
    """A member declares a conflict of interest on a candidature of the agenda: they
    may not record its decision."""

    inscription = models.ForeignKey(Inscription, on_delete=models.CASCADE, related_name="conflits")
    user = models.ForeignKey(USER, on_delete=models.RESTRICT, related_name="+")
    declared_at = models.DateTimeField("déclaré le", default=timezone.now)
    note = models.CharField("précision", max_length=300, blank=True)

    class Meta:
        verbose_name = "conflit d’intérêts"
        verbose_name_plural = "conflits d’intérêts"
        constraints = [
            models.UniqueConstraint(fields=["inscription", "user"], name="conflit_unique")
        ]

    def __str__(self):
        return f"Conflit de {self.user} — {self.inscription}"


class Decision(models.Model):
    """The collège's decision on one agenda item. Editable while the séance is open;
    notified to the company, and its clocks started, when the séance closes."""

    inscription = models.OneToOneField(
        Inscription, on_delete=models.PROTECT, related_name="decision"
    )
    kind = models.CharField("décision", max_length=30, choices=DecisionKind.choices)
    text = models.TextField("texte de la décision")
    recorded_by = models.ForeignKey(USER, on_delete=models.RESTRICT, related_name="+")
    recorded_at = models.DateTimeField("enregistrée le", default=timezone.now)
    notified_at = models.DateTimeField("notifiée le", null=True, blank=True)
    # Réserves non bloquantes: 4 weeks from the notification.
    reserves_due_at = models.DateTimeField(
        "levée des réserves attendue avant", null=True, blank=True
    )
    reminder_half_sent_at = models.DateTimeField(null=True, blank=True)
    reminder_week_sent_at = models.DateTimeField(null=True, blank=True)
    # Every réserve answered in time, the deadline passed: the instructor told, once.
    levee_overdue_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "décision du collège"
        verbose_name_plural = "décisions du collège"

    def __str__(self):
        return f"{self.get_kind_display()} — {self.inscription.candidature.reference}"

    @property
    def candidature(self):
        return self.inscription.candidature


class Reserve(models.Model):
    """One réserve of a decision: its text and the requirements it concerns."""

    decision = models.ForeignKey(Decision, on_delete=models.CASCADE, related_name="reserves")
    position = models.PositiveSmallIntegerField("rang")
    text = models.TextField("réserve")
    exigences = models.ManyToManyField(
        "candidatures.Exigence", blank=True, related_name="+", verbose_name="exigences"
    )
    status = models.CharField(
        "statut", max_length=20, choices=ReserveStatus.choices, default=ReserveStatus.A_LEVER
    )
    lifted_at = models.DateTimeField("levée le", null=True, blank=True)
    lifted_by = models.ForeignKey(
        USER, on_delete=models.RESTRICT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = "réserve"
        ordering = ["decision", "position"]
        constraints = [
            models.UniqueConstraint(fields=["decision", "position"], name="reserve_position")
        ]

    def __str__(self):
        return f"Réserve {self.position}"


class ReserveReponse(models.Model):
    """The company's answer to a réserve: a comment and files (checked as proofs); the
    instructor's review, when it sends the answer back, is kept with it."""

    reserve = models.ForeignKey(Reserve, on_delete=models.CASCADE, related_name="reponses")
    comment = models.TextField("commentaire")
    fichiers = models.ManyToManyField("preuves.Fichier", blank=True, related_name="+")
    answered_by = models.ForeignKey(USER, on_delete=models.RESTRICT, related_name="+")
    answered_at = models.DateTimeField("répondu le", default=timezone.now)
    returned_at = models.DateTimeField("renvoyée le", null=True, blank=True)
    returned_by = models.ForeignKey(
        USER, on_delete=models.RESTRICT, null=True, blank=True, related_name="+"
    )
    return_comment = models.TextField("motif du renvoi", blank=True)

    class Meta:
        verbose_name = "réponse à une réserve"
        ordering = ["answered_at", "pk"]

    def __str__(self):
        return f"Réponse à la {self.reserve}"


class NumeroSequence(models.Model):
    """The last number given under one prefix (SEGUR-<DSR>-<year>): locked to allocate
    the next, so two référencements never get the same number."""

    prefix = models.CharField(max_length=80, unique=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.prefix} ({self.last})"


class Attestation(models.Model):
    """The attestation of a referenced software and its public number."""

    candidature = models.OneToOneField(
        "candidatures.Candidature", on_delete=models.PROTECT, related_name="attestation"
    )
    numero = models.CharField("numéro de référencement", max_length=100, unique=True)
    referenced_on = models.DateField("référencé le")
    issued_at = models.DateTimeField("attribuée le", default=timezone.now)
    fichier = models.OneToOneField(
        "preuves.Fichier", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    sha256 = models.CharField("empreinte SHA-256 du PDF", max_length=64, blank=True)
    status = models.CharField(
        "statut", max_length=20, choices=AttestationStatus.choices, default=AttestationStatus.VALIDE
    )
    withdrawn_at = models.DateTimeField("retirée le", null=True, blank=True)
    withdrawn_reason = models.TextField("motif du retrait", blank=True)
    withdrawn_by = models.ForeignKey(
        USER, on_delete=models.RESTRICT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = "attestation de référencement"
        ordering = ["-issued_at"]
        constraints = [
            models.CheckConstraint(
                name="attestation_withdrawn_with_reason",
                condition=Q(status="valide")
                | (Q(withdrawn_at__isnull=False) & ~Q(withdrawn_reason="")),
            )
        ]

    def __str__(self):
        return self.numero
