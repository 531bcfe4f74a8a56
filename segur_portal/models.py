from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from segur_portal.enums import AGENCY_ROLES, AccessRequestStatus, CompanyRole, JournalKind, Role


def normalize_email(email: str) -> str:
    # Addresses are compared case-insensitively everywhere, so store them lower-cased.
    return email.strip().lower()


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)

    def create_user(self, email, password=None, **fields):
        fields.setdefault("role", Role.EDITEUR)
        # Accounts made by an administrator or a command are vouched for.
        fields.setdefault("email_verified_at", timezone.now())
        user = self.model(email=normalize_email(email), **fields)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **fields):
        fields["role"] = Role.ADMIN
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser):
    """A person with an account. Rights come from `role`, never from Django permissions."""

    email = models.EmailField("adresse électronique", unique=True)
    first_name = models.CharField("prénom", max_length=150)
    last_name = models.CharField("nom", max_length=150)
    role = models.CharField("rôle", max_length=20, choices=Role.choices)
    editeur = models.ForeignKey(
        "candidatures.Editeur",
        verbose_name="entreprise",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
    )
    company_role = models.CharField(
        "rôle dans l’entreprise", max_length=20, choices=CompanyRole.choices, blank=True
    )
    is_active = models.BooleanField("actif", default=True)
    # Null until the owner of the address follows the link sent to it.
    email_verified_at = models.DateTimeField("adresse confirmée le", null=True, blank=True)
    date_joined = models.DateTimeField("inscrit le", default=timezone.now)
    removed_at = models.DateTimeField("retiré le", null=True, blank=True)
    removed_by = models.ForeignKey(
        "self",
        verbose_name="retiré par",
        # Kept for traceability: who closed whose access.
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["first_name", "last_name"]

    class Meta:
        verbose_name = "utilisateur"
        verbose_name_plural = "utilisateurs"
        ordering = ["last_name", "first_name"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
            models.CheckConstraint(
                condition=Q(role=Role.EDITEUR) | Q(editeur__isnull=True),
                name="user_only_editeur_has_company",
            ),
            models.CheckConstraint(
                condition=(Q(editeur__isnull=True) & Q(company_role=""))
                | (Q(editeur__isnull=False) & ~Q(company_role="")),
                name="user_company_role_with_company",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_full_name()} <{self.email}>"

    def clean(self):
        self.email = normalize_email(self.email)

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email

    def get_short_name(self) -> str:
        return self.first_name or self.email

    @property
    def is_staff(self) -> bool:
        # Django's admin asks for is_staff: only administrators get in.
        return self.role == Role.ADMIN

    @property
    def is_agency(self) -> bool:
        return self.role in AGENCY_ROLES

    @property
    def is_mandataire(self) -> bool:
        return (
            self.role == Role.EDITEUR
            and self.editeur_id is not None
            and self.company_role == CompanyRole.MANDATAIRE
        )

    def has_perm(self, perm, obj=None) -> bool:
        return self.is_active and self.role == Role.ADMIN

    def has_perms(self, perm_list, obj=None) -> bool:
        return all(self.has_perm(perm, obj) for perm in perm_list)

    def has_module_perms(self, app_label) -> bool:
        return self.is_active and self.role == Role.ADMIN


class Session(AbstractBaseSession):
    """Django's database session, with the account signed in to it: every signed-in
    request reads both in one statement (segur_portal/signed_in.py). Deleting an
    account ends its sessions."""

    account = models.ForeignKey(
        User, verbose_name="compte", on_delete=models.CASCADE, null=True, related_name="+"
    )

    class Meta(AbstractBaseSession.Meta):
        db_table = "segur_portal_session"

    @classmethod
    def get_session_store_class(cls):
        from segur_portal.signed_in import SessionStore

        return SessionStore


class Invitation(models.Model):
    """A mandataire's invitation for a colleague to join the company's account."""

    editeur = models.ForeignKey(
        "candidatures.Editeur", on_delete=models.PROTECT, related_name="invitations"
    )
    email = models.EmailField("adresse électronique")
    company_role = models.CharField(
        "rôle dans l’entreprise", max_length=20, choices=CompanyRole.choices
    )
    # Only the SHA-256 of the token is stored: a database leak does not open accounts.
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, on_delete=models.RESTRICT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_user = models.ForeignKey(
        User, on_delete=models.RESTRICT, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "invitation"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                condition=Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_pending_per_email",
            )
        ]

    def __str__(self) -> str:
        return f"Invitation de {self.email} ({self.editeur})"

    def is_pending(self, now=None) -> bool:
        now = now or timezone.now()
        return self.accepted_at is None and self.revoked_at is None and now < self.expires_at


class AccessRequest(models.Model):
    """Someone with an account asks to join a company already on the portal, by its SIRET.

    The request is recorded whether a company holds the SIRET or not (`editeur` null), so
    nothing the requester sees tells the two apart; the company's mandataire accepts or
    refuses it in « Mon entreprise ».
    """

    requester = models.ForeignKey(
        User, on_delete=models.RESTRICT, related_name="access_requests", verbose_name="demandeur"
    )
    siret = models.CharField("SIRET demandé", max_length=14)
    editeur = models.ForeignKey(
        "candidatures.Editeur",
        verbose_name="entreprise",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="access_requests",
    )
    message = models.TextField("message au mandataire", blank=True)
    created_at = models.DateTimeField("demandée le", default=timezone.now)
    status = models.CharField(
        "statut",
        max_length=20,
        choices=AccessRequestStatus.choices,
        default=AccessRequestStatus.EN_ATTENTE,
    )
    company_role = models.CharField(
        "rôle donné", max_length=20, choices=CompanyRole.choices, blank=True
    )
    decided_at = models.DateTimeField("décidée le", null=True, blank=True)
    # Kept for traceability: who let whom into the company.
    decided_by = models.ForeignKey(
        User, on_delete=models.RESTRICT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = "demande d’accès à une entreprise"
        verbose_name_plural = "demandes d’accès à une entreprise"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                "requester",
                condition=Q(status="en_attente"),
                name="access_request_one_pending_per_requester",
            )
        ]

    def __str__(self) -> str:
        return f"Demande d’accès de {self.requester} (SIRET {self.siret})"


