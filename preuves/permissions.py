"""Who may see and delete stored files (001 §4.8: only the editor's own users and the
agency see a company's files)."""

from segur_portal.enums import AGENCY_ROLES, Role


def can_access_fichier(user, fichier) -> bool:
    if not (user.is_authenticated and user.is_active):
        return False
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
