"""Writes on accounts, invitations and notifications. Views and tasks call these only."""

import hashlib
import logging
import secrets
import smtplib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from segur_portal.bulk import insert_rows
from segur_portal.clocks import format_paris_datetime
from segur_portal.enums import AccessRequestStatus, CompanyRole, Role
from segur_portal.journal_events import journal_account
from segur_portal.models import (
    AccessRequest,
    Invitation,
    Notification,
    OutboundEmail,
    PeriodicRun,
    User,
    normalize_email,
)

logger = logging.getLogger(__name__)

# An e-mail not handed to the worker within this delay is queued again by the sweep
# (the broker may have been down when the notification was committed).
EMAIL_REQUEUE_AFTER = timedelta(minutes=5)
EMAIL_MAX_ATTEMPTS = 8
# At most this many a sweep, the oldest first: after a long outage of the mail server
# the backlog drains over a few minutes instead of flooding the broker in one run.
EMAIL_REQUEUE_BATCH = 1000


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}" if path.startswith("/") else path


# E-mails and notifications


SUBJECT_MAX_LENGTH = 200


def email_subject(text: str) -> str:
    """A subject safe for a mail header: one line, no control character, bounded.

    Subjects are built from names users typed (a commercial name, a company's name);
    a CR/LF there would make the mail library refuse the e-mail for ever.
    """
    text = "".join(
        " " if unicodedata.category(char)[0] in ("C", "Z") else char
        for char in unicodedata.normalize("NFC", text)
    )
    text = " ".join(text.split())
    subject = f"[Portail Ségur] {text}"
    if len(subject) > SUBJECT_MAX_LENGTH:
        subject = subject[: SUBJECT_MAX_LENGTH - 1].rstrip() + "…"
    return subject


def is_permanent_failure(error: Exception) -> bool:
    """A failure that sending again will not cure: a header the mail library refuses,
    an address or a message the server rejects with a 5xx code."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    return isinstance(error, ValueError | UnicodeError)


def _addresses(to: Iterable[str]) -> list[str]:
    """The addresses to write to, normalised, each once, in their order."""
    return list(dict.fromkeys(normalize_email(a) for a in to if a))


def _outbound(
    to: Iterable[str], *, subject: str, body: str, sensitive: bool = False, notification=None
) -> list[OutboundEmail]:
    subject = email_subject(subject)
    return [
        OutboundEmail(
            to=address,
            subject=subject,
            body=body,
            sensitive=sensitive,
            notification=notification,
        )
        for address in _addresses(to)
    ]


def email_queue(
    *, to: Iterable[str], subject: str, body: str, sensitive: bool = False, notification=None
) -> list[OutboundEmail]:
    """Record e-mails in the outbox; a worker sends them once the transaction commits."""
    from segur_portal.tasks import email_deliver

    emails = OutboundEmail.objects.bulk_create(
        _outbound(to, subject=subject, body=body, sensitive=sensitive, notification=notification)
    )
    for email in emails:
        # robust: a broker outage must not fail the user's request; the sweep retries.
        transaction.on_commit(lambda pk=email.pk: email_deliver.delay(pk), robust=True)
    return emails


@dataclass(frozen=True)
class Notice:
    """One notification_send call, for notifications_send_many."""

    recipients: Iterable[User]
    title: str
    body: str
    url: str = ""
    extra_emails: Iterable[str] = ()


def notification_send(
    *,
    recipients: Iterable[User],
    title: str,
    body: str,
    url: str = "",
    email: bool = True,
    extra_emails: Iterable[str] = (),
) -> list[int]:
    """Notify users in the portal and by e-mail (plus addresses without an account).
    Returns the notifications' ids."""
    notice = Notice(
        recipients=recipients, title=title, body=body, url=url, extra_emails=extra_emails
    )
    return notifications_send_many([notice], email=email)


# The columns notifications_send_many writes, every one: insert_rows applies no default.
NOTIFICATION_COLUMNS = ("recipient_id", "title", "body", "url", "created_at")
EMAIL_COLUMNS = (
    "to",
    "subject",
    "body",
    "sensitive",
    "notification_id",
    "created_at",
    "attempts",
    "last_error",
)


