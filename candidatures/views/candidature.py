"""Candidature pages, for the company's users and for the agency. Every lookup goes
through candidatures_visible_to(user): another company's candidature is a 404."""

from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from candidatures.enums import CandidatureState, SollicitationStatus
from candidatures.forms.candidature import (
    CandidatureAdminForm,
    CandidatureCreateForm,
    ComposantFormSet,
    DistributeurFormSet,
    EligibilityForm,
    MembreFormSet,
    ParcUploadForm,
    ReasonForm,
    SollicitationForm,
)
from candidatures.models import Candidature, Sollicitation
from candidatures.parc import MODEL_HEADER
from candidatures.permissions import candidatures_visible_to, is_company_member, runs_procedure
from candidatures.selectors import candidature as selectors
from candidatures.selectors.referentiel import candidature_rem_impact, published_versions
from candidatures.services import candidature as services
from candidatures.services import eligibility as eligibility_services
from candidatures.services import sollicitation as sollicitation_services
from candidatures.services.onboarding import cgu_accepted
from candidatures.services.referentiel import candidature_rem_move
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


@editor_ready
@require_GET
def candidature_list(request):
    if request.user.role != Role.EDITEUR:
        raise PermissionDenied
    candidatures = candidatures_visible_to(request.user).select_related("campagne__dsr")
    return render(
        request,
        "candidatures/candidature_list.html",
        {"title": "Mes candidatures", "candidatures": candidatures},
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
            form.add_error(None, error)
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


def candidature_detail_render(request, pk: int, *, status=200, phase3_forms=None, reason_form=None):
    """The candidature's page; `phase3_forms` carries refused réserve forms back, by
    réserve, with their errors (college.views)."""
    from college import phase3

    candidature = _candidature(request, pk)
    now = timezone.now()
    agency = request.user.is_agency
    sollicitations = list(
        candidature.sollicitations.select_related("opened_by").prefetch_related(
            "messages__author", "messages__fichiers"
        )
    )
    for sollicitation in sollicitations:
        sollicitation.clocks = selectors.sollicitation_clocks(sollicitation, now)
        sollicitation.answerable = sollicitation_services.answerable(sollicitation, now)
    is_member = is_company_member(request.user, candidature)
    context = {
        "title": f"Candidature {candidature.reference}",
        "candidature": candidature,
        "now": now,
        "jalons": candidature.campagne.jalons(),
        "timeline": selectors.timeline(candidature, for_agency=agency),
        "sollicitations": sollicitations,
        "is_member": is_member,
        "runs_procedure": runs_procedure(request.user),
        "admin_editable": is_member and services.admin_data_editable(candidature, now),
        "eligibility_editable": is_member
        and eligibility_services.eligibility_editable(candidature, now),
        "admin_missing": services.admin_missing(candidature)
        if candidature.state == S.BROUILLON
        else [],
        "eligibility_missing": eligibility_services.eligibility_missing(candidature)
        if candidature.state == S.ADMIN_VALIDEE
        else [],
        "can_open_sollicitation": runs_procedure(request.user)
        and sollicitation_services.phase_of(candidature) is not None
        and not any(s.status == SollicitationStatus.OUVERTE for s in sollicitations),
        "sollicitation_form": SollicitationForm(),
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
            form.add_error(None, error)
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


def _formset_initial(rows, fields):
    return [{field: getattr(row, field) for field in fields} for row in rows]


@editor_ready
@require_http_methods(["GET", "POST"])
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
    data = request.POST if request.method == "POST" else None
    files = request.FILES if request.method == "POST" else None
    form = EligibilityForm(
        data, files, initial=initial, candidature=candidature, profiles_frozen=frozen
    )
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
        files,
        prefix="membres",
        initial=_formset_initial(membres_rows, ["raison_sociale", "siret"]),
    )
    for membre_form, row in zip(membres.forms, membres_rows, strict=False):
        membre_form.stored_mandat = row.mandat
    distributeurs = DistributeurFormSet(
        data,
        prefix="distributeurs",
        initial=_formset_initial(
            candidature.distributeurs.all(),
            ["raison_sociale", "siret", "mandat_signe_le", "mandat_fin_le"],
        ),
    )
    formsets = [composants, membres, distributeurs]
    if request.method == "POST" and form.is_valid() and all(f.is_valid() for f in formsets):
        kept = [
            [
                f.cleaned_data
                for f in formset.forms
                if f.cleaned_data and not f.cleaned_data.get("DELETE")
            ]
            for formset in formsets
        ]
        uploads = {
            name: form.cleaned_data.get(name) for name in ("cnda_depot", "lettre_engagement")
        }
        membre_forms = [
            f for f in membres.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")
        ]
        for index, membre_form in enumerate(membre_forms):
            uploads[("mandat", index)] = membre_form.cleaned_data.get("mandat")
        try:
            eligibility_services.eligibility_save(
                candidature=candidature,
                actor=request.user,
                data=form.cleaned_data | {"profils": form.cleaned_data.get("profils") or []},
                composants=[_without(row, "DELETE") for row in kept[0]],
                membres=[_without(row, "DELETE", "mandat") for row in kept[1]],
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
@require_POST
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
@require_POST
def sollicitation_open(request, pk: int):
    candidature = _candidature(request, pk)
    if not runs_procedure(request.user):
        raise PermissionDenied
    form = SollicitationForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            sollicitation_services.sollicitation_open(
                candidature=candidature,
                actor=request.user,
                text=form.cleaned_data["text"],
                files=form.cleaned_data["files"],
            )
        except ValidationError as error:
            _error_message(request, error)
        else:
            messages.success(request, "Sollicitation envoyée à l’éditeur.")
    else:
        messages.error(request, "Écrivez la demande adressée à l’éditeur.")
    return redirect("candidatures:detail", pk)


@editor_ready
@require_POST
def sollicitation_answer(request, pk: int, sid: int):
    candidature = _candidature(request, pk)
    sollicitation = get_object_or_404(Sollicitation, pk=sid, candidature=candidature)
    if not is_company_member(request.user, candidature):
        raise PermissionDenied
    form = SollicitationForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            sollicitation_services.sollicitation_answer(
                sollicitation=sollicitation,
                actor=request.user,
                text=form.cleaned_data["text"],
                files=form.cleaned_data["files"],
            )
        except ValidationError as error:
            _error_message(request, error)
        else:
            messages.success(request, "Réponse envoyée à l’ANS.")
    else:
        messages.error(request, "Écrivez votre réponse.")
    return redirect("candidatures:detail", pk)


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
    if request.method == "POST" and target is not None:
        try:
            candidature_rem_move(
                candidature=candidature,
                target=target,
                impact_digest=request.POST.get("digest", ""),
                actor=request.user,
            )
        except ValidationError as error:
            _error_message(request, error)
        else:
            messages.success(request, f"La candidature suit désormais le REM {target.label}.")
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
        },
    )
