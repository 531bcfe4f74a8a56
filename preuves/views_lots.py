"""Bulk deposit on a dossier (preuves.bulk): files or ZIP archives are sent, the editor
reviews how they were matched to the expected proofs, then confirms once.

With the page's script the files go in several requests (bulk.js: one batch, then
groups of files that fit the proxy's limit) and the answers are JSON; without it one
form posts them all and each step answers with a page. A batch is reached only
through a candidature its company can see, by a member of that company: any other
lookup is a 404.
"""

import uuid

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from candidatures.permissions import candidatures_visible_to, is_company_member
from candidatures.views.candidature import editor_ready
from preuves import bulk
from preuves.depot import dossier
from preuves.models import DepotLot
from preuves.services import format_mo
from preuves.uploads import FORM_OVERHEAD_BYTES, SizeLimitUploadHandler, declared_length

# Files one request may carry (Django refuses more before any view runs); the page's
# script sends fewer, in groups.
LOT_REQUEST_MAX_FILES = settings.DATA_UPLOAD_MAX_NUMBER_FILES


class LotUploadHandler(SizeLimitUploadHandler):
    """The bounded upload of preuves.uploads, with a limit per file that depends on
    what it is: an archive may be larger than any single proof."""

    def new_file(self, field_name, file_name, *args, **kwargs):
        super().new_file(field_name, file_name, *args, **kwargs)
        self.max_bytes = (
            bulk.LOT_ZIP_MAX_BYTES if bulk.is_zip_name(file_name) else bulk.LOT_FILE_MAX_BYTES
        )


def _candidature(request, pk: int):
    candidature = get_object_or_404(
        candidatures_visible_to(request.user).select_related("editeur", "campagne"), pk=pk
    )
    return candidature


def _member_candidature(request, pk: int):
    candidature = _candidature(request, pk)
    if not is_company_member(request.user, candidature):
        raise PermissionDenied
    return candidature


def _lot(request, candidature, lot_id: uuid.UUID) -> DepotLot:
    """The company's own batch; a 404 for anyone else, whatever the batch."""
    if not is_company_member(request.user, candidature):
        raise Http404
    return get_object_or_404(
        DepotLot, pk=lot_id, candidature=candidature, editeur_id=request.user.editeur_id
    )


def _scripted(request) -> bool:
    return bool(request.headers.get("X-Upload"))


def _dossier_url(candidature) -> str:
    return reverse("dossier:page", args=[candidature.pk])


def _lot_urls(candidature, lot) -> dict:
    args = [candidature.pk, lot.pk]
    return {
        "lot": str(lot.pk),
        "fichiers": reverse("dossier:lot_files", args=args),
        "revue": reverse("dossier:lot", args=args),
        "abandon": reverse("dossier:lot_discard", args=args),
    }


def _refused(request, candidature, message: str, status: int):
    if _scripted(request):
        return JsonResponse({"erreur": message}, status=status)
    if status == 413:
        return render(
            request,
            "413.html",
            {"title": "Envoi trop volumineux", "error": message, "back": _dossier_url(candidature)},
            status=413,
        )
    messages.error(request, message)
    return redirect(_dossier_url(candidature))


def _bounded(request):
    """Bound the body before it is read (see preuves.uploads): None when it may be
    read, else the answer. CSRF is checked afterwards, on the parsed form."""
    limit = bulk.LOT_ZIP_MAX_BYTES + FORM_OVERHEAD_BYTES
    if declared_length(request) > limit:
        return (
            f"L’envoi dépasse {format_mo(bulk.LOT_ZIP_MAX_BYTES)} (envoyez les fichiers en "
            "plusieurs fois) : rien n’a été enregistré."
        )
    request.upload_handlers.insert(
        0, LotUploadHandler(request, bulk.LOT_FILE_MAX_BYTES, LOT_REQUEST_MAX_FILES)
    )
    request.POST  # noqa: B018  (parsed here, with the handlers above)
    if request.upload_too_large:
        return (
            f"« {request.upload_too_large} » dépasse la taille permise (une preuve : "
            f"{format_mo(bulk.LOT_FILE_MAX_BYTES)} ; une archive ZIP : "
            f"{format_mo(bulk.LOT_ZIP_MAX_BYTES)}), ou l’envoi compte plus de "
            f"{LOT_REQUEST_MAX_FILES} fichiers : rien n’a été enregistré."
        )
    return None


@csrf_exempt
@editor_ready
@require_POST
def lot_new(request, pk: int):
    """A new batch, with the files of this request if any."""
    candidature = _member_candidature(request, pk)
    problem = _bounded(request)
    if problem:
        return _refused(request, candidature, problem, 413)
    return _lot_new(request, candidature)


@csrf_protect
def _lot_new(request, candidature):
    uploads = request.FILES.getlist("files")
    if not uploads and not _scripted(request):
        return _refused(
            request, candidature, "Choisissez les fichiers, ou une archive ZIP, à déposer.", 422
        )
    try:
        lot = bulk.lot_create(
            candidature=candidature, actor=request.user, section=request.POST.get("section", "")
        )
    except ValidationError as error:
        return _refused(request, candidature, " ".join(error.messages), 422)
    if uploads:
        try:
            bulk.lot_add_files(lot=lot, uploads=uploads, actor=request.user)
        except ValidationError as error:
            bulk.lot_discard(lot=lot, actor=request.user)
            return _refused(request, candidature, " ".join(error.messages), 422)
    if _scripted(request):
        return JsonResponse(_lot_urls(candidature, lot), status=201)
    return redirect("dossier:lot", candidature.pk, lot.pk)


