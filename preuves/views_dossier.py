"""The proof dossier of a candidature: the company deposits, the agency instructs.
Every lookup goes through candidatures_visible_to: another company gets a 404."""

from datetime import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from candidatures.enums import CandidatureState, CndaStatus
from candidatures.models import Exigence
from candidatures.permissions import candidatures_visible_to, is_company_member, runs_procedure
from candidatures.views.candidature import editor_ready
from preuves import depot as depot_services
from preuves import instruction as instruction_services
from preuves.enums import Verdict
from preuves.models import Depot, DossierSoumission, VisiteConformite
from preuves.services import format_mo
from preuves.uploads import SizeLimitUploadHandler

S = CandidatureState
STATUS_FILTERS = {
    "manquante": "Manquantes",
    "refusee": "Refusées",
    "en_verification": "En cours de vérification",
    "fournie": "Fournies",
}


def _candidature(request, pk: int):
    return get_object_or_404(
        candidatures_visible_to(request.user).select_related(
            "editeur", "campagne__dsr", "rem_version", "instructeur"
        ),
        pk=pk,
    )


def _filtered(dossier, request):
    status = request.GET.get("statut", "")
    section = request.GET.get("section", "")
    profil = request.GET.get("profil", "")
    sections = []
    for key, title, blocks in dossier.sections:
        if section and key != section:
            continue
        kept = []
        for block in blocks:
            if profil and str(block.exigence.profil_id) != profil:
                continue
            items = [item for item in block.items if not status or item.status == status]
            if items:
                kept.append((block, items))
        if kept:
            sections.append((key, title, kept))
    return sections, {"statut": status, "section": section, "profil": profil}


@editor_ready
@require_GET
def dossier_page(request, pk: int):
    candidature = _candidature(request, pk)
    if candidature.state in {S.BROUILLON, S.ADMIN_SOUMISE, S.ADMIN_VALIDEE, S.ELIGIBILITE_SOUMISE}:
        messages.info(
            request, "L’espace de dépôt des preuves s’ouvre quand l’éligibilité est validée."
        )
        return redirect("candidatures:detail", pk)
    return _render_page(request, candidature)


def _summary_context(request, candidature, dossier, now) -> dict:
    """What the head of the page shows: completeness, submission, receipt, clocks."""
    required = dossier.required_items()
    agency = runs_procedure(request.user)
    return {
        "candidature": candidature,
        "provided": sum(1 for item in required if item.status == "fournie"),
        "required_count": len(required),
        "missing": dossier.missing(),
        "is_member": is_company_member(request.user, candidature),
        "can_submit": candidature.state == S.ELIGIBLE and now < candidature.campagne.j6,
        "cnda_choices": [c for c in CndaStatus.choices if c[0]],
        "soumission": DossierSoumission.objects.filter(candidature=candidature)
        .select_related("receipt")
        .last(),
        "agency": agency,
        "instruction": instruction_services.instruction_time(candidature, now)
        if agency or candidature.dossier_submitted_at
        else None,
    }


def _render_page(request, candidature, *, status=200, **forms):
    """The whole page; `forms` carries a refused instruction form back with its errors
    and what was typed (verdict_errors, verdict_values, complement_errors,
    complement_values)."""
    now = timezone.now()
    dossier = depot_services.dossier(candidature, now=now)
    sections, filters = _filtered(dossier, request)
    context = _summary_context(request, candidature, dossier, now) | {
        "title": f"Dossier de preuves — {candidature.reference}",
        "dossier": dossier,
        "sections": sections,
        "filters": filters,
        "status_filters": STATUS_FILTERS,
        "section_choices": [(key, title) for key, title, _blocks in dossier.sections],
        "profil_choices": candidature.profils.all(),
        "verdict_choices": [
            (Verdict.CONFORME, Verdict.CONFORME.label),
            (Verdict.NON_CONFORME, Verdict.NON_CONFORME.label),
        ],
        "instruction_missing": instruction_services.instruction_missing(candidature)
        if candidature.state == S.EN_INSTRUCTION
        else [],
        "visite": VisiteConformite.objects.filter(candidature=candidature)
        .select_related("recording")
        .first(),
        "now": now,
        "verdict_errors": {},
        "verdict_values": {},
        "complement_errors": {},
        "complement_values": {"exigences": [], "text": ""},
    }
    context.update(forms)
    for _key, _title, blocks in sections:
        for block, _items in blocks:
            block.form_errors = context["verdict_errors"].get(block.exigence.pk, {})
            block.form_values = context["verdict_values"].get(block.exigence.pk)
    return render(request, "preuves/dossier.html", context, status=status)


