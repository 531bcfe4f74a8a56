"""Public lists: candidatures in progress and the customer-base versions they declared."""

import json

from django.contrib.auth.decorators import login_not_required
from django.db.models import Q
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from candidatures.enums import CandidatureState
from candidatures.models import Candidature, Dsr
from candidatures.parc import model_csv
from candidatures.selectors import candidature as selectors
from segur_portal.cache import cached_public_page
from segur_portal.clocks import paris_date
from segur_portal.exports import csv_lines
from segur_portal.listing import page_of, sort_from, text_param
from segur_portal.security import rate_limited


def _row(candidature: Candidature) -> dict:
    return {
        "dsr": candidature.campagne.dsr.code,
        "editeur": candidature.editeur.raison_sociale,
        "nom_commercial": candidature.nom_commercial,
        "version_technique": candidature.version_technique,
        "profils": [profil.name for profil in candidature.profils.all()],
    }


def _withdrawn_row(candidature: Candidature) -> dict:
    return {
        **_row(candidature),
        "statut": "retirée",
        "retiree_le": paris_date(candidature.closed_at).isoformat()
        if candidature.closed_at
        else None,
        "motif": candidature.closed_reason,
    }


PAGE_SIZE = 50
WITHDRAWN_PAGE_SIZE = 20
EXPORT_CHUNK = 500
EN_COURS_SORTS = {
    "dsr": ["campagne__dsr__code", "editeur__raison_sociale", "nom_commercial", "pk"],
    "editeur": ["editeur__raison_sociale", "nom_commercial", "pk"],
    "logiciel": ["nom_commercial", "version_technique", "pk"],
    "version": ["version_technique", "nom_commercial", "pk"],
}
CSV_HEADER = [
    "DSR",
    "Éditeur",
    "Dénomination commerciale",
    "Version technique",
    "Profils",
    "Statut",
    "Retirée le",
    "Motif du retrait",
]


def _public_filters(request) -> dict:
    return {"dsr_code": text_param(request.GET, "dsr"), "text": text_param(request.GET, "q")}


def _searched(candidatures, text: str):
    """The company, the product or its technical version, as the public types them."""
    if not text:
        return candidatures
    return candidatures.filter(
        Q(editeur__raison_sociale__icontains=text)
        | Q(nom_commercial__icontains=text)
        | Q(version_technique__icontains=text)
    )


def _in_progress(request):
    filters = _public_filters(request)
    sort = sort_from(request.GET, EN_COURS_SORTS, "dsr")
    in_progress = _searched(selectors.public_in_progress(filters["dsr_code"]), filters["text"])
    withdrawn = _searched(selectors.public_withdrawn(filters["dsr_code"]), filters["text"])
    return filters, sort, in_progress.order_by(*sort.ordering), withdrawn


@login_not_required
@cached_public_page
@require_GET
def en_cours(request):
    filters, sort, in_progress, withdrawn = _in_progress(request)
    return render(
        request,
        "candidatures/registre/en_cours.html",
        {
            "title": "Candidatures en cours de référencement",
            "page_obj": page_of(request.GET, in_progress, per_page=PAGE_SIZE),
            "withdrawn": page_of(
                request.GET, withdrawn, per_page=WITHDRAWN_PAGE_SIZE, param="page_retirees"
            ),
            "sort": sort,
            "dsrs": Dsr.objects.order_by("-wave", "code"),
            "filters": filters,
            "filtered": any(filters.values()),
        },
    )


def _csv_rows(in_progress, withdrawn):
    for candidature in in_progress.iterator(chunk_size=EXPORT_CHUNK):
        row = _row(candidature)
        yield [*_cells(row), "en cours", "", ""]
    for candidature in withdrawn.iterator(chunk_size=EXPORT_CHUNK):
        row = _withdrawn_row(candidature)
        yield [*_cells(row), row["statut"], row["retiree_le"] or "", row["motif"]]


def _cells(row: dict) -> list:
    return [
        row["dsr"],
        row["editeur"],
        row["nom_commercial"],
        row["version_technique"],
        ", ".join(row["profils"]),
    ]


@login_not_required
@rate_limited("RATELIMIT_PUBLIC_FEED", group="public-feed")
@cached_public_page
@require_GET
def en_cours_csv(request):
    """Streamed row by row, whatever the size of the wave, with the page's filters."""
    _filters, _sort, in_progress, withdrawn = _in_progress(request)
    response = StreamingHttpResponse(
        csv_lines(CSV_HEADER, _csv_rows(in_progress, withdrawn)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="candidatures-en-cours.csv"'
    return response


def _json_chunks(in_progress, withdrawn):
    yield '{"candidatures": ['
    for index, candidature in enumerate(in_progress.iterator(chunk_size=EXPORT_CHUNK)):
        yield ("," if index else "") + json.dumps(_row(candidature), ensure_ascii=False)
    yield '], "retirees": ['
    for index, candidature in enumerate(withdrawn.iterator(chunk_size=EXPORT_CHUNK)):
        yield ("," if index else "") + json.dumps(_withdrawn_row(candidature), ensure_ascii=False)
    yield "]}"


@login_not_required
@rate_limited("RATELIMIT_PUBLIC_FEED", group="public-feed")
@cached_public_page
@require_GET
def en_cours_json(request):
    _filters, _sort, in_progress, withdrawn = _in_progress(request)
    return StreamingHttpResponse(
        _json_chunks(in_progress, withdrawn), content_type="application/json"
    )


@login_not_required
@cached_public_page
@require_GET
def parc(request, pk: int):
    try:
        candidature = selectors.public_parc(pk)
    except Candidature.DoesNotExist as error:
        raise Http404 from error
    return render(
        request,
        "candidatures/registre/parc.html",
        {
            "title": f"Versions du parc client — {candidature.nom_commercial}",
            "candidature": candidature,
        },
    )


PARC_SORTS = {
    "editeur": ["editeur__raison_sociale", "nom_commercial", "pk"],
    "logiciel": ["nom_commercial", "version_technique", "pk"],
    "dsr": ["campagne__dsr__code", "editeur__raison_sociale", "pk"],
    "recue": ["parc_received_at", "pk"],
}


@login_not_required
@cached_public_page
@require_GET
def parc_index(request):
    filters = _public_filters(request)
    sort = sort_from(request.GET, PARC_SORTS, "editeur")
    candidatures = Candidature.objects.filter(parc_received_at__isnull=False).exclude(
        state=CandidatureState.BROUILLON
    )
    if filters["dsr_code"]:
        candidatures = candidatures.filter(campagne__dsr__code=filters["dsr_code"])
    candidatures = _searched(candidatures, filters["text"])
    return render(
        request,
        "candidatures/registre/parc_index.html",
        {
            "title": "Versions déclarées dans les parcs clients",
            "page_obj": page_of(
                request.GET,
                candidatures.select_related("editeur", "campagne__dsr").order_by(*sort.ordering),
                per_page=PAGE_SIZE,
            ),
            "sort": sort,
            "dsrs": Dsr.objects.order_by("-wave", "code"),
            "filters": filters,
            "filtered": any(filters.values()),
        },
    )


@login_not_required
@rate_limited("RATELIMIT_PUBLIC_FEED", group="public-feed")
@require_GET
def parc_model(request):
    response = HttpResponse(model_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="modele-versions-parc-client.csv"'
    return response