@csrf_exempt
@editor_ready
@require_POST
def lot_files(request, pk: int, lot_id: uuid.UUID):
    """More files for a batch being sent (the page's script sends them in groups)."""
    candidature = _candidature(request, pk)
    lot = _lot(request, candidature, lot_id)
    problem = _bounded(request)
    if problem:
        return _refused(request, candidature, problem, 413)
    return _lot_files(request, candidature, lot)


@csrf_protect
def _lot_files(request, candidature, lot):
    try:
        rows = bulk.lot_add_files(
            lot=lot, uploads=request.FILES.getlist("files"), actor=request.user
        )
    except ValidationError as error:
        return _refused(request, candidature, " ".join(error.messages), 422)
    if _scripted(request):
        return JsonResponse({"recus": len(rows)})
    return redirect("dossier:lot", candidature.pk, lot.pk)


def _chosen(request, review: bulk.LotReview, items) -> tuple[dict, dict, dict]:
    """What the editor mapped: {row: item keys}, {row: (keys, typed)} to show the form
    again, and {row: error} for a proof typed that the dossier does not have."""
    mapping, shown, errors = {}, {}, {}
    for row in review.rows:
        pk = row.fichier.pk
        keys = request.POST.getlist(f"cible-{pk}")
        typed = request.POST.get(f"autre-{pk}", "").strip()
        if typed:
            item = bulk.resolve_label(typed, items)
            if item is None:
                errors[pk] = (
                    f"« {typed} » n’est pas une preuve attendue de ce dossier : choisissez-la dans la liste."
                )
            else:
                keys.append(item.key)
        mapping[pk] = keys
        shown[pk] = (keys, typed)
    return mapping, shown, errors


@editor_ready
@require_GET
def lot_page(request, pk: int, lot_id: uuid.UUID):
    candidature = _candidature(request, pk)
    lot = _lot(request, candidature, lot_id)
    if lot.confirmed_at is not None:
        return redirect(_dossier_url(candidature))
    if lot.expires_at <= timezone.now():
        messages.error(
            request,
            "Ce dépôt groupé a expiré (24 heures sans confirmation) : déposez de nouveau les fichiers.",
        )
        return redirect(_dossier_url(candidature))
    return _render_review(request, candidature, bulk.lot_review(lot))


def _render_review(request, candidature, review, *, status=200, summary=""):
    return render(
        request,
        "preuves/lot.html",
        {
            "title": f"Vérifier le dépôt groupé — {candidature.reference}",
            "candidature": candidature,
            "review": review,
            "labels": sorted(review.labels.values()),
            "error_summary": summary,
            "errors": [row for row in review.rows if row.error],
        },
        status=status,
    )


@editor_ready
@require_POST
def lot_confirm(request, pk: int, lot_id: uuid.UUID):
    candidature = _candidature(request, pk)
    lot = _lot(request, candidature, lot_id)
    review = bulk.lot_review(lot)
    items = dossier(candidature).items
    mapping, shown, errors = _chosen(request, review, items)
    try:
        # Every file at fault at once, the typed names and the service's rules together.
        errors = bulk.lot_check(lot=lot, chosen=mapping, actor=request.user) | errors
        if errors:
            raise bulk.LotErrors(errors)
        depots = bulk.lot_confirm(lot=lot, chosen=mapping, actor=request.user)
    except bulk.LotErrors as error:
        review = bulk.lot_review(lot, chosen=shown, errors=error.by_row)
        return _render_review(request, candidature, review, status=400, summary=error.messages[0])
    except ValidationError as error:
        review = bulk.lot_review(lot, chosen=shown)
        return _render_review(
            request, candidature, review, status=400, summary=" ".join(error.messages)
        )
    files = len({depot.fichier_id for depot in depots})
    messages.success(
        request,
        f"{files} fichier(s) déposé(s) pour {len(depots)} preuve(s) : la vérification de "
        "chaque fichier (format, taille, antivirus) est en cours, son résultat s’affiche "
        "ci-dessous.",
    )
    return redirect(f"{_dossier_url(candidature)}#suivi-lot")


@editor_ready
@require_POST
def lot_discard(request, pk: int, lot_id: uuid.UUID):
    candidature = _candidature(request, pk)
    lot = _lot(request, candidature, lot_id)
    try:
        bulk.lot_discard(lot=lot, actor=request.user)
    except ValidationError as error:
        return _refused(request, candidature, " ".join(error.messages), 422)
    if _scripted(request):
        return JsonResponse({"abandonne": True})
    messages.info(request, "Dépôt groupé abandonné : aucun fichier n’a été déposé.")
    return redirect(_dossier_url(candidature))


@editor_ready
@require_GET
def lot_progress(request, pk: int, lot_id: uuid.UUID):
    """The checks of a confirmed batch, polled while they run; the page's counter is
    told when a file was decided since the last poll."""
    candidature = _candidature(request, pk)
    lot = _lot(request, candidature, lot_id)
    progress = bulk.lot_progress(lot)
    response = render(
        request,
        "preuves/_lot_progress.html",
        {"candidature": candidature, "lot": lot, "progress": progress},
    )
    seen = request.GET.get("vus", "")
    if seen.isdigit() and int(seen) != progress.decided:
        response["HX-Trigger"] = "fichier-decided"
    return response
