"""The review workspace of a proof dossier, for the agency: every requirement with its
proofs, the verdict recorded in place (htmx swaps the requirement's block), filters
with counts, one verdict for many requirements, previews, what changed since the last
verdict, reuse of one content, who saw what, and the whole dossier as one archive.

The instructors and administrators act here; the collège reads it for the dossiers on
its agenda (docs/SECURITY.md); the company has its own dossier page (403 here, another
company 404)."""

from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import prefetch_related_objects
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from candidatures.enums import CandidatureState
from candidatures.models import Exigence
from candidatures.permissions import candidatures_visible_to, runs_procedure
from candidatures.views.candidature import editor_ready
from preuves import archive as archive_services
from preuves import instruction as instruction_services
from preuves import selectors, services
from preuves.enums import Consultation, Verdict
from segur_portal.enums import Role
from segur_portal.security import client_ip

CONSULTATIONS_PER_PAGE = 50
VERDICT_CHOICES = [
    (Verdict.CONFORME, Verdict.CONFORME.label),
    (Verdict.NON_CONFORME, Verdict.NON_CONFORME.label),
]
BULK_CHOICES = [*VERDICT_CHOICES, (Verdict.COMPLEMENT, "Demander un complément")]


def _candidature(request, pk: int, *, related: bool = True):
    """`related`: with what the pages show of it (company, campaign, REM, instructor);
    a verdict's answer needs the candidature's own row only."""
    visible = candidatures_visible_to(request.user)
    if related:
        visible = visible.select_related("editeur", "campagne__dsr", "rem_version", "instructeur")
    return get_object_or_404(visible, pk=pk)


def _reader(request, pk: int):
    """The candidature, for the agency: the collège reads (on its agenda only, else
    404 like any other), the instructors and administrators act."""
    candidature = _candidature(request, pk)
    if not (runs_procedure(request.user) or request.user.role == Role.COLLEGE):
        raise PermissionDenied
    return candidature


def _actor(request, pk: int, *, related: bool = True):
    candidature = _candidature(request, pk, related=related)
    if not runs_procedure(request.user):
        raise PermissionDenied
    return candidature


def _filters(data) -> dict[str, str]:
    statut = data.get("statut", "")
    return {
        "statut": statut if statut in selectors.REVIEW_FILTERS else "",
        "section": data.get("section", "")[:100],
    }


def _review_url(candidature, filters: dict, anchor: str = "") -> str:
    query = urlencode({key: value for key, value in filters.items() if value})
    return (
        reverse("dossier:review", args=[candidature.pk])
        + (f"?{query}" if query else "")
        + (f"#{anchor}" if anchor else "")
    )


def _context(request, candidature, index) -> dict:
    agency = runs_procedure(request.user)
    counts = index.counts()
    return {
        "candidature": candidature,
        "agency": agency,
        "can_record": agency and candidature.state == CandidatureState.EN_INSTRUCTION,
        "total": len(index.order),
        "sections": index.sections(),
        "reused_here": index.reused_here,
        "reused_elsewhere": index.reused_elsewhere,
        "verdict_choices": VERDICT_CHOICES,
        "filter_choices": [
            (key, label, counts[key]) for key, label in selectors.REVIEW_FILTERS.items()
        ],
    }


def _render_page(request, candidature, review, *, status=200, block_errors=None, bulk=None):
    """The whole page; `block_errors` carries a refused verdict back to its block
    (exigence pk, errors, values), `bulk` a refused bulk action (errors, values)."""
    filters = _filters(request.GET if request.method == "GET" else request.POST)
    blocks = review.filtered(**filters)
    if block_errors:
        exigence_pk, errors, values = block_errors
        for block in blocks:
            if block.exigence.pk == exigence_pk:
                block.errors, block.values = errors, values
    context = _context(request, candidature, review.index) | {
        "title": f"Revue du dossier de preuves — {candidature.reference}",
        "blocks": blocks,
        "filters": filters,
        "bulk_choices": BULK_CHOICES,
        "bulk_errors": (bulk or ({}, {}))[0],
        "bulk_values": (bulk or ({}, {"exigences": []}))[1],
        "instruction": instruction_services.instruction_time(candidature),
        "tab": "revue",
    }
    return render(request, "preuves/review.html", context, status=status)


@require_GET
def review_page(request, pk: int):
    candidature = _reader(request, pk)
    review = selectors.review_dossier(candidature, agency=runs_procedure(request.user))
    return _render_page(request, candidature, review)


def _field_errors(error: ValidationError) -> dict[str, str]:
    if hasattr(error, "error_dict"):
        return {field: " ".join(texts) for field, texts in error.message_dict.items()}
    return {"general": " ".join(error.messages)}


