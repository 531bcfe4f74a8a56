"""Candidature pages, for the company's users and for the agency. Every lookup goes
through candidatures_visible_to(user): another company's candidature is a 404."""

import re
from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from candidatures.enums import CandidatureState
from candidatures.forms.candidature import (
    RECEIVED_SUFFIX,
    CandidatureAdminForm,
    CandidatureCreateForm,
    ComposantFormSet,
    DistributeurFormSet,
    EligibilityForm,
    MembreFormSet,
    ParcUploadForm,
    ReasonForm,
    RemMoveForm,
)
from candidatures.models import Candidature
from candidatures.parc import MODEL_HEADER
from candidatures.permissions import (
    candidatures_visible_to,
    is_company_member,
    reads_eligibility,
    reads_exchanges,
    runs_procedure,
)
from candidatures.selectors import candidature as selectors
from candidatures.selectors.referentiel import candidature_rem_impact, published_versions
from candidatures.services import candidature as services
from candidatures.services import eligibility as eligibility_services
from candidatures.services.eligibility import PARC_RULE
from candidatures.services.onboarding import cgu_accepted
from candidatures.services.referentiel import candidature_rem_move
from preuves.uploads import bounded_upload
from segur_portal.enums import Role

S = CandidatureState


def editor_ready(view):
    """An editor reaches the deposit space once the address is confirmed, the CGU in
    force accepted and the company declared; otherwise it is sent to that step."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        user = request.user
        if user.role == Role.EDITEUR:
            if user.email_verified_at is None:
                return redirect("signup_pending")
            if not cgu_accepted(user):
                return redirect(f"{_url('cgu')}?next={request.path}")
            if user.editeur_id is None:
                return redirect("candidatures:editeur_declare")
        return view(request, *args, **kwargs)

    return wrapped


def _url(name: str) -> str:
    from django.urls import reverse

    return reverse(name)


def _candidature(request, pk: int) -> Candidature:
    return get_object_or_404(
        candidatures_visible_to(request.user).select_related(
            "editeur", "campagne__dsr", "rem_version", "cnda_depot", "lettre_engagement"
        ),
        pk=pk,
    )


def _error_message(request, error: ValidationError) -> None:
    messages.error(request, " ".join(error.messages))


def _add_service_error(form, error: ValidationError) -> None:
    """A service's refusal, at its field; a version already filed links to its
    candidature."""
    if isinstance(error, services.VersionTaken):
        existing = error.existing
        form.add_error(
            "version_technique",
            format_html(
                '{} <a href="{}">Voir la candidature {}</a>',
                " ".join(error.messages),
                services.candidature_url(existing),
                existing.reference,
            ),
        )
    else:
        form.add_error(None, error)


def _form_errors_message(request, form) -> None:
    """The errors of a form posted from another page, each after its field's label."""
    parts = [
        f"{form.fields[name].label} : {' '.join(errors)}"
        if name in form.fields
        else " ".join(errors)
        for name, errors in form.errors.items()
    ]
    messages.error(request, " ".join(parts))


@editor_ready
@require_http_methods(["GET", "POST"])
def candidature_list(request):
    if runs_procedure(request.user):
        return _agency_candidature_list(request)
    if request.user.role != Role.EDITEUR or request.method != "GET":
        raise PermissionDenied
    candidatures = candidatures_visible_to(request.user).select_related("campagne__dsr")
    return render(
        request,
        "candidatures/candidature_list.html",
        {"title": "Mes candidatures", "candidatures": candidatures},
    )


def _agency_candidature_list(request):
    """Instructors and administrators: every candidature but the drafts, with the
    queues' filters, sorts, assignment and exports (issue 12)."""
    from candidatures.views.pilotage import agency_list_response

    return agency_list_response(
        request,
        queue_name=None,
        template="pilotage/liste.html",
        context={"title": "Candidatures", "heading": "Candidatures"},
        filename="candidatures",
    )


