"""Public pages of phase 3: the registry of referenced software (page, CSV, JSON) and
the verification of an attestation by its number, and of its PDF by its seal (checked
with pyHanko, segur_portal/seal.py) and its stored hash; the seal's certificate and the
roots it is checked against, published for anyone to check offline."""

import csv
import hashlib
import json
import re
from urllib.parse import urlencode

from asn1crypto import pem
from cryptography import x509
from django import forms
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.core.files.uploadhandler import StopUpload
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from candidatures.models import Dsr
from candidatures.proof_kinds import MO
from college import selectors
from college.enums import AttestationStatus
from college.models import Attestation
from preuves.uploads import (
    FORM_OVERHEAD_BYTES,
    SizeLimitUploadHandler,
    declared_length,
    too_large_response,
)
from segur_portal.cache import cached_public_page
from segur_portal.clocks import format_paris_datetime, paris_date
from segur_portal.exports import csv_safe
from segur_portal.listing import page_of, sort_from
from segur_portal.security import rate_limited
from segur_portal.services import absolute_url

PAGE_SIZE = 100
EXPORT_CHUNK = 500
MAX_PDF_BYTES = 5 * MO
NUMERO_FORMAT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")
TOO_LARGE = (
    "Ce fichier dépasse 5 Mo : ce ne peut pas être une attestation délivrée par l’ANS. "
    "Il n’a pas été lu."
)
CSV_HEADER = [
    "DSR",
    "Éditeur",
    "SIRET",
    "Dénomination commerciale",
    "Version technique",
    "Profils",
    "Numéro de référencement",
    "Date de décision",
    "Vérification",
    "Statut",
    "Déréférencé le",
    "Motif du déréférencement",
]


# The registry


def _filters(request) -> dict:
    return {
        "dsr_code": request.GET.get("dsr", "").strip(),
        "text": request.GET.get("q", "").strip()[:200],
        "profil": request.GET.get("profil", "").strip()[:200],
    }


def _query(filters: dict) -> str:
    """The filters as a query string, for the exports and the pagination links."""
    params = {"dsr": filters["dsr_code"], "q": filters["text"], "profil": filters["profil"]}
    return urlencode({key: value for key, value in params.items() if value})


def _verification_url(attestation: Attestation) -> str:
    return absolute_url(reverse("verifier:attestation", args=[attestation.numero]))


def _row(attestation: Attestation) -> dict:
    candidature = attestation.candidature
    withdrawn = attestation.status == AttestationStatus.RETIREE
    return {
        "dsr": candidature.campagne.dsr.code,
        "editeur": candidature.editeur.raison_sociale,
        "siret": candidature.editeur.siret,
        "nom_commercial": candidature.nom_commercial,
        "version_technique": candidature.version_technique,
        "profils": [profil.name for profil in candidature.profils.all()],
        "numero": attestation.numero,
        "date_decision": attestation.referenced_on.isoformat(),
        "verification": _verification_url(attestation),
        # A withdrawn referencing stays in the registry, said so (issue 13).
        "statut": "déréférencé" if withdrawn else "référencé",
        "date_dereferencement": paris_date(attestation.withdrawn_at).isoformat()
        if withdrawn
        else None,
        "motif_dereferencement": attestation.withdrawn_reason if withdrawn else "",
    }


# The referenced first, then the withdrawn, whatever the column sorted (issue 13).
REGISTRE_SORTS = {
    "dsr": list(selectors.REGISTRE_ORDER),
    "editeur": [
        "candidature__editeur__raison_sociale",
        "candidature__nom_commercial",
        "numero",
    ],
    "logiciel": [
        "candidature__nom_commercial",
        "candidature__version_technique",
        "numero",
    ],
    "numero": ["numero"],
    "date": ["referenced_on", "numero"],
}


@login_not_required
@cached_public_page
@require_GET
def referencees(request):
    filters = _filters(request)
    sort = sort_from(request.GET, REGISTRE_SORTS, "dsr")
    page = page_of(
        request.GET,
        selectors.public_referenced(**filters).order_by("-status", *sort.ordering),
        per_page=PAGE_SIZE,
    )
    query = _query(filters)
    return render(
        request,
        "college/registre/referencees.html",
        {
            "title": "Logiciels référencés",
            "page_obj": page,
            "sort": sort,
            "dsrs": Dsr.objects.order_by("-wave", "code"),
            "profils": selectors.public_referenced_profil_names(filters["dsr_code"]),
            "filters": filters,
            "filtered": any(filters.values()),
            "export_query": f"?{query}" if query else "",
        },
    )