def notifications_send_many(
    notices: list[Notice], *, email: bool = True, one_task: bool = False
) -> list[int]:
    """notification_send for each notice in turn, in one insert of notifications and
    one of e-mails (COPY on PostgreSQL: a sweep writes thousands, and building a model
    instance for each cost more than the insert): the same rows, in the same order.
    Returns the notifications' ids. `one_task`: the e-mails are queued by one task that
    queues each (a sweep's hundreds of e-mails, one publish)."""
    from segur_portal.tasks import email_deliver, emails_deliver_queue

    notices = [
        replace(notice, recipients=[user for user in notice.recipients if user.is_active])
        for notice in notices
    ]
    notification_ids = insert_rows(
        Notification,
        NOTIFICATION_COLUMNS,
        [
            (user.pk, notice.title, notice.body, notice.url, timezone.now())
            for notice in notices
            for user in notice.recipients
        ],
    )
    if not email:
        return notification_ids
    rows, sent = [], iter(notification_ids)

    def outbound(to: Iterable[str], subject: str, body: str, notification_id) -> None:
        rows.extend(
            (address, subject, body, False, notification_id, timezone.now(), 0, "")
            for address in _addresses(to)
        )

    for notice in notices:
        link = absolute_url(notice.url) if notice.url else ""
        # Every account gets the same subject and text: made once per notice.
        subject = email_subject(notice.title)
        body = _notification_body(notice, link) if notice.recipients else ""
        for user in notice.recipients:
            outbound([user.email], subject, body, next(sent))
        extra = set(map(normalize_email, notice.extra_emails)) - {
            user.email for user in notice.recipients
        }
        if extra:
            outbound(sorted(extra), subject, _notification_body(notice, ""), None)
    email_ids = insert_rows(OutboundEmail, EMAIL_COLUMNS, rows, nullable=["notification_id"])
    # robust: a broker outage must not fail the user's request; the sweep retries.
    if one_task and len(email_ids) > 1:
        transaction.on_commit(lambda: emails_deliver_queue.delay(email_ids), robust=True)
        return notification_ids
    for pk in email_ids:
        transaction.on_commit(lambda pk=pk: email_deliver.delay(pk), robust=True)
    return notification_ids


def _notification_body(notice: Notice, link: str) -> str:
    return render_to_string(
        "emails/notification.txt",
        {"notification": {"title": notice.title, "body": notice.body}, "link": link},
    )


