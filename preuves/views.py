from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from preuves import selectors, services
from segur_portal.security import client_ip


def _fichier_or_404(request, pk):
    # 404, never 403: a file one may not see must not be told apart from no file.
    fichier = selectors.fichier_visible_to(user=request.user, fichier_id=pk)
    if fichier is None:
        raise Http404
    return fichier


@require_GET
def fichier_download(request, pk):
    fichier = _fichier_or_404(request, pk)
    stored = default_storage.open(fichier.storage_name, "rb")
    services.fichier_download_record(
        fichier=fichier, user=request.user, ip_address=client_ip(request)
    )
    response = FileResponse(
        stored,
        as_attachment=True,
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
    return response


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