@editor_ready
@require_GET
def summary_fragment(request, pk: int):
    """The head of the page again, after a deposit or a check changed the count."""
    candidature = _candidature(request, pk)
    now = timezone.now()
    dossier = depot_services.dossier(candidature, now=now)
    return render(
        request, "preuves/_summary.html", _summary_context(request, candidature, dossier, now)
    )


def _item_from(candidature, exigence_id: int, preuve_id: int):
    """The item named in the URL: the body must not be read before the upload handler
    is in place."""
    return depot_services.find_item(candidature, exigence_id, preuve_id or None)


def _item_response(request, candidature, item, *, status=200, error=""):
    """The item's block for the page's script, or a redirect without script."""
    if request.headers.get("X-Upload") or request.htmx:
        item = depot_services.find_item(
            candidature, item.exigence.pk, item.preuve.pk if item.preuve else None
        )
        response = render(
            request,
            "preuves/_item.html",
            {
                "candidature": candidature,
                "item": item,
                "editable": depot_services.depot_editable(
                    candidature, item.exigence, timezone.now()
                ),
                "error": error,
                "is_member": True,
            },
            status=status,
        )
        # The head of the page counts the proofs again (see _summary.html).
        response["HX-Trigger"] = "depot-changed"
        return response
    if error:
        messages.error(request, error)
    return redirect(f"{_dossier_url(candidature)}#item-{item.key}")


def _dossier_url(candidature) -> str:
    return reverse("dossier:page", args=[candidature.pk])


@editor_ready
@require_GET
def item_fragment(request, pk: int, exigence_id: int, preuve_id: int):
    candidature = _candidature(request, pk)
    try:
        item = _item_from(candidature, exigence_id, preuve_id)
    except ValidationError as error:
        raise Http404 from error
    return render(
        request,
        "preuves/_item.html",
        {
            "candidature": candidature,
            "item": item,
            "editable": depot_services.depot_editable(candidature, item.exigence, timezone.now()),
            "is_member": is_company_member(request.user, candidature),
        },
    )


@csrf_exempt
@editor_ready
@require_POST
def depot_upload(request, pk: int, exigence_id: int, preuve_id: int):
    """Files for one expected proof. The size limit of the proof's kind is known before
    the body is read, so the upload stops as soon as a file passes it."""
    candidature = _candidature(request, pk)
    if not is_company_member(request.user, candidature):
        raise PermissionDenied
    try:
        item = _item_from(candidature, exigence_id, preuve_id)
    except ValidationError as error:
        return render(
            request, "preuves/_upload_error.html", {"error": " ".join(error.messages)}, status=400
        )
    request.upload_handlers.insert(0, SizeLimitUploadHandler(request, item.rule.max_bytes))
    return _depot_upload(request, candidature, item)


@csrf_protect
def _depot_upload(request, candidature, item):
    uploads = request.FILES.getlist("files")
    if request.upload_too_large:
        error = (
            f"« {request.upload_too_large} » dépasse la taille maximale de ce type de preuve "
            f"({format_mo(item.rule.max_bytes)}) : rien n’a été enregistré."
        )
        return _item_response(request, candidature, item, status=413, error=error)
    try:
        depot_services.depot_add_files(
            candidature=candidature, item=item, uploads=uploads, actor=request.user
        )
    except ValidationError as error:
        return _item_response(
            request, candidature, item, status=422, error=" ".join(error.messages)
        )
    return _item_response(request, candidature, item)


@editor_ready
@require_POST
def depot_link(request, pk: int, exigence_id: int, preuve_id: int):
    candidature = _candidature(request, pk)
    if not is_company_member(request.user, candidature):
        raise PermissionDenied
    try:
        item = _item_from(candidature, exigence_id, preuve_id)
    except ValidationError as error:
        return render(
            request, "preuves/_upload_error.html", {"error": " ".join(error.messages)}, status=400
        )
    try:
        depot_services.depot_add_link(
            candidature=candidature,
            item=item,
            url=request.POST.get("url", "").strip(),
            actor=request.user,
        )
    except ValidationError as error:
        return _item_response(
            request, candidature, item, status=422, error=" ".join(error.messages)
        )
    return _item_response(request, candidature, item)


@editor_ready
@require_POST
def depot_remove(request, pk: int, depot_id: int):
    candidature = _candidature(request, pk)
    depot = get_object_or_404(Depot, pk=depot_id, candidature=candidature, removed_at=None)
    if not is_company_member(request.user, candidature):
        raise PermissionDenied
    item = depot_services.find_item(candidature, depot.exigence_id, depot.preuve_attendue_id)
    try:
        depot_services.depot_remove(depot=depot, actor=request.user)
    except ValidationError as error:
        return _item_response(
            request, candidature, item, status=422, error=" ".join(error.messages)
        )
    return _item_response(request, candidature, item)