class Notification(models.Model):
    recipient = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    title = models.CharField("objet", max_length=200)
    body = models.TextField("message")
    url = models.CharField("lien", max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "notification"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notification_unread")]

    def __str__(self) -> str:
        return self.title


class OutboundEmail(models.Model):
    """An e-mail to send, kept until a worker has handed it to the mail server.

    The row is written in the same transaction as the event it reports, so a broker
    outage delays the e-mail (the sweep queues it again) but never loses it.
    """

    to = models.EmailField("destinataire")
    subject = models.CharField("objet", max_length=250)
    body = models.TextField("texte")
    # Bodies carrying a secret (an invitation link) are wiped once sent.
    sensitive = models.BooleanField(default=False)
    notification = models.ForeignKey(
        Notification, on_delete=models.SET_NULL, null=True, blank=True, related_name="emails"
    )
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # Set when the failure is permanent (a bad header, an address the server refuses):
    # the e-mail is never tried again, and the admin sees it among the failed ones.
    failed_at = models.DateTimeField("échec définitif", null=True, blank=True)

    class Meta:
        verbose_name = "courriel"
        ordering = ["-created_at", "-id"]
        indexes = [
            # What the sweep may queue again: a definitive failure leaves it for good.
            models.Index(
                fields=["created_at"],
                condition=Q(sent_at__isnull=True, failed_at__isnull=True),
                name="email_outbox",
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject} → {self.to}"


class PeriodicRun(models.Model):
    """Last run of each periodic job, so operators (and /healthz) see the clocks tick."""

    name = models.CharField("tâche", max_length=100, unique=True)
    last_started_at = models.DateTimeField(null=True)
    last_finished_at = models.DateTimeField(null=True)
    last_error = models.TextField(blank=True)
    # The administrators were told the job was late; one alert for each outage (a
    # finished run after this instant ends the outage).
    late_alerted_at = models.DateTimeField("retard signalé le", null=True, blank=True)

    class Meta:
        verbose_name = "tâche périodique"
        verbose_name_plural = "tâches périodiques"

    def __str__(self) -> str:
        return self.name


class JournalHead(models.Model):
    """The journal's last link, one row locked by each append: appends are serialised
    and the chain never forks. Not part of what is checked: `verifier_journal` reads
    the entries only."""

    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)
    recorded_at = models.DateTimeField(null=True)
    # Closing a day raises this floor to the next day's start: an entry is never
    # recorded in a day already closed, whatever a process's clock says.
    floor_at = models.DateTimeField(null=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="journalhead_single")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.hash[:12]}"


