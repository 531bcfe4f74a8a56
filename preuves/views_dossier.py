"""The proof dossier of a candidature: the company deposits, the agency instructs.
Every lookup goes through candidatures_visible_to: another company gets a 404."""

from datetime import datetime, timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from candidatures.enums import CandidatureState, CndaStatus
from candidatures.models import Exigence, PreuveAttendue
from candidatures.permissions import candidatures_visible_to, is_company_member, runs_procedure
from candidatures.views.candidature import editor_ready
from preuves import bulk
from preuves import checklist as checklist_services
from preuves import cnda as cnda_services
from preuves import depot as depot_services
from preuves import instruction as instruction_services
from preuves.enums import Verdict
from preuves.instruction import RECORDING_RULE
from preuves.models import Depot, DepotLot, DossierSoumission, VisiteConformite
from preuves.services import format_mo, rule_for_kind
from preuves.uploads import (
    FORM_OVERHEAD_BYTES,
    SizeLimitUploadHandler,
    bounded_upload,
    declared_length,
)

S = CandidatureState
# How long the page keeps telling the checks of a bulk deposit once they are all done.
LOT_FOLLOWED_FOR = timedelta(hours=1)
# Files one deposit request may carry for one expected proof.
MAX_FILES_PER_UPLOAD = 20
STATUS_FILTERS = {
    "manquante": "Manquantes",
    "refusee": "Refusées",
    "en_verification": "En cours de vérification",
    "fournie": "Fournies",
}