@editor_ready
@require_POST
def cnda_status(request, pk: int):
    candidature = _candidature(request, pk)
    try:
        depot_services.cnda_status_set(
            candidature=candidature,
            status=request.POST.get("cnda_homologation", ""),
            actor=request.user,
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Statut des homologations CNDA enregistré.")
    return redirect("dossier:page", pk)


@editor_ready
@require_POST
def dossier_submit(request, pk: int):
    candidature = _candidature(request, pk)
    try:
        depot_services.dossier_submit(candidature=candidature, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            "Dossier de preuves complet soumis : il prend place dans la file d’instruction. "
            "Le récépissé apparaît sur cette page dans quelques instants.",
        )
    return redirect("dossier:page", pk)


# Instruction (agency)


def _agency_action(service, success: str):
    @editor_ready
    @require_POST
    def view(request, pk: int):
        candidature = _candidature(request, pk)
        if not runs_procedure(request.user):
            raise PermissionDenied
        try:
            service(request, candidature)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, success)
        return redirect("dossier:page", pk)

    return view


def _exigence(request, candidature, key="exigence"):
    value = request.POST.get(key, "")
    return get_object_or_404(
        Exigence, pk=value if value.isdigit() else 0, rem_version=candidature.rem_version
    )


instruction_take = _agency_action(
    lambda request, c: instruction_services.instruction_take(candidature=c, actor=request.user),
    "Candidature prise en instruction.",
)


def _field_errors(error: ValidationError) -> dict[str, str]:
    if hasattr(error, "error_dict"):
        return {field: " ".join(texts) for field, texts in error.message_dict.items()}
    return {"general": " ".join(error.messages)}


@editor_ready
@require_POST
def verdict_record(request, pk: int):
    candidature = _candidature(request, pk)
    if not runs_procedure(request.user):
        raise PermissionDenied
    exigence = _exigence(request, candidature)
    values = {
        "verdict": request.POST.get("verdict", ""),
        "comment": request.POST.get("comment", ""),
    }
    try:
        instruction_services.verdict_record(
            candidature=candidature, exigence=exigence, actor=request.user, **values
        )
    except ValidationError as error:
        return _render_page(
            request,
            candidature,
            status=400,
            verdict_errors={exigence.pk: _field_errors(error)},
            verdict_values={exigence.pk: values},
        )
    messages.success(request, f"Verdict enregistré sur {exigence.identifier}.")
    return redirect(f"{_dossier_url(candidature)}#exigence-{exigence.pk}")


@editor_ready
@require_POST
def complement_request(request, pk: int):
    candidature = _candidature(request, pk)
    if not runs_procedure(request.user):
        raise PermissionDenied
    chosen = [v for v in request.POST.getlist("exigences") if v.isdigit()]
    text = request.POST.get("text", "")
    try:
        instruction_services.complement_request(
            candidature=candidature,
            exigences=list(
                Exigence.objects.filter(rem_version=candidature.rem_version, pk__in=chosen)
            ),
            text=text,
            actor=request.user,
        )
    except ValidationError as error:
        return _render_page(
            request,
            candidature,
            status=400,
            complement_errors=_field_errors(error),
            complement_values={"exigences": [int(v) for v in chosen], "text": text},
        )
    messages.success(request, "Demande de complément envoyée à l’éditeur.")
    return redirect("dossier:page", pk)


instruction_close = _agency_action(
    lambda request, c: instruction_services.instruction_close(candidature=c, actor=request.user),
    "Instruction close : les preuves sont validées.",
)


def _parse_local_datetime(value: str):
    try:
        return timezone.make_aware(datetime.fromisoformat(value))
    except ValueError as error:
        raise ValidationError("Date et heure de la visite attendues.") from error


visite_schedule = _agency_action(
    lambda request, c: instruction_services.visite_schedule(
        candidature=c,
        scheduled_for=_parse_local_datetime(request.POST.get("scheduled_for", "")),
        actor=request.user,
    ),
    "Visite de conformité programmée.",
)


@editor_ready
@require_http_methods(["POST"])
def visite_recording(request, pk: int):
    candidature = _candidature(request, pk)
    upload = request.FILES.get("recording")
    try:
        if upload is None:
            raise ValidationError("Choisissez le fichier de l’enregistrement.")
        instruction_services.visite_recording_upload(
            candidature=candidature, upload=upload, actor=request.user
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, "Enregistrement de la visite reçu : il est en cours de vérification."
        )
    return redirect("dossier:page", pk)
