"""Administrator screens of the référentiel: REM import, preview, publication, campaigns."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from candidatures.enums import RemStatus
from candidatures.forms.referentiel import CampagneForm, ProofKindForm, RemImportForm
from candidatures.models import Campagne, Dsr, PreuveAttendue, RemVersion
from candidatures.selectors import referentiel as selectors
from candidatures.services import referentiel as services
from preuves.uploads import bounded_upload
from segur_portal.enums import Role
from segur_portal.permissions import role_required

# The REM sheet: its form says 20 Mo.
REM_FILE_MAX_BYTES = 20 * 2**20


@role_required(Role.ADMIN)
@require_GET
def home(request):
    dsrs = (
        Dsr.objects.select_related("couloir")
        .annotate(
            published=Count(
                "rem_versions",
                filter=Q(rem_versions__status=RemStatus.PUBLISHED),
                distinct=True,
            ),
            drafts=Count(
                "rem_versions", filter=Q(rem_versions__status=RemStatus.DRAFT), distinct=True
            ),
            campaign_count=Count("campagnes", distinct=True),
        )
        .order_by("-wave", "code")
    )
    drafts = RemVersion.objects.filter(status=RemStatus.DRAFT).select_related("dsr", "imported_by")
    return render(
        request,
        "candidatures/referentiel_admin/home.html",
        {"title": "Administration du référentiel", "dsrs": dsrs, "drafts": drafts},
    )


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
@bounded_upload(REM_FILE_MAX_BYTES)
def rem_import(request, code: str):
    dsr = get_object_or_404(Dsr, code=code)
    form = RemImportForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = services.rem_version_import(
                dsr=dsr,
                file=upload,
                filename=upload.name,
                label=form.cleaned_data["label"],
                published_on=form.cleaned_data["published_on"],
                default_perimetre=form.cleaned_data["default_perimetre"],
                rem=form.cleaned_data["rem"].strip(),
                actor=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if result.version is not None:
                messages.success(
                    request,
                    f"Feuille lue sans erreur : la version « {result.version.label} » est "
                    "enregistrée en brouillon. Vérifiez-la avant de la publier.",
                )
                return redirect("referentiel_admin:version", result.version.pk)
    return render(
        request,
        "candidatures/referentiel_admin/rem_import.html",
        {
            "title": f"Importer un REM — {dsr.code}",
            "dsr": dsr,
            "form": form,
            "errors": result.parsed.errors if result else [],
        },
        status=422 if result and result.version is None else 200,
    )


@role_required(Role.ADMIN)
@require_GET
def version_preview(request, pk: int):
    version = get_object_or_404(RemVersion.objects.select_related("dsr", "imported_by"), pk=pk)
    current = selectors.current_rem_version(version.dsr)
    compare_to = current if current and current.pk != version.pk else None
    defaulted = (
        PreuveAttendue.objects.filter(scenario__exigence__rem_version=version)
        .filter(Q(kind_rule="defaut") | Q(kind_corrected_by__isnull=False))
        .select_related("scenario__exigence", "kind_corrected_by")
        .order_by("scenario__exigence__position", "scenario__position", "position")
    )
    return render(
        request,
        "candidatures/referentiel_admin/version_preview.html",
        {
            "title": f"REM {version.dsr.code} — {version.label}",
            "version": version,
            "counts": selectors.rem_counts(version),
            "compare_to": compare_to,
            "diff": selectors.rem_diff(compare_to, version) if compare_to else None,
            "defaulted": defaulted,
            "kind_form": ProofKindForm(),
        },
    )


@role_required(Role.ADMIN)
@require_POST
def version_publish(request, pk: int):
    version = get_object_or_404(RemVersion, pk=pk)
    try:
        services.rem_version_publish(version=version, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("referentiel_admin:version", pk)
    messages.success(
        request, f"La version « {version.label} » du REM {version.dsr.code} est publiée."
    )
    return redirect("referentiel:rem", version.dsr.code)


@role_required(Role.ADMIN)
@require_POST
def version_discard(request, pk: int):
    version = get_object_or_404(RemVersion, pk=pk)
    try:
        services.rem_version_discard(version=version, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("referentiel_admin:version", pk)
    messages.success(request, f"Le brouillon « {version.label} » est supprimé.")
    return redirect("referentiel_admin:home")


@role_required(Role.ADMIN)
@require_POST
def preuve_kind(request, pk: int):
    preuve = get_object_or_404(PreuveAttendue.objects.select_related("scenario__exigence"), pk=pk)
    form = ProofKindForm(request.POST)
    if form.is_valid():
        services.preuve_attendue_set_kind(
            preuve=preuve, kind=form.cleaned_data["kind"], actor=request.user
        )
    template = "candidatures/referentiel_admin/_proof_row.html"
    context = {"preuve": preuve, "kind_form": ProofKindForm(), "saved": form.is_valid()}
    if request.htmx:
        return render(request, template, context, status=200 if form.is_valid() else 422)
    messages.success(request, f"Type de la preuve {preuve.identifier} enregistré.")
    return redirect("referentiel_admin:version", preuve.scenario.exigence.rem_version_id)


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def campagne_edit(request, code: str, pk: int | None = None):
    dsr = get_object_or_404(Dsr, code=code)
    campagne = get_object_or_404(Campagne, pk=pk, dsr=dsr) if pk else Campagne(dsr=dsr)
    form = CampagneForm(request.POST or None, instance=campagne if pk else None)
    if request.method == "POST" and form.is_valid():
        form.apply_to(campagne)
        try:
            services.campagne_save(campagne=campagne, actor=request.user)
        except ValidationError as error:
            form.add_model_errors(error)
        else:
            messages.success(request, f"Campagne « {campagne.label} » enregistrée.")
            return redirect("referentiel:dsr", dsr.code)
    return render(
        request,
        "candidatures/referentiel_admin/campagne_form.html",
        {
            "title": f"{'Modifier' if pk else 'Ouvrir'} une campagne — {dsr.code}",
            "dsr": dsr,
            "form": form,
            "campagne": campagne if pk else None,
            "rem_published": selectors.published_versions(dsr).exists(),
        },
    )
