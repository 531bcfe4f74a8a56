"""The agency's queues."""

from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from candidatures.models import Dsr
from candidatures.permissions import PROCEDURE_ROLES
from candidatures.selectors import candidature as selectors
from segur_portal.permissions import role_required


@role_required(*PROCEDURE_ROLES)
@require_GET
def queues(request, phase: str = "administratif"):
    dsr_code = request.GET.get("dsr", "")
    filter_state = request.GET.get("etat", "")
    now = timezone.now()
    if phase == "preuves":
        title, rows = "Instruction des preuves", proofs_queue(now=now, dsr_code=dsr_code)
    else:
        if phase not in selectors.QUEUES:
            phase = "administratif"
        title, rows = selectors.queue(phase, now=now, dsr_code=dsr_code, filter_state=filter_state)
    return render(
        request,
        "candidatures/instruction/queue.html",
        {
            "title": f"File d’instruction — {title}",
            "phase": phase,
            "queues": [
                *[(key, value[0]) for key, value in selectors.QUEUES.items()],
                ("preuves", "Instruction des preuves"),
            ],
            "rows": rows,
            "dsrs": Dsr.objects.filter(campagnes__isnull=False).distinct().order_by("code"),
            "dsr_code": dsr_code,
            "filter_state": filter_state,
        },
    )


def proofs_queue(*, now, dsr_code: str = ""):
    """First in, first out by reception of the complete dossier, dépriorisées behind."""
    from preuves.instruction import instruction_queue, instruction_time

    candidatures = instruction_queue()
    if dsr_code:
        candidatures = candidatures.filter(campagne__dsr__code=dsr_code)
    return [
        {
            "candidature": candidature,
            "submitted_at": candidature.dossier_submitted_at,
            "instruction": instruction_time(candidature, now),
        }
        for candidature in candidatures
    ]