@editor_ready
@require_http_methods(["GET", "POST"])
def candidature_new(request):
    if request.user.role != Role.EDITEUR:
        raise PermissionDenied
    campagnes = services.campagnes_open_for_filing()
    form = CandidatureCreateForm(request.POST or None, campagnes=campagnes)
    if request.method == "POST" and form.is_valid():
        try:
            candidature = services.candidature_create(
                actor=request.user, campagne=form.cleaned_data["campagne"], data=form.cleaned_data
            )
        except ValidationError as error:
            _add_service_error(form, error)
        else:
            messages.success(
                request,
                f"Candidature {candidature.reference} enregistrée en brouillon. Vérifiez-la puis "
                "soumettez-la avant la date limite (J2).",
            )
            return redirect("candidatures:detail", candidature.pk)
    return render(
        request,
        "candidatures/candidature_new.html",
        {"title": "Nouvelle candidature", "form": form, "campagnes": campagnes},
    )


@editor_ready
@require_GET
def candidature_detail(request, pk: int):
    return candidature_detail_render(request, pk)


def candidature_detail_render(
    request, pk: int, *, status=200, phase3_forms=None, reason_form=None, echanges_forms=None
):
    """The candidature's page; `phase3_forms` carries refused réserve forms back, by
    réserve, with their errors (college.views), `echanges_forms` refused message forms
    by sollicitation (candidatures.views.echanges)."""
    from candidatures.views.echanges import sollicitations_context
    from college import phase3

    candidature = _candidature(request, pk)
    now = timezone.now()
    agency = request.user.is_agency
    is_member = is_company_member(request.user, candidature)
    context = {
        "title": f"Candidature {candidature.reference}",
        "candidature": candidature,
        "now": now,
        "jalons": candidature.campagne.jalons(),
        "timeline": selectors.timeline(
            candidature,
            for_agency=agency,
            with_exchanges=reads_exchanges(request.user, candidature),
        ),
        "is_member": is_member,
        "runs_procedure": runs_procedure(request.user),
        "admin_editable": is_member and services.admin_data_editable(candidature, now),
        # First submissions close at J2 and J4: past them the page says so instead of
        # offering a button the server would refuse.
        "j2_passed": now >= candidature.campagne.j2,
        "j4_passed": now >= candidature.campagne.j4,
        "eligibility_editable": is_member
        and eligibility_services.eligibility_editable(candidature, now),
        "admin_missing": services.admin_missing(candidature)
        if candidature.state == S.BROUILLON
        else [],
        "same_version": services.candidature_same_version(
            editeur_id=candidature.editeur_id,
            dsr_id=candidature.campagne.dsr_id,
            version_technique=candidature.version_technique,
            exclude_pk=candidature.pk,
        )
        if is_member and candidature.state == S.BROUILLON
        else None,
        "eligibility_missing": eligibility_services.eligibility_missing(candidature)
        if candidature.state == S.ADMIN_VALIDEE
        else [],
        "reason_form": reason_form or ReasonForm(),
        "profils": candidature.profils.all(),
        # The states in which the page tells the company its next step (phases 1 and 2).
        "editor_step_states": [
            S.BROUILLON,
            S.ADMIN_SOUMISE,
            S.ADMIN_VALIDEE,
            S.ELIGIBILITE_SOUMISE,
            S.ELIGIBLE,
            S.DOSSIER_SOUMIS,
            S.EN_INSTRUCTION,
        ],  # fmt: skip
        "phase3": phase3.for_candidature(candidature, request.user, now, forms=phase3_forms),
        **sollicitations_context(request, candidature, now, forms=echanges_forms),
    }
    return render(request, "candidatures/candidature_detail.html", context, status=status)


