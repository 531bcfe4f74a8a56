"""Writes on accounts, invitations and notifications. Views and tasks call these only."""

import hashlib
import logging
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from segur_portal.enums import CompanyRole, Role
from segur_portal.models import Invitation, Notification, OutboundEmail, User, normalize_email

logger = logging.getLogger(__name__)

# An e-mail not handed to the worker within this delay is queued again by the sweep
# (the broker may have been down when the notification was committed).
EMAIL_REQUEUE_AFTER = timedelta(minutes=5)
EMAIL_MAX_ATTEMPTS = 8


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}" if path.startswith("/") else path


# E-mails and notifications


def email_queue(
    *, to: Iterable[str], subject: str, body: str, sensitive: bool = False, notification=None
) -> list[OutboundEmail]:
    """Record e-mails in the outbox; a worker sends them once the transaction commits."""
    from segur_portal.tasks import email_deliver

    emails = OutboundEmail.objects.bulk_create(
        OutboundEmail(
            to=address,
            subject=f"[Portail Ségur] {subject}",
            body=body,
            sensitive=sensitive,
            notification=notification,
        )
        for address in dict.fromkeys(normalize_email(a) for a in to if a)
    )
    for email in emails:
        # robust: a broker outage must not fail the user's request; the sweep retries.
        transaction.on_commit(lambda pk=email.pk: email_deliver.delay(pk), robust=True)
    return emails


def notification_send(
    *,
    recipients: Iterable[User],
    title: str,
    body: str,
    url: str = "",
    email: bool = True,
    extra_emails: Iterable[str] = (),
) -> list[Notification]:
    """Notify users in the portal and by e-mail (plus addresses without an account)."""
    notifications = Notification.objects.bulk_create(
        Notification(recipient=user, title=title, body=body, url=url)
        for user in recipients
        if user.is_active
    )
    if email:
        for notification in notifications:
            email_queue(
                to=[notification.recipient.email],
                subject=title,
                body=render_to_string(
                    "emails/notification.txt",
                    {"notification": notification, "link": absolute_url(url) if url else ""},
                ),
                notification=notification,
            )
        extra = set(map(normalize_email, extra_emails)) - {n.recipient.email for n in notifications}
        if extra:
            email_queue(
                to=sorted(extra),
                subject=title,
                body=render_to_string(
                    "emails/notification.txt",
                    {"notification": {"title": title, "body": body}, "link": ""},
                ),
            )
    return notifications


def email_deliver(*, email_id: int) -> bool:
    """Hand one outbox e-mail to the mail server, at most once. Returns whether it went now.

    A failure is recorded on the row, then raised for the task to retry.
    """
    failure = None
    with transaction.atomic():
        email = (
            OutboundEmail.objects.select_for_update(skip_locked=True)
            .filter(pk=email_id, sent_at__isnull=True)
            .first()
        )
        if email is None:
            # Already sent, or another worker holds it right now.
            return False
        email.attempts += 1
        try:
            send_mail(
                subject=email.subject,
                message=email.body,
                from_email=None,
                recipient_list=[email.to],
            )
        except OSError as error:
            failure = error
            email.last_error = f"{type(error).__name__}: {error}"
            email.save(update_fields=["attempts", "last_error"])
        else:
            email.sent_at = timezone.now()
            email.last_error = ""
            if email.sensitive:
                email.body = ""
            email.save(update_fields=["attempts", "sent_at", "last_error", "body"])
    if failure is not None:
        raise failure
    return True


def emails_requeue(*, now: datetime) -> int:
    """Sweep: queue again the e-mails no worker has sent. Safe to run any number of times."""
    from segur_portal.tasks import email_deliver

    pending = OutboundEmail.objects.filter(
        sent_at__isnull=True,
        attempts__lt=EMAIL_MAX_ATTEMPTS,
        created_at__lt=now - EMAIL_REQUEUE_AFTER,
    ).values_list("pk", flat=True)
    count = 0
    for pk in pending.iterator():
        email_deliver.delay(pk)
        count += 1
    return count


def notification_mark_read(*, notification: Notification, user: User) -> None:
    if notification.recipient_id != user.pk:
        raise PermissionDenied
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])


def notifications_mark_all_read(*, user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )


# Company accounts: invitations and removals


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_mandataire(actor: User) -> None:
    if not (actor.is_active and actor.is_mandataire):
        raise PermissionDenied("Seul le mandataire de l’entreprise gère ses comptes.")


