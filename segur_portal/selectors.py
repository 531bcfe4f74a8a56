from django.db.models import QuerySet
from django.utils import timezone

from segur_portal.models import Invitation, Notification, User


def notifications_for(user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=user)


def unread_notification_count(user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def team_members(editeur_id: int) -> QuerySet[User]:
    return User.objects.filter(editeur_id=editeur_id).order_by("-is_active", "last_name")


def pending_invitations(editeur_id: int) -> QuerySet[Invitation]:
    return Invitation.objects.filter(
        editeur_id=editeur_id,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).select_related("invited_by")