@editor_ready
@require_http_methods(["GET", "POST"])
def candidature_admin_edit(request, pk: int):
    candidature = _candidature(request, pk)
    if not is_company_member(request.user, candidature):
        raise PermissionDenied
    now = timezone.now()
    if not services.admin_data_editable(candidature, now):
        messages.error(request, "Les données administratives ne sont plus modifiables.")
        return redirect("candidatures:detail", pk)
    initial = {field: getattr(candidature, field) for field in services.ADMIN_FIELDS}
    initial["date_depot_preuves_prevue"] = candidature.date_depot_preuves_prevue
    form = CandidatureAdminForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.candidature_update_admin(
                candidature=candidature, actor=request.user, data=form.cleaned_data
            )
        except ValidationError as error:
            _add_service_error(form, error)
        else:
            if request.htmx:
                return render(
                    request, "candidatures/_autosave_status.html", {"saved_at": timezone.now()}
                )
            messages.success(request, "Données administratives enregistrées.")
            return redirect("candidatures:detail", pk)
    if request.htmx:
        return render(request, "candidatures/_autosave_status.html", {"form": form}, status=422)
    return render(
        request,
        "candidatures/candidature_admin_edit.html",
        {"title": "Candidature administrative", "candidature": candidature, "form": form},
    )


def _transition_view(service, success: str, *, with_reason: bool = False):
    @editor_ready
    @require_POST
    def view(request, pk: int):
        candidature = _candidature(request, pk)
        kwargs = {"candidature": candidature, "actor": request.user}
        if with_reason:
            form = ReasonForm(request.POST)
            if not form.is_valid():
                messages.error(request, "Indiquez le motif.")
                return redirect("candidatures:detail", pk)
            kwargs["reason"] = form.cleaned_data["reason"]
        try:
            service(**kwargs)
        except ValidationError as error:
            _error_message(request, error)
        else:
            messages.success(request, success)
        return redirect("candidatures:detail", pk)

    return view


submit_admin = _transition_view(
    services.candidature_submit_admin,
    "Candidature administrative soumise : l’ANS l’examine et vous notifiera sa décision.",
)
validate_admin = _transition_view(
    services.candidature_validate_admin, "Candidature administrative validée."
)
submit_eligibility = _transition_view(
    eligibility_services.candidature_submit_eligibility,
    "Formulaire d’éligibilité soumis. Les profils choisis sont désormais définitifs.",
)
validate_eligibility = _transition_view(
    eligibility_services.candidature_validate_eligibility,
    "Éligibilité validée : l’espace de dépôt des preuves est ouvert à l’éditeur.",
)
reject = _transition_view(services.candidature_reject, "Candidature rejetée.", with_reason=True)
withdraw = _transition_view(services.candidature_withdraw, "Candidature retirée.", with_reason=True)


# What one request may carry: the eligibility form's documents (CNDA proof, commitment
# letter, a mandate per member, a document per distributor).
MAX_ELIGIBILITY_FILES = 60
ELIGIBILITY_FILE_MAX_BYTES = 10 * 2**20


def _formset_initial(rows, fields):
    return [{field: getattr(row, field) for field in fields} for row in rows]


# The file inputs of the eligibility form, by name in the POST.
DOCUMENT_SLOT = re.compile(r"(cnda_depot|lettre_engagement|membres-\d+-mandat)")


def _receive_documents(request, candidature: Candidature):
    """Store each document chosen in this post at once, and resolve those received by an
    earlier post (hidden fields): a form error then shows "fichier reçu" and keeps them,
    instead of asking for them again. Returns the POST data with the hidden fields set,
    the documents by input name, and the refusals by input name."""
    data = request.POST.copy()
    received, refused = {}, {}
    for key in request.POST:
        slot = key.removesuffix(RECEIVED_SUFFIX)
        if key.endswith(RECEIVED_SUFFIX) and DOCUMENT_SLOT.fullmatch(slot):
            fichier = selectors.eligibility_received_file(
                candidature=candidature, fichier_id=request.POST[key]
            )
            if fichier is None:
                data.pop(key)
            else:
                received[slot] = fichier
    for slot, upload in request.FILES.items():
        if not DOCUMENT_SLOT.fullmatch(slot):
            continue
        try:
            fichier = eligibility_services.eligibility_file_receive(
                candidature=candidature,
                actor=request.user,
                field=slot.rsplit("-", 1)[-1],
                upload=upload,
            )
        except ValidationError as error:
            refused[slot] = error
        else:
            received[slot] = fichier
            data[slot + RECEIVED_SUFFIX] = str(fichier.pk)
    return data, received, refused