def email_deliver(*, email_id: int) -> bool:
    """Hand one outbox e-mail to the mail server, at most once. Returns whether it went now.

    A transient failure is recorded on the row, then raised for the task to retry; a
    permanent one (see is_permanent_failure) marks the e-mail failed, never retried.
    """
    failure = None
    with transaction.atomic():
        email = (
            OutboundEmail.objects.select_for_update(skip_locked=True)
            .filter(pk=email_id, sent_at__isnull=True, failed_at__isnull=True)
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
        except (OSError, ValueError, UnicodeError) as error:
            email.last_error = f"{type(error).__name__}: {error}"[:2000]
            if is_permanent_failure(error):
                logger.error("courriel %s en échec définitif : %s", email.pk, email.last_error)
                email.failed_at = timezone.now()
            else:
                failure = error
            email.save(update_fields=["attempts", "last_error", "failed_at"])
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
    """Sweep: queue again the e-mails no worker has sent. Safe to run any number of times.
    Reads the outbox through its partial index (unsent, not failed), oldest first."""
    from segur_portal.tasks import email_deliver

    pending = (
        OutboundEmail.objects.filter(
            sent_at__isnull=True,
            failed_at__isnull=True,
            attempts__lt=EMAIL_MAX_ATTEMPTS,
            created_at__lt=now - EMAIL_REQUEUE_AFTER,
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:EMAIL_REQUEUE_BATCH]
    )
    count = 0
    for pk in pending:
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
    """Invite a colleague into the actor's company. Returns the invitation and its raw token.

    Whether the address already has an account is not said here: a mandataire could
    otherwise test any address. The invitation is made the same way; its link tells the
    address's owner, and only them, that an account exists (see `invitation_accept`).
    """
    _check_mandataire(actor)
    email = normalize_email(email)
    if company_role not in CompanyRole.values:
        raise ValidationError({"company_role": "Choisissez un rôle dans la liste."})
    if User.objects.filter(email__iexact=email, editeur_id=actor.editeur_id).exists():
        # The team page lists the company's members: this reveals nothing new.
        raise ValidationError({"email": "Cette personne est déjà membre de votre entreprise."})
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


# Requests to join a company already on the portal

ACCESS_REQUESTS_PER_HOUR = 3
ACCESS_REQUEST_SENT = (
    "Votre demande est enregistrée. Si une entreprise est inscrite sur le portail sous ce "
    "SIRET, son mandataire la reçoit : vous serez prévenu dans le portail et par courriel "
    "de sa réponse."
)


def access_request_create(
    *, requester: User, siret: str, message: str = "", now: datetime | None = None
) -> AccessRequest:
    """Ask the mandataire of the company registered under `siret` for access.

    The request is recorded, and the caller answers, the same way whether a company holds
    the SIRET or not: only its mandataire learns of it. A newer request replaces a pending
    one; a person sends at most ACCESS_REQUESTS_PER_HOUR in an hour.
    """
    from candidatures.models import Editeur

    if not (
        requester.is_active
        and requester.role == Role.EDITEUR
        and requester.email_verified_at is not None
    ):
        raise PermissionDenied("Confirmez d’abord votre adresse électronique.")
    if requester.editeur_id is not None:
        raise ValidationError("Votre compte est déjà rattaché à une entreprise.")
    now = now or timezone.now()
    with transaction.atomic():
        # One request at a time per person: the hourly count holds under concurrent posts.
        User.objects.select_for_update().filter(pk=requester.pk).first()
        recent = AccessRequest.objects.filter(
            requester=requester, created_at__gte=now - timedelta(hours=1)
        ).count()
        if recent >= ACCESS_REQUESTS_PER_HOUR:
            raise ValidationError(
                f"Vous avez déjà envoyé {ACCESS_REQUESTS_PER_HOUR} demandes dans l’heure : "
                "réessayez plus tard."
            )
        AccessRequest.objects.filter(
            requester=requester, status=AccessRequestStatus.EN_ATTENTE
        ).update(status=AccessRequestStatus.CLOSE, decided_at=now)
        editeur = Editeur.objects.filter(siret=siret).first()
        access_request = AccessRequest.objects.create(
            requester=requester, siret=siret, editeur=editeur, message=message.strip(),
            created_at=now,
        )  # fmt: skip
        if editeur is not None:
            notification_send(
                recipients=editeur.members.filter(
                    company_role=CompanyRole.MANDATAIRE, is_active=True
                ),
                title=f"Demande d’accès à {editeur.raison_sociale}",
                body=f"{requester.get_full_name()} ({requester.email}) demande à rejoindre "
                "l’entreprise sur le portail. Acceptez ou refusez sa demande dans « Mon "
                "entreprise ».",
                url=reverse("team"),
            )
    return access_request


def _lock_pending_request(*, actor: User, access_request: AccessRequest) -> AccessRequest:
    _check_mandataire(actor)
    if access_request.editeur_id is None or access_request.editeur_id != actor.editeur_id:
        raise PermissionDenied
    locked = (
        AccessRequest.objects.select_for_update(of=("self",))
        .select_related("editeur", "requester")
        .get(pk=access_request.pk)
    )
    if locked.status != AccessRequestStatus.EN_ATTENTE:
        raise ValidationError("Cette demande a déjà reçu une réponse.")
    return locked


def access_request_accept(*, actor: User, access_request: AccessRequest, company_role: str) -> User:
    """The mandataire lets the requester into the company, with the role they choose."""
    if company_role not in CompanyRole.values:
        raise ValidationError({"company_role": "Choisissez un rôle dans la liste."})
    now = timezone.now()
    with transaction.atomic():
        locked = _lock_pending_request(actor=actor, access_request=access_request)
        requester = User.objects.select_for_update().get(pk=locked.requester_id)
        joined_elsewhere = requester.editeur_id is not None or not requester.is_active
        if not joined_elsewhere:
            requester.editeur_id = locked.editeur_id
            requester.company_role = company_role
            requester.save(update_fields=["editeur", "company_role"])
        locked.status = (
            AccessRequestStatus.CLOSE if joined_elsewhere else AccessRequestStatus.ACCEPTEE
        )
        locked.company_role = "" if joined_elsewhere else company_role
        locked.decided_at = now
        locked.decided_by = actor
        locked.save(update_fields=["status", "company_role", "decided_at", "decided_by"])
        if not joined_elsewhere:
            journal_account(requester, event="acces_accorde", actor=actor, access_request=locked.pk)
            notification_send(
                recipients=[requester],
                title=f"Votre accès à {locked.editeur.raison_sociale} est ouvert",
                body=f"{actor.get_full_name()}, mandataire de l’entreprise, a accepté votre "
                f"demande : vous en êtes {CompanyRole(company_role).label.lower()} sur le "
                "portail.",
                url=reverse("dashboard"),
            )
    if joined_elsewhere:
        raise ValidationError(
            "Cette personne a rejoint une autre entreprise ou n’a plus de compte actif : la "
            "demande est close."
        )
    return requester


def access_request_refuse(*, actor: User, access_request: AccessRequest) -> None:
    with transaction.atomic():
        locked = _lock_pending_request(actor=actor, access_request=access_request)
        locked.status = AccessRequestStatus.REFUSEE
        locked.decided_at = timezone.now()
        locked.decided_by = actor
        locked.save(update_fields=["status", "decided_at", "decided_by"])
        journal_account(
            locked.requester,
            event="acces_refuse",
            actor=actor,
            access_request=locked.pk,
            editeur_demande=locked.editeur_id,
        )
        notification_send(
            recipients=[locked.requester],
            title=f"Demande d’accès à {locked.editeur.raison_sociale} refusée",
            body="Le mandataire de l’entreprise n’a pas accepté votre demande d’accès. "
            "Adressez-vous à lui directement si vous pensez qu’il s’agit d’une erreur.",
            url=reverse("company_join"),
        )


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


VERIFICATION_SUBJECT = "Confirmez votre adresse électronique"
INVALID_LINK = (
    "Ce lien n’est pas valable : il est incomplet, a déjà servi ou a expiré. "
    "Connectez-vous pour en demander un nouveau."
)


EXISTING_ACCOUNT_SUBJECT = "Un compte existe déjà avec votre adresse"


def _sent_last_hour(address: str, subject: str) -> int:
    return OutboundEmail.objects.filter(
        to=normalize_email(address),
        subject__endswith=subject,
        created_at__gte=timezone.now() - timedelta(hours=1),
    ).count()


def account_signup(*, email: str, first_name: str, last_name: str, password: str) -> User | None:
    """An editor opens an account; it works once the address is confirmed.

    The answer is the same whether the address is new or already has an account (no
    enumeration): the password is checked and hashed either way, and an e-mail goes to
    the address either way — a confirmation link, or a note that an account exists.
    Returns the new user, or None when the address already had one.
    """
    email = normalize_email(email)
    user = User(
        email=email, first_name=first_name.strip(), last_name=last_name.strip(), role=Role.EDITEUR
    )
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise ValidationError({"password1": error.messages}) from error
    user.set_password(password)
    with transaction.atomic():
        existing = User.objects.select_for_update().filter(email__iexact=email).first()
        if existing is not None:
            if _sent_last_hour(existing.email, EXISTING_ACCOUNT_SUBJECT) >= (
                settings.VERIFICATION_EMAILS_PER_HOUR
            ):
                return None
            email_queue(
                to=[existing.email],
                subject=EXISTING_ACCOUNT_SUBJECT,
                body=render_to_string(
                    "emails/signup_existing.txt",
                    {
                        "user": existing,
                        "login_link": absolute_url(reverse("login")),
                        "reset_link": absolute_url(reverse("password_reset")),
                    },
                ),
            )
            return None
        user.save()
        journal_account(user, event="inscription")
        account_send_verification(user=user)
    return user


def account_send_verification(*, user: User) -> bool:
    """Send a confirmation link, at most VERIFICATION_EMAILS_PER_HOUR times an hour.

    Returns False when nothing was sent (address already confirmed, or limit reached).
    The count is read from the outbox, so it holds across processes and restarts.
    """
    if user.email_verified_at is not None:
        return False
    with transaction.atomic():
        # One account at a time: two simultaneous requests cannot both pass the count.
        User.objects.select_for_update().filter(pk=user.pk).first()
        if (
            _sent_last_hour(user.email, VERIFICATION_SUBJECT)
            >= settings.VERIFICATION_EMAILS_PER_HOUR
        ):
            return False
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
            subject=VERIFICATION_SUBJECT,
            body=render_to_string("emails/signup_confirm.txt", {"user": user, "link": link}),
            sensitive=True,
        )
    return True


