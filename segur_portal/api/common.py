"""What the routers share: object lookups scoped as the pages scope them, bounded
uploads, and the objects as the API writes them."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.files.uploadhandler import FileUploadHandler

from candidatures.models import Candidature
from candidatures.permissions import candidatures_visible_to
from preuves.enums import FichierStatus
from preuves.uploads import FORM_OVERHEAD_BYTES, SizeLimitUploadHandler, declared_length
from segur_portal.api.problems import ApiProblem
from segur_portal.middleware import has_control_characters

# The answers every operation with a token may give, besides its own.
COMMON_ERRORS = (400, 401, 403, 404, 422, 429)


def answers(ok: dict, *extra: int) -> dict:
    from segur_portal.api.problems import Problem

    return {**ok, **dict.fromkeys((*COMMON_ERRORS, *extra), Problem)}


# A text field of a multipart body: no control character (the pages' forms refuse them
# too; PostgreSQL cannot store NUL), line breaks and tabs allowed, one visible character
# at least. Said in the document as a pattern, checked by `text_field`.
_CONTROL = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f"
TEXT_PATTERN = rf"^[^{_CONTROL}]*[^{_CONTROL}\s][^{_CONTROL}]*$"


def text_field(request, name: str) -> str:
    value = request.POST.get(name, "")
    if has_control_characters(value, allow_line_breaks=True):
        message = "Le texte contient un caractère de contrôle (NUL ou autre caractère invisible)."
        raise ApiProblem("donnees-invalides", message, errors={name: message})
    return value


def candidature_for(request, candidature_id: int, *related: str) -> Candidature:
    """The candidature if the token's user sees it in the portal; 404 otherwise, be it
    missing or another company's."""
    candidature = (
        candidatures_visible_to(request.user)
        .select_related("editeur", "campagne__dsr", "rem_version", *related)
        .filter(pk=candidature_id)
        .first()
    )
    if candidature is None:
        raise ApiProblem("introuvable", "Candidature introuvable.")
    # The journal's entry of the call names it.
    request.api_candidature = candidature
    return candidature


def bounded_files(
    request,
    *,
    field: str,
    max_bytes: int,
    max_files: int,
    declared_message: str,
    file_message: str,
    max_total: int | None = None,
    handler: type[FileUploadHandler] = SizeLimitUploadHandler,
):
    """The files of `field`, read through the bounded handler of the pages
    (preuves.uploads): refused (413) before reading when the declared length already
    passes `max_total` (by default `max_files` files of `max_bytes`), cut short at the
    first file over its limit. The messages are the pages' own: `file_message` names
    the file ({name}). Anything else in the body is in request.POST afterwards."""
    max_total = max_total or max_bytes * max_files
    if declared_length(request) > max_total + FORM_OVERHEAD_BYTES:
        raise ApiProblem("trop-volumineux", declared_message)
    if not request.content_type.startswith("multipart/form-data"):
        raise ApiProblem(
            "requete-invalide",
            "Envoyez les fichiers en multipart/form-data (champ « " + field + " »).",
        )
    request.upload_handlers.insert(0, handler(request, max_bytes, max_files))
    try:
        files = request.FILES.getlist(field)
    except (TooManyFilesSent, TooManyFieldsSent, RequestDataTooBig) as error:
        # Django's own caps (settings), met before the handler's: said as a 413 too.
        raise ApiProblem(
            "trop-volumineux",
            f"L’envoi compte plus de {settings.DATA_UPLOAD_MAX_NUMBER_FILES} fichiers, ou des "
            "champs trop nombreux ou trop longs : rien n’a été enregistré. Envoyez les fichiers "
            "en plusieurs fois.",
        ) from error
    if request.upload_too_large:
        raise ApiProblem("trop-volumineux", file_message.format(name=request.upload_too_large))
    return files


def code(choices, value: str) -> dict:
    return {"code": value, "libelle": choices(value).label if value in choices.values else value}


def fichier_out(fichier) -> dict:
    return {
        "id": fichier.pk,
        "nom": fichier.original_name,
        "taille": fichier.size,
        "sha256": fichier.sha256,
        "statut": code(FichierStatus, fichier.status),
        "motif_refus": fichier.refusal_reason,
        "type_detecte": fichier.detected_mime if fichier.checked_at else "",
        "depose_le": fichier.uploaded_at,
        "verifie_le": fichier.checked_at,
    }
