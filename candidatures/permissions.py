"""Who may see and do what on candidatures. Views scope every lookup with
`candidatures_visible_to`, so another company's candidature is a 404."""

from django.db.models import QuerySet

from candidatures.models import Candidature
from segur_portal.enums import AGENCY_ROLES, Role

# Agency staff who run the procedure (the collège only decides, in its séances).
PROCEDURE_ROLES = frozenset({Role.INSTRUCTEUR, Role.ADMIN})


def on_college_agenda() -> QuerySet[Candidature]:
    """Candidatures inscribed on a séance, past, open or to come: the only ones the
    collège judges, hence the only ones its members read (docs/SECURITY.md)."""
    return Candidature.objects.filter(inscriptions__isnull=False).distinct()


def candidatures_visible_to(user) -> QuerySet[Candidature]:
    if not (user.is_authenticated and user.is_active):
        return Candidature.objects.none()
    if user.role == Role.COLLEGE:
        return Candidature.objects.filter(pk__in=on_college_agenda().values("pk"))
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


def reads_exchanges(user, candidature: Candidature) -> bool:
    """Sollicitations are between the instructors and the company: the collège judges
    the dossier, not the exchanges that led to it."""
    return runs_procedure(user) or is_company_member(user, candidature)


def reads_eligibility(user, candidature: Candidature) -> bool:
    """The eligibility form and its documents (mandates, CNDA deposit, commitment letter,
    customer base): the company and the agents who validate it, never the collège
    (docs/SECURITY.md)."""
    return runs_procedure(user) or is_company_member(user, candidature)


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


def support_demandes_visible_to(user):
    """A company reads its own questions to the support; the agency staff who run the
    procedure read and answer all of them; the collège none."""
    from candidatures.models import SupportDemande

    if runs_procedure(user):
        return SupportDemande.objects.all()
    if (
        user.is_authenticated
        and user.is_active
        and user.role == Role.EDITEUR
        and user.editeur_id is not None
    ):
        return SupportDemande.objects.filter(editeur_id=user.editeur_id)
    return SupportDemande.objects.none()