class JournalEntry(models.Model):
    """One event, chained to the previous one by its hash (docs/JOURNAL.md).

    Written only by segur_portal.journal.journal_append; the database refuses UPDATE and
    DELETE on this table (triggers of migration 0006)."""

    seq = models.BigIntegerField("numéro", primary_key=True)
    recorded_at = models.DateTimeField("inscrit le")
    at = models.DateTimeField("survenu le")
    kind = models.CharField("nature", max_length=40, choices=JournalKind.choices)
    # Null: the portal itself (a clock of the sweep, a worker).
    actor = models.ForeignKey(
        "segur_portal.User",
        verbose_name="auteur",
        on_delete=models.RESTRICT,
        null=True,
        related_name="+",
    )
    candidature = models.ForeignKey(
        "candidatures.Candidature",
        on_delete=models.RESTRICT,
        null=True,
        related_name="journal_entries",
    )
    editeur = models.ForeignKey(
        "candidatures.Editeur", on_delete=models.RESTRICT, null=True, related_name="+"
    )
    data = models.JSONField("données", default=dict)
    prev_hash = models.CharField("empreinte précédente", max_length=64)
    hash = models.CharField("empreinte", max_length=64)

    class Meta:
        verbose_name = "entrée du journal"
        verbose_name_plural = "entrées du journal"
        ordering = ["seq"]
        indexes = [
            # The candidature's history, in the order of events.
            models.Index(fields=["candidature", "at", "seq"], name="journal_candidature"),
            # The daily close finds a day's range of entries.
            models.Index(fields=["recorded_at"], name="journal_recorded"),
            # The registry's feed reads one kind, newest first.
            models.Index(fields=["kind", "seq"], name="journal_kind"),
        ]
        constraints = [
            # Two entries never follow the same one: no fork, whatever the code does.
            models.UniqueConstraint(fields=["prev_hash"], name="journal_no_fork"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.kind}"


class JournalDigest(models.Model):
    """A closed Paris day of the journal: the Merkle root of its entries, chained to the
    previous day's digest, timestamped by an RFC 3161 authority, published."""

    day = models.DateField("jour", unique=True)
    first_seq = models.BigIntegerField("première entrée")
    last_seq = models.BigIntegerField("dernière entrée")
    size = models.BigIntegerField("nombre d’entrées")
    root = models.CharField("racine de Merkle", max_length=64)
    chain_head = models.CharField("empreinte de la dernière entrée", max_length=64)
    prev_digest = models.CharField("empreinte du jour précédent", max_length=64)
    digest = models.CharField("empreinte du jour", max_length=64, unique=True)
    closed_at = models.DateTimeField("clos le")
    # The roots of the day's runs of 64 entries (journal_format.SUBTREE_LEAVES), 32 bytes
    # each: an inclusion proof reads one run, not the whole day. Derived, checked by
    # verifier_journal; null for a day closed before they were kept.
    subtrees = models.BinaryField("racines des tranches de 64 entrées", null=True)
    # Filled by segur_portal.timestamping once the authority answered; the sweep asks
    # again for a day still without one.
    timestamp_token = models.BinaryField("jeton d’horodatage RFC 3161", null=True)
    timestamped_at = models.DateTimeField("horodaté le", null=True)

    class Meta:
        verbose_name = "empreinte quotidienne du journal"
        verbose_name_plural = "empreintes quotidiennes du journal"
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"{self.day} {self.root[:12]}"


# The editors' API: tokens and webhooks (segur_portal.models_api).
from segur_portal.models_api import (  # noqa: E402, F401
    ApiToken,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