def _candidature(request, pk: int):
    return get_object_or_404(
        candidatures_visible_to(request.user)
        .select_related("editeur", "campagne__dsr", "rem_version", "instructeur")
        .prefetch_related("profils"),
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


def _cnda_context(request, candidature, errors=None) -> dict:
    """After the submission, the CNDA homologations still pending: where they stand and,
    for the company, a form per proof and the declaration (preuves.cnda). `errors`
    carries a refused deposit or declaration back: {item key or "certify": message}."""
    if candidature.state not in cnda_services.OPEN_STATES:
        return {"cnda": None, "cnda_open": False}
    errors = errors or {}
    state = cnda_services.cnda_state(candidature)
    for item in state.items:
        item.error = errors.get(item.key, "")
    return {
        "cnda": state,
        "cnda_open": not state.obtained and is_company_member(request.user, candidature),
        "cnda_certify_error": errors.get("certify", ""),
    }


def _submit_items(candidature, provided: int) -> list[str]:
    """What submitting the dossier makes final, said in its confirmation."""
    items = [
        f"Le dossier de {provided} preuve(s) fournie(s) est transmis à l’ANS : l’heure de "
        "réception fixe sa place dans la file d’instruction.",
        "Les preuves ne pourront plus changer, sauf celles d’une exigence visée par une "
        "demande de complément de l’ANS, jusqu’à J7.",
        "Un récépissé listant chaque fichier, sa taille et son empreinte SHA-256 est produit.",
        f"Homologations CNDA déclarées : {candidature.get_cnda_homologation_display()}.",
    ]
    if candidature.cnda_homologation == CndaStatus.EN_COURS_ACTIF:
        items.append(
            "Les preuves d’homologation CNDA resteront à déposer dès leur délivrance : le "
            "référencement ne sera attribué qu’une fois chacune certifiée (DSR §4.4)."
        )
    return items


def _summary_context(request, candidature, dossier, now, cnda_errors=None) -> dict:
    """What the head of the page shows: completeness, submission, receipt, clocks, and
    the CNDA homologations still pending."""
    required = dossier.required_items()
    agency = runs_procedure(request.user)
    provided = sum(1 for item in required if item.status == "fournie")
    is_member = is_company_member(request.user, candidature)
    return _cnda_context(request, candidature, cnda_errors) | {
        "candidature": candidature,
        "provided": provided,
        "submit_items": _submit_items(candidature, provided),
        "required_count": len(required),
        "missing": dossier.missing(),
        "is_member": is_member,
        "next_missing": checklist_services.next_missing(dossier) if is_member else None,
        "can_submit": candidature.state == S.ELIGIBLE and now < candidature.campagne.j6,
        "cnda_choices": [c for c in CndaStatus.choices if c[0]],
        "soumission": DossierSoumission.objects.filter(candidature=candidature)
        .select_related("receipt")
        .last()
        if candidature.dossier_submitted_at
        else None,
        "agency": agency,
        "instruction": instruction_services.instruction_time(candidature, now)
        if agency or candidature.dossier_submitted_at
        else None,
        # Lost 24 h after an unanswered sollicitation, before the sweep records it too.
        "place_lost_at": candidature.depriorisee_at
        or (
            instruction_services.instruction_queue(now)
            .filter(pk=candidature.pk)
            .values_list("place_lost_at", flat=True)
            .first()
            if candidature.state in depot_services.UNDER_INSTRUCTION
            else None
        ),
    }


def _checklist_context(request, candidature, dossier, now) -> dict:
    """The company's view: a summary per section, one line per proof to act on, the
    bulk deposit, the batches waiting for review or being checked."""
    filters = {
        "statut": request.GET.get("statut", checklist_services.DEFAULT_FILTER),
        "section": request.GET.get("section", ""),
        "profil": request.GET.get("profil", ""),
    }
    sections = checklist_services.checklist(dossier, **filters)
    lots = list(
        DepotLot.objects.filter(
            candidature=candidature, editeur=candidature.editeur, expires_at__gt=now
        ).order_by("-created_at")[:5]
    )
    followed = next((lot for lot in lots if lot.confirmed_at), None)
    progress = bulk.lot_progress(followed) if followed else None
    if progress and progress.done and followed.confirmed_at < now - LOT_FOLLOWED_FOR:
        followed = progress = None
    return {
        "sections": sections,
        "filters": filters,
        "status_filters": checklist_services.STATUS_FILTERS,
        "can_deposit": any(block.editable for block in dossier.blocks),
        "lots_pending": [lot for lot in lots if lot.confirmed_at is None],
        "lot": followed,
        "progress": progress,
    }


def _render_page(request, candidature, *, status=200, cnda_errors=None, **forms):
    """The whole page; `forms` carries a refused instruction form back with its errors
    and what was typed (verdict_errors, verdict_values, complement_errors,
    complement_values); `cnda_errors` a refused CNDA deposit or declaration."""
    now = timezone.now()
    dossier = depot_services.dossier(candidature, now=now)
    in_instruction = candidature.state == S.EN_INSTRUCTION
    if is_company_member(request.user, candidature):
        view = _checklist_context(request, candidature, dossier, now)
    else:
        sections, filters = _filtered(dossier, request)
        view = {"sections": sections, "filters": filters, "status_filters": STATUS_FILTERS}
    context = (
        _summary_context(request, candidature, dossier, now, cnda_errors)
        | view
        | {
            "title": f"Dossier de preuves — {candidature.reference}",
            "dossier": dossier,
            "section_choices": [(key, title) for key, title, _blocks in dossier.sections],
            "profil_choices": candidature.profils.all(),
            "verdict_choices": [
                (Verdict.CONFORME, Verdict.CONFORME.label),
                (Verdict.NON_CONFORME, Verdict.NON_CONFORME.label),
            ],
            "instruction_missing": instruction_services.instruction_missing(candidature)
            if in_instruction
            else [],
            "instruction_cnda": instruction_services.instruction_cnda_pending(candidature)
            if in_instruction
            else "",
            "close_items": _close_items(dossier) if in_instruction else [],
            # The visit is scheduled once the instruction has started.
            "visite": VisiteConformite.objects.filter(candidature=candidature)
            .select_related("recording")
            .first()
            if candidature.instruction_started_at
            else None,
            "now": now,
            "verdict_errors": {},
            "verdict_values": {},
            "complement_errors": {},
            "complement_values": {"exigences": [], "text": ""},
        }
    )
    context.update(forms)
    if not context["is_member"]:
        for _key, _title, blocks in context["sections"]:
            for block, _items in blocks:
                block.form_errors = context["verdict_errors"].get(block.exigence.pk, {})
                block.form_values = context["verdict_values"].get(block.exigence.pk)
    return render(request, "preuves/dossier.html", context, status=status)


def _close_items(dossier) -> list[str]:
    """What closing the instruction makes final, said in its confirmation."""
    return [
        f"Les verdicts des {len(dossier.blocks)} exigences deviennent définitifs : les "
        "preuves sont validées et ne changent plus.",
        "Le temps d’instruction s’arrête.",
        "La convention de référencement est émise et adressée à l’éditeur pour signature ; "
        "sa signature inscrit la candidature à la prochaine séance du collège.",
    ]


@editor_ready
@require_GET
def summary_fragment(request, pk: int):
    """The head of the page again, after a deposit or a check changed the count."""
    candidature = _candidature(request, pk)
    now = timezone.now()
    dossier = depot_services.dossier(candidature, now=now)
    # The counter above the summary is a live region: it is updated in place (htmx
    # out-of-band), so that screen readers announce the new count.
    return render(
        request,
        "preuves/_summary.html",
        _summary_context(request, candidature, dossier, now) | {"oob": True},
    )


def _item_from(candidature, exigence_id: int, preuve_id: int):
    """The item named in the URL: the body must not be read before the upload handler
    is in place."""
    return depot_services.find_item(candidature, exigence_id, preuve_id or None)


def _item_context(request, candidature, exigence_id: int, preuve_id: int | None) -> dict:
    """One proof as the dossier sees it (its files, which other proofs each file
    answers), what its files may answer too, and the next missing proof."""
    now = timezone.now()
    current = depot_services.dossier(candidature, now=now)
    key = f"{exigence_id}-{preuve_id or 0}"
    found = next(
        ((item, block) for block in current.blocks for item in block.items if item.key == key),
        None,
    )
    if found is None:
        raise Http404("Cette preuve ne fait pas partie du dossier de la candidature.")
    item, block = found
    is_member = is_company_member(request.user, candidature)
    section_key = next(
        key for key, _title, blocks in current.sections if any(b is block for b in blocks)
    )
    reuse = {}
    if is_member and block.editable:
        labels = bulk.item_labels(current.items)
        targets = [other for b in current.blocks if b.editable for other in b.items]
        for depot in item.depots:
            if depot.fichier is None or depot.fichier.is_refused:
                continue
            linked = {*depot.shared_keys, item.key}
            reuse[depot.pk] = [
                (other.key, labels[other.key])
                for other in targets
                if other.key not in linked
                and depot_services.reuse_problem(depot.fichier, other) is None
            ]
    for depot in item.depots:
        depot.reuse_choices = reuse.get(depot.pk, [])
    return {
        "candidature": candidature,
        "item": item,
        "block": block,
        "editable": block.editable,
        "is_member": is_member,
        "next_missing": checklist_services.next_missing(current, after=item) if is_member else None,
        "section": checklist_services.checklist(current, statut="toutes", section=section_key)[0],
        # Swapped in by htmx (or upload.js through htmx): the checklist's line and its
        # section's counts come along, out of band.
        "oob": bool(request.htmx or request.headers.get("X-Upload")),
    }


def _item_response(request, candidature, item, *, status=200, error="", announce=""):
    """The item's block for the page's script, or a redirect without script."""
    if request.headers.get("X-Upload") or request.htmx:
        context = _item_context(
            request, candidature, item.exigence.pk, item.preuve.pk if item.preuve else None
        )
        response = render(
            request,
            "preuves/_item.html",
            context | {"error": error, "announce": announce},
            status=status,
        )
        # The head of the page counts the proofs again (see _summary.html).
        response["HX-Trigger"] = "depot-changed"
        return response
    if error:
        messages.error(request, error)
    elif announce:
        messages.success(request, announce)
    return redirect(f"{_item_url(candidature, item)}#item-{item.key}")


def _item_url(candidature, item) -> str:
    return reverse(
        "dossier:item",
        args=[candidature.pk, item.exigence.pk, item.preuve.pk if item.preuve else 0],
    )


def _dossier_url(candidature) -> str:
    return reverse("dossier:page", args=[candidature.pk])


@editor_ready
@require_GET
def item_fragment(request, pk: int, exigence_id: int, preuve_id: int):
    """One proof: its block for the page's script (a line of the checklist opens in
    place), or a page of its own without script."""
    candidature = _candidature(request, pk)
    context = _item_context(request, candidature, exigence_id, preuve_id)
    if request.htmx or request.headers.get("X-Fragment"):
        return render(request, "preuves/_item.html", context)
    item = context["item"]
    return render(
        request,
        "preuves/item_page.html",
        context | {"title": f"Preuve {item.identifier} — {candidature.reference}"},
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
    if declared_length(request) > item.rule.max_bytes * MAX_FILES_PER_UPLOAD + FORM_OVERHEAD_BYTES:
        error = (
            f"L’envoi dépasse ce que cette preuve accepte ({MAX_FILES_PER_UPLOAD} fichiers de "
            f"{format_mo(item.rule.max_bytes)} au plus chacun) : rien n’a été enregistré."
        )
        return _item_response(request, candidature, item, status=413, error=error)
    request.upload_handlers.insert(
        0, SizeLimitUploadHandler(request, item.rule.max_bytes, MAX_FILES_PER_UPLOAD)
    )
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
def depot_reuse(request, pk: int, depot_id: int):
    """« Utiliser aussi pour… »: the file of a deposit answers another proof too."""
    candidature = _candidature(request, pk)
    depot = get_object_or_404(
        Depot.objects.select_related("fichier"), pk=depot_id, candidature=candidature
    )
    if not is_company_member(request.user, candidature):
        raise PermissionDenied
    source = depot_services.find_item(candidature, depot.exigence_id, depot.preuve_attendue_id)
    exigence_id, _, preuve_id = request.POST.get("cible", "").partition("-")
    try:
        if not (exigence_id.isdigit() and preuve_id.isdigit()):
            raise ValidationError("Choisissez la preuve à laquelle ce fichier répond aussi.")
        target = depot_services.find_item(candidature, int(exigence_id), int(preuve_id) or None)
        depot_services.depot_reuse(depot=depot, item=target, actor=request.user)
    except ValidationError as error:
        return _item_response(
            request, candidature, source, status=422, error=" ".join(error.messages)
        )
    return _item_response(
        request,
        candidature,
        source,
        announce=f"« {depot.fichier.original_name} » répond aussi à {target.identifier}, "
        "sans nouvel envoi.",
    )


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


def _cnda_max_bytes(request, pk: int, exigence_id: int, preuve_id: int) -> int:
    preuve = PreuveAttendue.objects.filter(pk=preuve_id).only("kind").first()
    return rule_for_kind(preuve.kind).max_bytes if preuve else depot_services.FREE_RULE.max_bytes


@editor_ready
@require_POST
@bounded_upload(_cnda_max_bytes, max_files=MAX_FILES_PER_UPLOAD)
def cnda_deposit(request, pk: int, exigence_id: int, preuve_id: int):
    """The proof of a CNDA homologation delivered after the submission."""
    candidature = _candidature(request, pk)
    item = next(
        (
            item
            for item in cnda_services.cnda_state(candidature).items
            if (item.exigence.pk, item.preuve.pk) == (exigence_id, preuve_id)
        ),
        None,
    )
    if item is None:
        raise Http404("Cette preuve n’est pas une preuve d’homologation CNDA du dossier.")
    try:
        cnda_services.cnda_proof_deposit(
            candidature=candidature,
            item=item,
            uploads=request.FILES.getlist("files"),
            actor=request.user,
        )
    except ValidationError as error:
        return _render_page(
            request, candidature, status=400, cnda_errors={item.key: " ".join(error.messages)}
        )
    messages.success(
        request, f"Preuve {item.identifier} reçue : elle est en cours de vérification."
    )
    return redirect(f"{_dossier_url(candidature)}#cnda")


@editor_ready
@require_POST
def cnda_certify(request, pk: int):
    candidature = _candidature(request, pk)
    try:
        cnda_services.cnda_certify(candidature=candidature, actor=request.user)
    except ValidationError as error:
        return _render_page(
            request, candidature, status=400, cnda_errors={"certify": " ".join(error.messages)}
        )
    messages.success(
        request,
        "Homologations CNDA déclarées certifiées : l’ANS en est informée. Le référencement "
        "pourra être attribué une fois chaque preuve acceptée.",
    )
    return redirect(f"{_dossier_url(candidature)}#cnda")


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
@bounded_upload(RECORDING_RULE.max_bytes)
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
