"""Public lists: candidatures in progress and the customer-base versions they declared."""

import csv

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from candidatures.models import Candidature, Dsr
from candidatures.parc import model_csv
from candidatures.selectors import candidature as selectors
from segur_portal.exports import csv_safe


def _row(candidature: Candidature) -> dict:
    return {
        "dsr": candidature.campagne.dsr.code,
        "editeur": candidature.editeur.raison_sociale,
        "nom_commercial": candidature.nom_commercial,
        "version_technique": candidature.version_technique,
        "profils": [profil.name for profil in candidature.profils.all()],
    }


@login_not_required
@require_GET
def en_cours(request):
    dsr_code = request.GET.get("dsr", "")
    return render(
        request,
        "candidatures/registre/en_cours.html",
        {
            "title": "Candidatures en cours de référencement",
            "candidatures": selectors.public_in_progress(dsr_code),
            "dsrs": Dsr.objects.order_by("-wave", "code"),
            "dsr_code": dsr_code,
        },
    )


@login_not_required
@require_GET
def en_cours_csv(request):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="candidatures-en-cours.csv"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow(["DSR", "Éditeur", "Dénomination commerciale", "Version technique", "Profils"])
    for candidature in selectors.public_in_progress(request.GET.get("dsr", "")):
        row = _row(candidature)
        writer.writerow(
            [
                csv_safe(value)
                for value in (
                    row["dsr"],
                    row["editeur"],
                    row["nom_commercial"],
                    row["version_technique"],
                    ", ".join(row["profils"]),
                )
            ]
        )
    return response


@login_not_required
@require_GET
def en_cours_json(request):
    return JsonResponse(
        {
            "candidatures": [
                _row(candidature)
                for candidature in selectors.public_in_progress(request.GET.get("dsr", ""))
            ]
        },
        json_dumps_params={"ensure_ascii": False},
    )


@login_not_required
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


@login_not_required
@require_GET
def parc_index(request):
    candidatures = (
        Candidature.objects.filter(parc_received_at__isnull=False)
        .select_related("editeur", "campagne__dsr")
        .order_by("editeur__raison_sociale", "nom_commercial")
    )
    return render(
        request,
        "candidatures/registre/parc_index.html",
        {"title": "Versions déclarées dans les parcs clients", "candidatures": candidatures},
    )


@login_not_required
@require_GET
def parc_model(request):
    response = HttpResponse(model_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="modele-versions-parc-client.csv"'
    return response
