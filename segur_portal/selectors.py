from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from segur_portal.enums import AccessRequestStatus
from segur_portal.models import AccessRequest, Invitation, Notification, User


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


def pending_access_requests(editeur_id: int) -> QuerySet[AccessRequest]:
    return AccessRequest.objects.filter(
        editeur_id=editeur_id, status=AccessRequestStatus.EN_ATTENTE
    ).select_related("requester")


def own_pending_access_request(user: User) -> AccessRequest | None:
    return AccessRequest.objects.filter(
        requester=user, status=AccessRequestStatus.EN_ATTENTE
    ).first()


def proof_queue_summary(*, user: User, now) -> dict[str, int]:
    """The instructor's tile: the proof dossiers waiting, in one query."""
    from candidatures.enums import CandidatureState
    from preuves.instruction import instruction_queue

    return instruction_queue(now).aggregate(
        total=Count("pk"),
        to_take=Count("pk", filter=Q(state=CandidatureState.DOSSIER_SOUMIS)),
        in_instruction=Count("pk", filter=Q(state=CandidatureState.EN_INSTRUCTION)),
        mine=Count("pk", filter=Q(instructeur=user)),
        deprioritised=Count("pk", filter=Q(place_lost_at__isnull=False)),
    )
