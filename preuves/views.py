from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from preuves import selectors, services
from preuves.enums import Consultation
from segur_portal.security import client_ip


def _fichier_or_404(request, pk):
    # 404, never 403: a file one may not see must not be told apart from no file.
    fichier = selectors.fichier_visible_to(user=request.user, fichier_id=pk)
    if fichier is None:
        raise Http404
    return fichier


# What a previewed file may do in the browser: nothing but be shown. `sandbox` gives
# the framed document a unique origin, no script, no form, no navigation of the page
# around it (Chromium refuses a PDF in an <iframe sandbox>, so the response carries
# it); only the portal's own pages may frame it.
PREVIEW_CSP = (
    "default-src 'none'; img-src 'self'; media-src 'self'; sandbox; frame-ancestors 'self'"
)


@require_GET
def fichier_download(request, pk):
    """The file as an attachment; with ?apercu=1, a file whose type the worker verified
    as one the browser shows (Fichier.preview_kind) comes inline. Both are logged."""
    fichier = _fichier_or_404(request, pk)
    if fichier.is_infected:
        # Kept for the record, never served to anyone.
        raise Http404
    inline = request.GET.get("apercu") == "1" and bool(fichier.preview_kind)
    stored = default_storage.open(fichier.storage_name, "rb")
    services.fichier_download_record(
        fichier=fichier,
        user=request.user,
        ip_address=client_ip(request),
        kind=Consultation.APERCU if inline else Consultation.TELECHARGEMENT,
    )
    response = FileResponse(
        stored,
        as_attachment=not inline,
        filename=fichier.original_name,
        # Until a worker has read the content, the browser gets no type to act upon.
        content_type=(
            fichier.detected_mime
            if fichier.is_accepted and fichier.detected_mime
            else "application/octet-stream"
        ),
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    if inline:
        response["Content-Security-Policy"] = PREVIEW_CSP
        response["X-Frame-Options"] = "SAMEORIGIN"
    return response


@require_GET
def fichier_preview(request, pk):
    """A page (or, under htmx, the fragment) that shows a file in place: the PDF in the
    browser's viewer, an image scaled, a video in its player; any other file offers its
    download. The file itself comes from fichier_download, which checks and logs."""
    fichier = _fichier_or_404(request, pk)
    if fichier.is_infected:
        raise Http404
    template = "preuves/_preview.html" if request.htmx else "preuves/preview.html"
    return render(
        request, template, {"fichier": fichier, "title": f"Aperçu — {fichier.original_name}"}
    )


@require_GET
@never_cache
def fichier_status(request, pk):
    """The status badge, polled by htmx while the check runs."""
    fichier = _fichier_or_404(request, pk)
    response = render(request, "preuves/_fichier_statut.html", {"fichier": fichier})
    if not fichier.is_pending:
        # The page around the badge (a proof's completeness) refreshes on this event.
        response["HX-Trigger"] = "fichier-decided"
    return response