@require_POST
def review_verdict(request, pk: int, exigence_id: int):
    """One verdict. Under htmx the answer is the requirement's block alone (its result
    announced, the counts updated out of band): no reload, the filters and the scroll
    stay. A refused verdict comes back as 200 with the error at its field, so that
    htmx swaps it in."""
    candidature = _actor(request, pk, related=False)
    # Read once for the check of the verdict and for the index that answers.
    prefetch_related_objects([candidature], "profils")
    exigence = get_object_or_404(
        Exigence.objects.select_related("profil"),
        pk=exigence_id,
        rem_version_id=candidature.rem_version_id,
    )
    values = {
        "verdict": request.POST.get("verdict", ""),
        "comment": request.POST.get("comment", ""),
    }
    errors, recorded = {}, None
    try:
        recorded = instruction_services.verdict_record(
            candidature=candidature, exigence=exigence, actor=request.user, **values
        )
    except ValidationError as error:
        errors = _field_errors(error)
    if not request.htmx:
        if errors:
            candidature = _actor(request, pk)
            prefetch_related_objects([candidature], "profils")
            review = selectors.review_dossier(candidature, agency=True)
            return _render_page(
                request, candidature, review, status=400, block_errors=(exigence.pk, errors, values)
            )
        messages.success(request, f"Verdict enregistré sur {exigence.identifier}.")
        return redirect(_back(request, candidature, f"exigence-{exigence.pk}"))
    # Only this requirement is read again, and the light index that counts.
    index = selectors.review_index(candidature, agency=True)
    # The verdict just recorded is the one in force: not read again.
    block = selectors.review_block(candidature, exigence, index=index, verdict=recorded)
    if block is None:
        raise Http404("Cette exigence ne fait pas partie du dossier de la candidature.")
    block.errors, block.values, block.recorded = errors, values if errors else {}, not errors
    context = _context(request, candidature, index) | {
        "rb": block,
        "oob": True,
        "announcement": (
            f"Verdict « {block.verdict.get_verdict_display()} » enregistré sur "
            f"{exigence.identifier}."
            if not errors
            else f"Verdict non enregistré sur {exigence.identifier} : corrigez l’erreur signalée."
        ),
    }
    return render(request, "preuves/review_block_response.html", context)


def _back(request, candidature, anchor: str) -> str:
    """Without script, back to the workspace as it was (filters in its address)."""
    referer = request.headers.get("Referer", "")
    base = reverse("dossier:review", args=[candidature.pk])
    path = urlsplit(referer)
    if url_has_allowed_host_and_scheme(referer, {request.get_host()}) and path.path == base:
        return f"{base}{'?' + path.query if path.query else ''}#{anchor}"
    return f"{base}#{anchor}"


@require_POST
def review_bulk(request, pk: int):
    """One verdict for the ticked requirements (after a confirmation naming how many);
    « complément » sends one request for complements on all of them."""
    candidature = _actor(request, pk)
    chosen = [value for value in request.POST.getlist("exigences") if value.isdigit()]
    exigences = list(
        Exigence.objects.filter(rem_version=candidature.rem_version, pk__in=chosen).order_by(
            "position"
        )
    )
    verdict = request.POST.get("verdict", "")
    comment = request.POST.get("comment", "")
    try:
        if verdict == Verdict.COMPLEMENT:
            instruction_services.complement_request(
                candidature=candidature, exigences=exigences, text=comment, actor=request.user
            )
        else:
            instruction_services.verdicts_record(
                candidature=candidature,
                exigences=exigences,
                verdict=verdict,
                comment=comment,
                actor=request.user,
            )
    except ValidationError as error:
        errors = _field_errors(error)
        if "text" in errors:
            errors["comment"] = errors.pop("text")
        review = selectors.review_dossier(candidature, agency=True)
        return _render_page(
            request,
            candidature,
            review,
            status=400,
            bulk=(
                errors,
                {"exigences": [int(v) for v in chosen], "verdict": verdict, "comment": comment},
            ),
        )
    label = dict(BULK_CHOICES)[verdict]
    messages.success(request, f"{label} : enregistré sur {len(exigences)} exigence(s) en une fois.")
    return redirect(_review_url(candidature, _filters(request.POST)))


@require_GET
def review_consultations(request, pk: int):
    """Who downloaded or previewed which file of the candidature, when, from where."""
    candidature = _actor(request, pk)
    page = Paginator(selectors.consultations(candidature), CONSULTATIONS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    proofs = selectors.proofs_of(candidature, [row.fichier_id for row in page])
    for row in page:
        row.proofs = proofs.get(row.fichier_id, [])
    return render(
        request,
        "preuves/review_consultations.html",
        {
            "title": f"Consultations des fichiers — {candidature.reference}",
            "candidature": candidature,
            "page_obj": page,
            "agency": True,
            "tab": "consultations",
        },
    )


@editor_ready
@require_GET
def dossier_archive(request, pk: int):
    """The whole dossier as one ZIP, for whoever reads the dossier: the company its
    own, the agency any, the collège those on its agenda. Each file is logged."""
    candidature = _candidature(request, pk)
    archive = archive_services.dossier_archive(candidature)
    services.fichier_downloads_record(
        fichiers=archive.fichiers,
        user=request.user,
        ip_address=client_ip(request),
        kind=Consultation.ARCHIVE,
    )
    response = StreamingHttpResponse(archive.stream, content_type="application/zip")
    response["Content-Length"] = str(len(archive.stream))
    response["Content-Disposition"] = f'attachment; filename="{archive.filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
