"""Reads on support requests, in a fixed number of queries whatever their number."""

from django.db.models import Count, F, Prefetch, QuerySet

from candidatures.models import SupportDemande, SupportMessage

INBOX_PAGE_SIZE = 25


def support_inbox() -> QuerySet[SupportDemande]:
    """Every request, those waiting for the agency first (the longest waiting at the top),
    then the others, most recent activity first."""
    return (
        SupportDemande.objects.select_related("editeur", "created_by")
        .annotate(message_count=Count("messages"))
        .order_by(F("waiting_since").asc(nulls_last=True), "-last_message_at", "-id")
    )


def support_waiting_count() -> int:
    """Requests waiting for the agency's answer (the inbox's first ones), in one query."""
    return SupportDemande.objects.filter(waiting_since__isnull=False).count()


def support_demandes_of(editeur_id: int) -> QuerySet[SupportDemande]:
    return (
        SupportDemande.objects.filter(editeur_id=editeur_id)
        .select_related("created_by")
        .annotate(message_count=Count("messages"))
        .order_by("-last_message_at", "-id")
    )


def support_demande_with_messages(queryset: QuerySet[SupportDemande], pk: int) -> SupportDemande:
    return (
        queryset.select_related("editeur", "created_by")
        .prefetch_related(
            Prefetch(
                "messages",
                queryset=SupportMessage.objects.select_related("author").prefetch_related(
                    "fichiers"
                ),
            )
        )
        .get(pk=pk)
    )