def account_verify_email(*, uidb64: str, token: str) -> User:
    """Confirm an address from the link of the confirmation e-mail.

    The link proves the address, once: it never signs anyone in. Every failure (unknown
    account, forged, reused, expired or someone else's token) gives the same error and
    changes nothing.
    """
    try:
        user = User.objects.get(pk=force_str(urlsafe_base64_decode(uidb64)))
    except (User.DoesNotExist, ValueError, TypeError, OverflowError) as error:
        raise ValidationError(INVALID_LINK) from error
    # The token is checked first, whatever the account's state: a confirmed account's
    # tokens no longer match (the hash covers email_verified_at).
    if not email_verification_token.check_token(user, token):
        raise ValidationError(INVALID_LINK)
    with transaction.atomic():
        updated = User.objects.filter(pk=user.pk, email_verified_at__isnull=True).update(
            email_verified_at=timezone.now()
        )
        if updated:
            journal_account(user, event="adresse_confirmee")
    if not updated:
        raise ValidationError(INVALID_LINK)
    user.refresh_from_db(fields=["email_verified_at"])
    return user


INVALID_INVITATION = (
    "Ce lien d’invitation n’est pas valable (incomplet, déjà utilisé, retiré ou expiré). "
    "Demandez une nouvelle invitation au mandataire de votre entreprise."
)


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
            raise ValidationError(INVALID_INVITATION)
        if User.objects.filter(email__iexact=invitation.email).exists():
            # Only the address's owner holds the link: telling them reveals nothing.
            raise ValidationError(
                "Un compte existe déjà avec cette adresse : connectez-vous avec votre mot de "
                "passe, ou demandez à l’administrateur de rattacher ce compte à l’entreprise."
            )
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
        journal_account(user, event="invitation_acceptee", invitation=invitation.pk)
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
        journal_account(member, event="acces_retire", actor=actor)


