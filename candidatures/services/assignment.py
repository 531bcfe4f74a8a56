"""Giving dossiers to instructors: the agency steers its queues by assigning each
candidature to the instructor who will handle it (issue 12, item 4)."""

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from candidatures.enums import TERMINAL_STATES, CandidatureState
from candidatures.models import Assignment, Candidature
from candidatures.permissions import runs_procedure
from segur_portal.enums import Role
from segur_portal.services import notification_send

# A draft is the company's own business; a closed candidature has nothing left to do.
ASSIGNABLE_STATES = frozenset(
    state
    for state in CandidatureState.values
    if state not in TERMINAL_STATES and state != CandidatureState.BROUILLON
)
NOT_ASSIGNABLE = (
    "Un dossier coché n’existe pas ou ne peut plus être attribué (brouillon ou "
    "candidature close). Rechargez la page."
)
NOT_AN_INSTRUCTOR = "Choisissez un instructeur de l’ANS dont le compte est actif."


def assignable_instructors():
    from segur_portal.models import User

    return User.objects.filter(role=Role.INSTRUCTEUR, is_active=True).order_by(
        "last_name", "first_name", "pk"
    )


def candidature_assign(
    *,
    candidatures: Iterable[Candidature],
    instructeur,
    actor,
    now: datetime | None = None,
) -> list[Candidature]:
    """Give each of `candidatures` to `instructeur`, an active instructor: all of them,
    or none if one cannot be given. Each change is recorded (Assignment), the instructor
    is notified of what they receive, and the previous instructor of what they lose.
    Returns the candidatures whose instructor changed."""
    now = now or timezone.now()
    if not runs_procedure(actor):
        raise PermissionDenied("Seuls les instructeurs et administrateurs attribuent les dossiers.")
    if instructeur is None or instructeur.role != Role.INSTRUCTEUR or not instructeur.is_active:
        raise ValidationError({"instructeur": NOT_AN_INSTRUCTOR})
    wanted = {candidature.pk for candidature in candidatures}
    if not wanted:
        raise ValidationError({"candidatures": "Cochez au moins un dossier à attribuer."})
    with transaction.atomic():
        locked = list(
            Candidature.objects.select_for_update(of=("self",))
            .filter(pk__in=wanted)
            .select_related("instructeur")
            .order_by("pk")
        )
        if len(locked) != len(wanted) or any(c.state not in ASSIGNABLE_STATES for c in locked):
            raise ValidationError({"candidatures": NOT_ASSIGNABLE})
        changed = [c for c in locked if c.instructeur_id != instructeur.pk]
        if not changed:
            return []
        Assignment.objects.bulk_create(
            Assignment(
                candidature=candidature,
                instructeur=instructeur,
                previous_id=candidature.instructeur_id,
                assigned_by=actor,
                at=now,
            )
            for candidature in changed
        )
        Candidature.objects.filter(pk__in=[c.pk for c in changed]).update(instructeur=instructeur)
        _notify(changed, instructeur=instructeur, actor=actor)
        for candidature in changed:
            candidature.instructeur = instructeur
    return changed


def _references(candidatures: list[Candidature]) -> str:
    return "\n".join(
        f"{candidature.reference} — {candidature.nom_commercial} {candidature.version_technique}"
        for candidature in candidatures
    )


def _url(candidatures: list[Candidature], mine: str) -> str:
    if len(candidatures) == 1:
        return reverse("candidatures:detail", args=[candidatures[0].pk])
    return mine


def _notify(changed: list[Candidature], *, instructeur, actor) -> None:
    by = actor.get_full_name()
    mine = reverse("candidatures:list") + "?instructeur=moi"
    if instructeur.pk != actor.pk:
        count = len(changed)
        notification_send(
            recipients=[instructeur],
            title=f"{count} dossier{'s' if count > 1 else ''} vous "
            f"{'sont attribués' if count > 1 else 'est attribué'}",
            body=f"{by} vous a attribué :\n{_references(changed)}",
            url=_url(changed, mine),
        )
    lost = defaultdict(list)
    for candidature in changed:
        previous = candidature.instructeur
        if previous is not None and previous.pk != actor.pk:
            lost[previous].append(candidature)
    for previous, candidatures in lost.items():
        notification_send(
            recipients=[previous],
            title="Dossier réattribué" if len(candidatures) == 1 else "Dossiers réattribués",
            body=f"{by} a attribué à {instructeur.get_full_name()} :\n{_references(candidatures)}",
            url=_url(candidatures, mine),
        )
