from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from segur_portal.enums import AGENCY_ROLES, CompanyRole, Role


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

    class Meta:
        verbose_name = "courriel"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["created_at"], condition=Q(sent_at__isnull=True), name="email_outbox"
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

    class Meta:
        verbose_name = "tâche périodique"
        verbose_name_plural = "tâches périodiques"

    def __str__(self) -> str:
        return self.name