class _Echo:
    def write(self, value):
        return value


def _csv_lines(attestations):
    writer = csv.writer(_Echo())
    # The BOM makes spreadsheet programs read the file as UTF-8.
    yield "\ufeff"
    yield writer.writerow(CSV_HEADER)
    for attestation in attestations.iterator(chunk_size=EXPORT_CHUNK):
        row = _row(attestation)
        cells = [
            row["dsr"],
            row["editeur"],
            row["siret"],
            row["nom_commercial"],
            row["version_technique"],
            ", ".join(row["profils"]),
            row["numero"],
            row["date_decision"],
            row["verification"],
            row["statut"],
            row["date_dereferencement"] or "",
            row["motif_dereferencement"],
        ]
        yield writer.writerow([csv_safe(cell) for cell in cells])


@login_not_required
@rate_limited("RATELIMIT_PUBLIC_FEED", group="public-feed")
@cached_public_page
@require_GET
def referencees_csv(request):
    attestations = selectors.public_referenced(**_filters(request))
    response = StreamingHttpResponse(
        _csv_lines(attestations), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="logiciels-referencees.csv"'
    return response


def _json_chunks(attestations):
    yield '{"logiciels": ['
    for index, attestation in enumerate(attestations.iterator(chunk_size=EXPORT_CHUNK)):
        yield ("," if index else "") + json.dumps(_row(attestation), ensure_ascii=False)
    yield "]}"


@login_not_required
@rate_limited("RATELIMIT_PUBLIC_FEED", group="public-feed")
@cached_public_page
@require_GET
def referencees_json(request):
    attestations = selectors.public_referenced(**_filters(request))
    return StreamingHttpResponse(_json_chunks(attestations), content_type="application/json")


# Verification of an attestation


class NumeroForm(forms.Form):
    numero = forms.CharField(
        label="Numéro de référencement",
        max_length=100,
        error_messages={"required": "Saisissez le numéro inscrit sur l’attestation."},
    )

    def clean_numero(self):
        numero = self.cleaned_data["numero"].strip()
        if not NUMERO_FORMAT.match(numero):
            raise ValidationError(
                "Un numéro de référencement ne contient que des lettres, des chiffres et des "
                "tirets, par exemple SEGUR-MDV-LGC-VA2-2026-00042."
            )
        return numero


class AttestationFileForm(forms.Form):
    fichier = forms.FileField(
        label="Fichier PDF de l’attestation",
        required=False,
        error_messages={
            "empty": "Le fichier envoyé est vide.",
            "invalid": "Aucun fichier n’a été reçu : choisissez le PDF de l’attestation.",
        },
    )

    def __init__(self, *args, too_large: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.too_large = too_large

    def clean_fichier(self):
        upload = self.cleaned_data["fichier"]
        if self.too_large or (upload and upload.size > MAX_PDF_BYTES):
            raise ValidationError(TOO_LARGE)
        if not upload:
            raise ValidationError("Choisissez le fichier PDF de l’attestation à vérifier.")
        return upload


class _DrainingSizeLimitUploadHandler(SizeLimitUploadHandler):
    """Stops keeping the file at the limit, but reads the rest of the request (and drops
    it) so that the browser gets the page and its message, not a reset connection."""

    def receive_data_chunk(self, raw_data, start):
        try:
            return super().receive_data_chunk(raw_data, start)
        except StopUpload:
            raise StopUpload(connection_reset=False) from None


@login_not_required
@rate_limited("RATELIMIT_PUBLIC_PAGE", group="public-verification")
@require_GET
def lookup(request):
    form = NumeroForm(request.GET if "numero" in request.GET else None)
    if form.is_valid():
        return redirect("verifier:attestation", numero=form.cleaned_data["numero"])
    return render(
        request,
        "college/verifier.html",
        {"title": "Vérifier une attestation de référencement", "form": form},
    )


@login_not_required
@rate_limited("RATELIMIT_PUBLIC_PAGE", group="public-verification")
@csrf_exempt
@require_http_methods(["GET", "POST"])
def attestation(request, numero: str):
    if request.method == "POST":
        # A body whose declared length already passes the limit is not read at all.
        if declared_length(request) > MAX_PDF_BYTES + FORM_OVERHEAD_BYTES:
            return too_large_response(request, max_bytes=MAX_PDF_BYTES, max_files=1, name=None)
        # Before anything reads the body (the CSRF check does, in _attestation): a file
        # over the limit is neither kept nor hashed.
        request.upload_handlers.insert(0, _DrainingSizeLimitUploadHandler(request, MAX_PDF_BYTES))
    return _attestation(request, numero)


@csrf_protect
def _attestation(request, numero: str):
    try:
        found = selectors.attestation_by_numero(numero)
    except Attestation.DoesNotExist:
        return render(
            request,
            "college/verifier_inconnu.html",
            {
                "title": "Attestation inconnue",
                "numero": numero,
                "form": NumeroForm(initial={"numero": numero}),
            },
            status=404,
        )
    if request.method == "GET" and found.numero != numero:
        return redirect("verifier:attestation", numero=found.numero)
    # A refused file is answered at the field with a 200, as any form a visitor corrects:
    # not an error of the server's, nor one to log.
    form, check, seal_report = AttestationFileForm(), None, None
    if request.method == "POST" and found.sha256:
        form = AttestationFileForm(
            request.POST,
            request.FILES,
            too_large=getattr(request, "upload_too_large", None) is not None,
        )
        if form.is_valid():
            upload = form.cleaned_data["fichier"]
            check = selectors.attestation_file_check(attestation=found, upload=upload)
            upload.seek(0)
            # Read whole: at most MAX_PDF_BYTES, the form refused anything larger.
            from segur_portal import seal  # pyHanko: loaded by the first check

            seal_report = seal.seal_verify(upload.read())
    return render(
        request,
        "college/verifier_attestation.html",
        {
            "title": f"Attestation {found.numero}",
            "attestation": found,
            "candidature": found.candidature,
            "is_valid": selectors.attestation_is_valid(found),
            "is_withdrawn": found.status == AttestationStatus.RETIREE,
            "form": form,
            "check": check,
            "seal": seal_report,
            "max_mo": MAX_PDF_BYTES // MO,
        },
    )


# The seal's certificate, published


def _certificate_row(certificate) -> dict:
    # Names as RFC 4514 writes them, as pdfsig and openssl show them.
    parsed = x509.load_der_x509_certificate(certificate.dump())
    return {
        "subject": parsed.subject.rfc4514_string(),
        "issuer": parsed.issuer.rfc4514_string(),
        "serial": format(certificate.serial_number, "X"),
        "not_before": format_paris_datetime(certificate.not_valid_before),
        "not_after": format_paris_datetime(certificate.not_valid_after),
        "sha256": hashlib.sha256(certificate.dump()).hexdigest(),
    }


@login_not_required
@rate_limited("RATELIMIT_PUBLIC_PAGE", group="public-verification")
@require_GET
def certificat(request):
    from segur_portal import seal, timestamping  # pyHanko: loaded by the first visit

    return render(
        request,
        "college/verifier_certificat.html",
        {
            "title": "Certificat du cachet du portail",
            "seal_certificate": _certificate_row(seal.seal_certificate()),
            "roots": [_certificate_row(root) for root in timestamping.trust_roots()],
            "demonstration": seal.is_demonstration(),
        },
    )


def _pem_response(certificates, filename: str) -> HttpResponse:
    content = b"".join(pem.armor("CERTIFICATE", certificate.dump()) for certificate in certificates)
    response = HttpResponse(content, content_type="application/x-pem-file")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_not_required
@rate_limited("RATELIMIT_PUBLIC_PAGE", group="public-verification")
@require_GET
def certificat_cachet(request):
    from segur_portal import seal  # pyHanko: loaded by the first visit

    return _pem_response([seal.seal_certificate()], "cachet-portail-segur.pem")


@login_not_required
@rate_limited("RATELIMIT_PUBLIC_PAGE", group="public-verification")
@require_GET
def certificat_racines(request):
    from segur_portal import timestamping  # pyHanko: loaded by the first visit

    return _pem_response(timestamping.trust_roots(), "ac-racines-portail-segur.pem")
