"""The agency's queues: administrative candidatures, eligibility, proofs."""

from django.http import Http404
from django.views.decorators.http import require_http_methods

from candidatures.permissions import PROCEDURE_ROLES
from candidatures.selectors.pilotage import QUEUES
from candidatures.views.pilotage import agency_list_response
from segur_portal.permissions import role_required


@role_required(*PROCEDURE_ROLES)
@require_http_methods(["GET", "POST"])
def queues(request, phase: str = "administratif"):
    if phase not in QUEUES:
        # A mistyped queue is not found, rather than another queue under its URL.
        raise Http404("Cette file d’instruction n’existe pas.")
    queue = QUEUES[phase]
    return agency_list_response(
        request,
        queue_name=phase,
        template="pilotage/liste.html",
        context={
            "title": f"File d’instruction — {queue.title}",
            "heading": "File d’instruction",
            "queues": [(key, value.title) for key, value in QUEUES.items()],
        },
        filename=f"file-{phase}",
    )
