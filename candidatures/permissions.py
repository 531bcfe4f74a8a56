"""Who may see and do what on candidatures. Views scope every lookup with
`candidatures_visible_to`, so another company's candidature is a 404."""

from django.db.models import QuerySet

from candidatures.models import Candidature
from segur_portal.enums import AGENCY_ROLES, Role

# Agency staff who run the procedure (the collège only decides, in its séances).
PROCEDURE_ROLES = frozenset({Role.INSTRUCTEUR, Role.ADMIN})


def candidatures_visible_to(user) -> QuerySet[Candidature]:
    if not (user.is_authenticated and user.is_active):
        return Candidature.objects.none()
    if user.role in AGENCY_ROLES:
        return Candidature.objects.all()
    if user.role == Role.EDITEUR and user.editeur_id:
        return Candidature.objects.filter(editeur_id=user.editeur_id)
    return Candidature.objects.none()


def is_company_member(user, candidature: Candidature) -> bool:
    return (
        user.is_authenticated
        and user.is_active
        and user.role == Role.EDITEUR
        and user.editeur_id == candidature.editeur_id
    )


def runs_procedure(user) -> bool:
    return user.is_authenticated and user.is_active and user.role in PROCEDURE_ROLES


def can_edit_company(user) -> bool:
    """Mandataire and représentant keep the company's data; salariés read it."""
    return (
        user.is_authenticated
        and user.role == Role.EDITEUR
        and user.editeur_id is not None
        and user.company_role in {"mandataire", "representant"}
    )
