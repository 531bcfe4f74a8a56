from preuves.models import Fichier
from preuves.permissions import can_access_fichier


def fichier_visible_to(*, user, fichier_id) -> Fichier | None:
    """The file if `user` may see it; None whether it does not exist or is not theirs,
    so that callers answer both the same way."""
    fichier = Fichier.objects.filter(pk=fichier_id).first()
    if fichier is None or not can_access_fichier(user, fichier):
        return None
    return fichier
