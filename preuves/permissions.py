"""Who may see and delete stored files (001 §4.8: only the editor's own users and the
agency see a company's files)."""

from django.db.models import Q

from segur_portal.enums import AGENCY_ROLES, Role


def _college_reads(fichier) -> bool:
    """A collège member reads the documents of the dossiers it judges: the proofs and
    the receipt of a candidature on a séance's agenda, its convention, the answers to
    its réserves, its attestation, and the séances' minutes. Never a sollicitation's
    attachment, an eligibility document or a customer-base sheet."""
    from candidatures.permissions import on_college_agenda
    from college.models import Attestation, Convention, ReserveReponse, Seance
    from preuves.models import Depot, DossierSoumission

    agenda = on_college_agenda().values("pk")
    return (
        Depot.objects.filter(fichier=fichier, candidature__in=agenda).exists()
        or DossierSoumission.objects.filter(receipt=fichier, candidature__in=agenda).exists()
        or Convention.objects.filter(
            Q(document=fichier) | Q(signed_document=fichier), candidature__in=agenda
        ).exists()
        or ReserveReponse.objects.filter(
            fichiers=fichier, reserve__decision__inscription__candidature__in=agenda
        ).exists()
        or Attestation.objects.filter(fichier=fichier).exists()
        or Seance.objects.filter(minutes=fichier).exists()
    )


def can_access_fichier(user, fichier) -> bool:
    if not (user.is_authenticated and user.is_active):
        return False
    if user.role == Role.COLLEGE:
        return _college_reads(fichier)
    if user.role in AGENCY_ROLES:
        return True
    return (
        user.role == Role.EDITEUR
        and user.editeur_id is not None
        and user.editeur_id == fichier.editeur_id
    )


def can_delete_fichier(user, fichier) -> bool:
    """The side that uploaded a file deletes it: the company its members' files, the
    agency its agents' files (even those addressed to a company)."""
    if not can_access_fichier(user, fichier):
        return False
    uploader = fichier.uploaded_by
    if user.role in AGENCY_ROLES:
        return uploader.role in AGENCY_ROLES
    return uploader.role == Role.EDITEUR and uploader.editeur_id == user.editeur_id


def can_upload_for(user, editeur) -> bool:
    """Whether `user` may store a file owned by `editeur` (None: an agency file)."""
    if not (user.is_authenticated and user.is_active):
        return False
    if user.role in AGENCY_ROLES:
        return True
    return (
        user.role == Role.EDITEUR
        and editeur is not None
        and user.editeur_id is not None
        and user.editeur_id == editeur.pk
    )