@editor_ready
@require_http_methods(["GET", "POST"])
@bounded_upload(ELIGIBILITY_FILE_MAX_BYTES, max_files=MAX_ELIGIBILITY_FILES)
def eligibility_edit(request, pk: int):
    candidature = _candidature(request, pk)
    if not is_company_member(request.user, candidature):
        raise PermissionDenied
    now = timezone.now()
    if not eligibility_services.eligibility_editable(candidature, now):
        messages.error(request, "Le formulaire d’éligibilité n’est pas modifiable maintenant.")
        return redirect("candidatures:detail", pk)
    frozen = eligibility_services.profiles_frozen(candidature)
    initial = {
        "nie": candidature.nie,
        "nil": candidature.nil,
        "groupement": candidature.groupement,
        "distribue": candidature.distribue,
        "profils": list(candidature.profils.all()),
        **{name: getattr(candidature, name) for name in EligibilityForm.V1_FIELDS},
    }
    data, received, refused = None, {}, {}
    if request.method == "POST":
        data, received, refused = _receive_documents(request, candidature)
    form = EligibilityForm(data, initial=initial, candidature=candidature, profiles_frozen=frozen)
    form.received = received
    composants = ComposantFormSet(
        data,
        prefix="composants",
        initial=_formset_initial(
            candidature.composants.all(),
            ["editeur_nom", "nom_commercial", "version", "nil", "service_socle"],
        ),
    )
    membres_rows = list(candidature.membres_groupement.select_related("mandat"))
    membres = MembreFormSet(
        data,
        prefix="membres",
        initial=_formset_initial(membres_rows, ["raison_sociale", "siret"]),
    )
    for membre_form, row in zip(membres.forms, membres_rows, strict=False):
        membre_form.stored_mandat = row.mandat
    for membre_form in membres.forms:
        membre_form.received_mandat = received.get(f"{membre_form.prefix}-mandat")
    distributeurs = DistributeurFormSet(
        data,
        prefix="distributeurs",
        initial=_formset_initial(
            candidature.distributeurs.all(),
            ["raison_sociale", "siret", "mandat_signe_le", "mandat_fin_le"],
        ),
    )
    formsets = [composants, membres, distributeurs]
    valid = request.method == "POST" and all(
        [form.is_valid(), *(formset.is_valid() for formset in formsets)]
    )
    for slot, error in refused.items():
        prefix, _, name = slot.rpartition("-")
        target = next((f for f in membres.forms if f.prefix == prefix), form) if prefix else form
        target.add_error(name, error)
        valid = False
    if valid:
        kept = [
            [
                f.cleaned_data
                for f in formset.forms
                if f.cleaned_data and not f.cleaned_data.get("DELETE")
            ]
            for formset in formsets
        ]
        uploads = {name: received.get(name) for name in ("cnda_depot", "lettre_engagement")}
        membre_forms = [
            f for f in membres.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")
        ]
        for index, membre_form in enumerate(membre_forms):
            uploads[("mandat", index)] = received.get(f"{membre_form.prefix}-mandat")
        try:
            eligibility_services.eligibility_save(
                candidature=candidature,
                actor=request.user,
                data=form.cleaned_data | {"profils": form.cleaned_data.get("profils") or []},
                composants=[_without(row, "DELETE") for row in kept[0]],
                membres=[_without(row, "DELETE", "mandat", "mandat_recu") for row in kept[1]],
                distributeurs=[_without(row, "DELETE") for row in kept[2]],
                uploads=uploads,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Formulaire d’éligibilité enregistré.")
            return redirect("candidatures:eligibility", pk)
    return render(
        request,
        "candidatures/eligibility_edit.html",
        {
            "title": "Formulaire d’éligibilité",
            "candidature": candidature,
            "form": form,
            "composants": composants,
            "membres": membres,
            "distributeurs": distributeurs,
            "profiles_frozen": frozen,
            "parc_form": ParcUploadForm(),
            "versions": candidature.versions_parc.all(),
            "missing": eligibility_services.eligibility_missing(candidature),
            "parc_header": MODEL_HEADER,
        },
    )


def _without(row: dict, *keys) -> dict:
    return {key: value for key, value in row.items() if key not in keys}


@editor_ready
@require_GET
def eligibility_read(request, pk: int):
    """The whole eligibility form, read-only, with every annex: for the company and for
    the agents who validate it (never the collège, docs/SECURITY.md)."""
    candidature = _candidature(request, pk)
    if not reads_eligibility(request.user, candidature):
        raise PermissionDenied
    candidature = selectors.eligibility_record(candidature.pk)
    now = timezone.now()
    return render(
        request,
        "candidatures/eligibility_read.html",
        {
            "title": f"Formulaire d’éligibilité — {candidature.reference}",
            "candidature": candidature,
            "runs_procedure": runs_procedure(request.user),
            "eligibility_editable": is_company_member(request.user, candidature)
            and eligibility_services.eligibility_editable(candidature, now),
            "wave_1_fields": [
                (EligibilityForm.base_fields[name].label, getattr(candidature, name))
                for name in EligibilityForm.V1_FIELDS
            ],
        },
    )


@editor_ready
@require_POST
@bounded_upload(PARC_RULE.max_bytes)
def parc_upload(request, pk: int):
    candidature = _candidature(request, pk)
    if not is_company_member(request.user, candidature):
        raise PermissionDenied
    form = ParcUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "Choisissez le fichier de la liste des versions.")
        return redirect("candidatures:eligibility", pk)
    try:
        parsed = eligibility_services.parc_upload(
            candidature=candidature, actor=request.user, upload=form.cleaned_data["file"]
        )
    except ValidationError as error:
        _error_message(request, error)
        return redirect("candidatures:eligibility", pk)
    if not parsed.ok:
        return render(
            request,
            "candidatures/parc_errors.html",
            {"title": "Liste des versions refusée", "candidature": candidature, "parsed": parsed},
            status=422,
        )
    messages.success(
        request,
        f"Liste des versions reçue ({len(parsed.versions)} version(s)) : elle est publiée sur "
        "la page publique du parc.",
    )
    return redirect("candidatures:eligibility", pk)