# The sweep's own health


@dataclass(frozen=True)
class SweepStatus:
    last_finished_at: datetime | None
    late: bool


def sweep_status(*, now: datetime) -> SweepStatus:
    """Whether the sweep has finished a run within SWEEP_LATE_AFTER, from its stored run.

    A portal where it never ran is not called late: there is no instant to count from.
    """
    run = PeriodicRun.objects.filter(name="sweep").first()
    last = run.last_finished_at if run else None
    return SweepStatus(last, last is not None and now - last > settings.SWEEP_LATE_AFTER)


def sweep_late_alert(*, now: datetime, resumed: bool = False) -> bool:
    """Alert the administrators, in the portal and by e-mail, that the sweep is late: once
    for each outage, whoever notices it first (/healthz, the admin dashboard, or the sweep
    itself when it starts again after an outage nobody saw). Returns whether it alerted.
    """
    status = sweep_status(now=now)
    if not status.late:
        return False
    # One winner among concurrent callers: the row is marked only if no alert was sent
    # since the last finished run.
    marked = (
        PeriodicRun.objects.filter(name="sweep", last_finished_at=status.last_finished_at)
        .filter(Q(late_alerted_at__isnull=True) | Q(late_alerted_at__lt=F("last_finished_at")))
        .update(late_alerted_at=now)
    )
    if not marked:
        return False
    since = format_paris_datetime(status.last_finished_at)
    minutes = int((now - status.last_finished_at).total_seconds() // 60)
    if resumed:
        title = "Le balayage des délais a repris après une interruption"
        body = (
            f"Le balayage périodique n’a pas tourné du {since} à maintenant "
            f"({minutes} minutes) : les délais échus pendant cette interruption (rejets, "
            "relances, rappels) sont appliqués maintenant, en retard. Vérifiez les "
            "candidatures concernées et la cause de l’arrêt (service beat ou worker)."
        )
    else:
        title = "Le balayage des délais est en retard"
        body = (
            f"Le dernier balayage périodique s’est terminé le {since}, il y a {minutes} "
            "minutes (il tourne chaque minute). Tant qu’il ne reprend pas, les délais "
            "échus (rejets, relances, rappels) ne sont pas appliqués : vérifiez les "
            "services beat et worker (Celery) et le broker."
        )
    notification_send(
        recipients=User.objects.filter(role=Role.ADMIN, is_active=True),
        title=title,
        body=body,
        url=reverse("dashboard"),
    )
    logger.error("%s (dernier balayage : %s)", title, since)
    return True