def invitation_create(*, actor: User, email: str, company_role: str) -> tuple[Invitation, str]:
    """Invite a colleague into the actor's company. Returns the invitation and its raw token."""
    _check_mandataire(actor)
    email = normalize_email(email)
    if company_role not in CompanyRole.values:
        raise ValidationError({"company_role": "Choisissez un rôle dans la liste."})
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError(
            {"email": "Un compte existe déjà avec cette adresse : il ne peut pas être invité."}
        )
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        # A new invitation replaces any pending one for the same address.
        Invitation.objects.filter(
            email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=now)
        invitation = Invitation.objects.create(
            editeur=actor.editeur,
            email=email,
            company_role=company_role,
            token_hash=_token_hash(token),
            invited_by=actor,
            created_at=now,
            expires_at=now + settings.INVITATION_VALIDITY,
        )
        email_queue(
            to=[email],
            subject=f"Invitation à rejoindre {actor.editeur.raison_sociale}",
            body=render_to_string(
                "emails/invitation.txt",
                {
                    "invitation": invitation,
                    "link": absolute_url(reverse("invitation_accept", args=[token])),
                },
            ),
            sensitive=True,
        )
    return invitation, token


def invitation_find(token: str) -> Invitation | None:
    return (
        Invitation.objects.select_related("editeur", "invited_by")
        .filter(token_hash=_token_hash(token))
        .first()
    )


class EmailVerificationTokenGenerator(PasswordResetTokenGenerator):
    key_salt = "segur_portal.services.EmailVerificationTokenGenerator"

    def _make_hash_value(self, user, timestamp):
        # Once the address is confirmed the link stops working.
        return f"{user.pk}{timestamp}{user.email}{user.email_verified_at}"


email_verification_token = EmailVerificationTokenGenerator()


def account_signup(*, email: str, first_name: str, last_name: str, password: str) -> User:
    """An editor opens an account; it works once the address is confirmed."""
    email = normalize_email(email)
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": "Un compte existe déjà avec cette adresse."})
    user = User(
        email=email, first_name=first_name.strip(), last_name=last_name.strip(), role=Role.EDITEUR
    )
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise ValidationError({"password1": error.messages}) from error
    user.set_password(password)
    with transaction.atomic():
        user.save()
        account_send_verification(user=user)
    return user


def account_send_verification(*, user: User) -> None:
    if user.email_verified_at is not None:
        return
    link = absolute_url(
        reverse(
            "signup_confirm",
            args=[
                urlsafe_base64_encode(force_bytes(user.pk)),
                email_verification_token.make_token(user),
            ],
        )
    )
    email_queue(
        to=[user.email],
        subject="Confirmez votre adresse électronique",
        body=render_to_string("emails/signup_confirm.txt", {"user": user, "link": link}),
        sensitive=True,
    )


def account_verify_email(*, uidb64: str, token: str) -> User:
    try:
        user = User.objects.get(pk=force_str(urlsafe_base64_decode(uidb64)))
    except (User.DoesNotExist, ValueError, TypeError, OverflowError) as error:
        raise ValidationError("Ce lien de confirmation n’est pas valable.") from error
    if user.email_verified_at is not None:
        return user
    if not email_verification_token.check_token(user, token):
        raise ValidationError(
            "Ce lien de confirmation a expiré ou a déjà servi : demandez-en un nouveau."
        )
    user.email_verified_at = timezone.now()
    user.save(update_fields=["email_verified_at"])
    return user


def invitation_accept(*, token: str, first_name: str, last_name: str, password: str) -> User:
    """Create the invited colleague's account. The token works once, before it expires."""
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update()
            .select_related("editeur")
            .filter(token_hash=_token_hash(token))
            .first()
        )
        if invitation is None or not invitation.is_pending():
            raise ValidationError(
                "Ce lien d’invitation n’est plus valable (déjà utilisé, retiré ou expiré). "
                "Demandez une nouvelle invitation au mandataire de votre entreprise."
            )
        if User.objects.filter(email__iexact=invitation.email).exists():
            raise ValidationError("Un compte existe déjà avec cette adresse.")
        user = User(
            email=invitation.email,
            first_name=first_name.strip(),
            last_name=last_name.strip(),
            role=Role.EDITEUR,
            editeur=invitation.editeur,
            company_role=invitation.company_role,
            # The invitation reached this address: it is confirmed.
            email_verified_at=timezone.now(),
        )
        try:
            validate_password(password, user)
        except ValidationError as error:
            raise ValidationError({"password1": error.messages}) from error
        user.set_password(password)
        user.save()
        invitation.accepted_at = timezone.now()
        invitation.accepted_user = user
        invitation.save(update_fields=["accepted_at", "accepted_user"])
    return user


def invitation_revoke(*, actor: User, invitation: Invitation) -> None:
    _check_mandataire(actor)
    if invitation.editeur_id != actor.editeur_id:
        raise PermissionDenied
    if invitation.accepted_at is None and invitation.revoked_at is None:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])


def member_remove(*, actor: User, member: User) -> None:
    """Close a colleague's access. The account is kept, inactive, for traceability."""
    _check_mandataire(actor)
    if member.editeur_id != actor.editeur_id:
        raise PermissionDenied
    if member.pk == actor.pk:
        raise ValidationError("Vous ne pouvez pas retirer votre propre compte.")
    with transaction.atomic():
        member = User.objects.select_for_update().get(pk=member.pk)
        if not member.is_active:
            return
        member.is_active = False
        member.removed_at = timezone.now()
        member.removed_by = actor
        member.save(update_fields=["is_active", "removed_at", "removed_by"])