@editor_ready
@require_http_methods(["GET", "POST"])
def rem_move(request, pk: int):
    """The agency moves a candidature to another published REM version, after reading
    what it adds and removes from the candidature's expected proofs."""
    candidature = _candidature(request, pk)
    if not runs_procedure(request.user):
        raise PermissionDenied
    versions = published_versions(candidature.dsr).exclude(pk=candidature.rem_version_id)
    target = None
    wanted = request.POST.get("version") or request.GET.get("version")
    if wanted and wanted.isdigit():
        target = get_object_or_404(versions, pk=wanted)
    form = RemMoveForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and target is not None and form.is_valid():
        try:
            candidature_rem_move(
                candidature=candidature,
                target=target,
                impact_digest=request.POST.get("digest", ""),
                actor=request.user,
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                f"La candidature suit désormais la version {target.label} du REM ; "
                "l’éditeur en est notifié.",
            )
            return redirect("candidatures:detail", pk)
    impact = candidature_rem_impact(candidature=candidature, target=target) if target else None
    return render(
        request,
        "candidatures/rem_move.html",
        {
            "title": "Changer de version du REM",
            "candidature": candidature,
            "versions": versions,
            "target": target,
            "impact": impact,
            "form": form,
        },
        status=422 if form.errors else 200,
    )
