"""Public pages of the référentiel: DSRs, campaigns, published REMs, their diffs."""

import csv

from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from candidatures.enums import RemStatus
from candidatures.forms.referentiel import RemSearchForm
from candidatures.models import Dsr, RemVersion
from candidatures.rem_import.headers import MAX_PROOF_PAIRS, PUBLISHED_COLUMNS
from candidatures.selectors import referentiel as selectors
from segur_portal.enums import Role
from segur_portal.exports import csv_safe

PAGE_SIZE = 25


def _can_see_drafts(user) -> bool:
    return user.is_authenticated and user.role == Role.ADMIN


@login_not_required
@require_GET
def dsr_list(request):
    now = timezone.now()
    couloirs = []
    for couloir in selectors.dsrs_with_campaigns():
        dsrs = []
        for dsr in couloir.dsrs.all():
            campagne = selectors.current_campagne(dsr, now)
            # Without a published REM no candidature can be filed: the guichet is not open.
            shown = campagne if dsr.published_rems else None
            dsrs.append(
                {
                    "dsr": dsr,
                    "campagne": campagne,
                    "rem_published": bool(dsr.published_rems),
                    "phase": shown.phase_at(now) if shown else None,
                    "next_jalon": shown.next_jalon(now) if shown else None,
                }
            )
        couloirs.append({"couloir": couloir, "dsrs": dsrs})
    return render(
        request,
        "candidatures/referentiel/dsr_list.html",
        {"title": "Référentiel : DSR et campagnes", "couloirs": couloirs},
    )


@login_not_required
@require_GET
def dsr_detail(request, code: str):
    dsr = get_object_or_404(Dsr.objects.select_related("couloir"), code=code)
    now = timezone.now()
    versions = list(selectors.published_versions(dsr).select_related("published_by"))
    # Without a published REM no candidature can be filed: no campaign shows as open.
    campagnes = [
        {"campagne": c, "phase": c.phase_at(now) if versions else None, "jalons": c.jalons()}
        for c in dsr.campagnes.order_by("-j1")
    ]
    return render(
        request,
        "candidatures/referentiel/dsr_detail.html",
        {
            "title": dsr.code,
            "dsr": dsr,
            "profils": dsr.profils.all(),
            "campagnes": campagnes,
            "versions": versions,
            "now": now,
        },
    )


def _version_for(request, dsr: Dsr) -> RemVersion:
    versions = selectors.published_versions(dsr)
    wanted = request.GET.get("version")
    if wanted and wanted.isdigit():
        version = versions.filter(pk=wanted).first()
    else:
        version = versions.first()
    if version is None:
        raise Http404("Aucun REM publié pour ce DSR.")
    return version


def _search(request, dsr: Dsr):
    version = _version_for(request, dsr)
    form = RemSearchForm(
        request.GET or None,
        dsr=dsr,
        sections=selectors.rem_sections(version),
        versions=selectors.published_versions(dsr),
        initial={"version": version},
    )
    filters = {}
    if form.is_valid():
        data = form.cleaned_data
        filters = {
            "text": data["q"].strip(),
            "id_section": data["section"],
            "profil_id": data["profil"].pk if data["profil"] else None,
            "perimetre": data["perimetre"],
            "nature": data["nature"],
        }
    return version, form, selectors.rem_search(version, **filters)


@login_not_required
@require_GET
def rem_detail(request, code: str):
    dsr = get_object_or_404(Dsr, code=code)
    version, form, exigences = _search(request, dsr)
    page = Paginator(exigences, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "candidatures/referentiel/rem_detail.html",
        {
            "title": f"REM {dsr.code}",
            "dsr": dsr,
            "version": version,
            "form": form,
            "page_obj": page,
            "query": query.urlencode(),
        },
    )


class _Echo:
    def write(self, value):
        return value


# The published layout, each proof followed by the kind the portal gives it, and the
# périmètre: the export reads back as the same REM.
CSV_HEADER = [
    *PUBLISHED_COLUMNS[:11],
    *[
        column
        for k in range(1, MAX_PROOF_PAIRS + 1)
        for column in (f"N° preuve {k}", f"Preuve {k}", f"Type de preuve {k}")
    ],
    "Périmètre",
]


def _csv_rows(exigences):
    yield CSV_HEADER
    for exigence in exigences.iterator(chunk_size=500):
        base = [
            "OUI" if exigence.conditional else "NON",
            exigence.profil.name,
            exigence.id_section,
            exigence.section,
            exigence.bloc,
            exigence.fonction,
            exigence.nature.upper(),
            exigence.identifier,
            exigence.statement,
        ]
        scenarios = list(exigence.scenarios.all()) or [None]
        for scenario in scenarios:
            proofs = list(scenario.preuves_attendues.all()) if scenario else []
            proof_cells = [
                cell
                for proof in proofs[:MAX_PROOF_PAIRS]
                for cell in (proof.identifier, proof.text, proof.get_kind_display())
            ]
            proof_cells += [""] * (3 * MAX_PROOF_PAIRS - len(proof_cells))
            yield [
                *base,
                scenario.identifier if scenario else "",
                scenario.text if scenario else "",
                *proof_cells,
                exigence.get_perimetre_display(),
            ]


@login_not_required
@require_GET
def rem_csv(request, code: str):
    dsr = get_object_or_404(Dsr, code=code)
    version, _form, exigences = _search(request, dsr)
    writer = csv.writer(_Echo())
    rows = (writer.writerow([csv_safe(str(cell)) for cell in row]) for row in _csv_rows(exigences))
    response = StreamingHttpResponse(_with_bom(rows), content_type="text/csv; charset=utf-8")
    filename = f"REM-{dsr.code}-{version.label}.csv".replace(" ", "_").replace('"', "")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _with_bom(rows):
    # The BOM makes spreadsheet programs read the file as UTF-8.
    yield "\ufeff"
    yield from rows


@login_not_required
@require_GET
def rem_diff(request, code: str, version_id: int):
    dsr = get_object_or_404(Dsr, code=code)
    visible = dsr.rem_versions.all()
    if not _can_see_drafts(request.user):
        visible = visible.filter(status=RemStatus.PUBLISHED)
    new = get_object_or_404(visible, pk=version_id)
    others = selectors.published_versions(dsr).exclude(pk=new.pk)
    wanted = request.GET.get("depuis")
    if wanted and wanted.isdigit():
        old = get_object_or_404(others, pk=wanted)
    else:
        # By default: the version published just before (or the latest, for a draft).
        earlier = others.filter(published_at__lt=new.published_at) if new.published_at else others
        old = earlier.first()
    diff = selectors.rem_diff(old, new) if old else None
    return render(
        request,
        "candidatures/referentiel/rem_diff.html",
        {
            "title": f"Évolutions du REM {dsr.code}",
            "dsr": dsr,
            "new": new,
            "old": old,
            "others": others,
            "diff": diff,
        },
    )
