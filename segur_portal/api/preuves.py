"""The proof dossier through the API: the expected proofs and their status, a file for a
proof, the bulk deposit in one call, the submission, the files themselves. Each write
goes through the service the page uses (preuves.depot, preuves.bulk): the same J6/J7
rules, size limits, checks by the worker (type, content, antivirus) and messages."""

import json
from typing import Literal
from uuid import UUID

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpResponse
from ninja import Field, Query, Router, Schema, Status

from candidatures.enums import CandidatureState
from candidatures.permissions import is_company_member
from preuves import bulk
from preuves import depot as depot_services
from preuves.enums import Consultation, LotMatch
from preuves.models import Depot, DossierSoumission
from preuves.selectors import fichier_visible_to
from preuves.services import fichier_download_record, format_mo
from preuves.views_lots import LOT_REQUEST_MAX_FILES, LotUploadHandler
from segur_portal.api import schemas
from segur_portal.api.common import answers, bounded_files, candidature_for, code, fichier_out
from segur_portal.api.main import writes
from segur_portal.api.problems import ApiProblem, errors_of
from segur_portal.security import client_ip

router = Router(tags=["Preuves"])
S = CandidatureState
STATUS_LABELS = {
    "manquante": "Manquante",
    "en_verification": "Vérification en cours",
    "refusee": "Refusée",
    "fournie": "Fournie",
}
FILE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["fichier"],
                    "properties": {
                        "fichier": {
                            "type": "string",
                            "format": "binary",
                            "description": "Le fichier de la preuve.",
                        }
                    },
                }
            }
        },
    }
}
BULK_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["fichiers"],
                    "properties": {
                        "fichiers": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "minItems": 1,
                            "maxItems": LOT_REQUEST_MAX_FILES,
                            "description": "Les fichiers, ou des archives ZIP, nommés par "
                            "l’identifiant de la preuve (« SC.DMP-UX.08_capture.png »).",
                        },
                        "correspondances": {
                            "type": "object",
                            "additionalProperties": {"type": "array", "items": {"type": "string"}},
                            "description": "Optionnel : objet JSON {nom du fichier : [preuves]} "
                            "qui fixe les preuves d’un fichier, au lieu de celles reconnues "
                            "dans son nom ; une preuve par son identifiant ou par sa clé "
                            "(« cle » dans la liste des preuves).",
                        },
                        "section": {
                            "type": "string",
                            "description": "Optionnel : l’identifiant d’une section du dossier.",
                        },
                        "simulation": {
                            "type": "boolean",
                            "description": "true : dire la correspondance sans rien déposer.",
                        },
                    },
                },
                # A part of type object is sent as JSON (OpenAPI's default, said here).
                "encoding": {"correspondances": {"contentType": "application/json"}},
            }
        },
    }
}


def _file_answer(media_type: str) -> dict:
    return {
        "responses": {
            200: {
                "description": "Le fichier.",
                "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    }


# A proof is served with the type read in its content (application/octet-stream until
# it is accepted); receipts and attestations are PDF.
FILE_ANSWER = _file_answer("*/*")
PDF_ANSWER = _file_answer("application/pdf")


def _member_candidature(request, candidature_id: int):
    candidature = candidature_for(request, candidature_id)
    if not is_company_member(request.user, candidature):
        raise ApiProblem("interdit", "Seuls les comptes de l’entreprise déposent ses preuves.")
    return candidature


def _preuve_out(item, block) -> dict:
    rule = item.rule
    return {
        "exigence_id": item.exigence.pk,
        "preuve_id": item.preuve.pk if item.preuve else 0,
        "cle": item.key,
        "identifiant": item.identifier,
        "exigence": item.exigence.identifier,
        "enonce": item.exigence.statement,
        "texte": item.text,
        "section": item.exigence.section,
        "profil": item.exigence.profil.name,
        "type": {"code": item.kind, "libelle": item.kind_label},
        "regle": {
            "formats": sorted(rule.allowed_mime_types) if rule.allowed_mime_types else None,
            "taille_max_octets": rule.max_bytes,
            "libelle": rule.label,
        },
        "accepte_un_lien": item.accepts_url,
        "homologation_cnda": item.is_cnda,
        "statut": {"code": item.status, "libelle": STATUS_LABELS[item.status]},
        "modifiable": block.editable,
        "depots": [
            {
                "id": depot.pk,
                "fichier": fichier_out(depot.fichier) if depot.fichier_id else None,
                "url": depot.url,
                "depose_le": depot.deposited_at,
                "aussi_pour": getattr(depot, "shared_with", []),
            }
            for depot in item.depots
        ],
    }


class DossierFilters(Schema):
    statut: Literal["manquante", "en_verification", "refusee", "fournie"] | None = Field(
        None, description="Ne lister que les preuves de ce statut."
    )


@router.get(
    "/candidatures/{candidature_id}/preuves",
    response=answers({200: schemas.Dossier}),
    summary="Les preuves attendues et leur statut",
)
def dossier(request, candidature_id: int, filters: Query[DossierFilters]):
    """Chaque preuve attendue du dossier (exigences obligatoires des profils choisis,
    jamais les préconisations), avec son format, sa taille maximale, son statut
    (manquante, en vérification, refusée, fournie), ses dépôts et si elle peut encore
    changer. `statut` filtre sur un statut."""
    candidature = candidature_for(request, candidature_id)
    candidature = (
        type(candidature)
        .objects.select_related("editeur", "campagne__dsr", "rem_version")
        .prefetch_related("profils")
        .get(pk=candidature.pk)
    )
    current = depot_services.dossier(candidature)
    required = current.required_items()
    provided = sum(1 for item in required if item.status == "fournie")
    preuves = [
        _preuve_out(item, block)
        for block in current.blocks
        for item in block.items
        if not filters.statut or item.status == filters.statut
    ]
    return {
        "candidature": candidature.pk,
        "attendues": len(required),
        "fournies": provided,
        "manquantes": len(required) - provided,
        "soumissible": candidature.state == S.ELIGIBLE,
        "preuves": preuves,
    }


def _item(candidature, exigence_id: int, preuve_id: int):
    try:
        return depot_services.find_item(candidature, exigence_id, preuve_id or None)
    except ValidationError as error:
        raise ApiProblem("introuvable", " ".join(error.messages)) from error


@router.post(
    "/candidatures/{candidature_id}/preuves/{exigence_id}/{preuve_id}/fichiers",
    response=answers({201: schemas.DepotCree}, 413),
    summary="Déposer un fichier pour une preuve",
    openapi_extra=FILE_BODY,
)
@writes
def depot_upload(request, candidature_id: int, exigence_id: int, preuve_id: int):
    """Envoie un fichier (multipart, champ `fichier`) pour la preuve attendue. L’envoi
    s’arrête dès que la taille maximale du type de preuve est dépassée (413). Réponse
    201 avec l’identifiant du fichier, « en cours de vérification » : son statut se lit
    ensuite par `GET /fichiers/{id}`, ou arrive par webhook (`fichier.verifie`). Mêmes
    règles que le portail : J6 avant la soumission, seules les exigences d’une demande
    de complément en instruction, rien après J7. Portée : lecture et écriture."""
    candidature = _member_candidature(request, candidature_id)
    item = _item(candidature, exigence_id, preuve_id)
    limit = format_mo(item.rule.max_bytes)
    uploads = bounded_files(
        request,
        field="fichier",
        max_bytes=item.rule.max_bytes,
        max_files=1,
        declared_message=f"L’envoi dépasse ce que cette preuve accepte (un fichier de {limit} "
        "au plus) : rien n’a été enregistré.",
        file_message=f"« {{name}} » dépasse la taille maximale de ce type de preuve ({limit}) : "
        "rien n’a été enregistré.",
    )
    if not uploads:
        raise ApiProblem(
            "donnees-invalides",
            "Choisissez un fichier.",
            errors={"fichier": "Envoyez le fichier dans le champ « fichier »."},
        )
    try:
        depots = depot_services.depot_add_files(
            candidature=candidature, item=item, uploads=uploads, actor=request.user
        )
    except ValidationError as error:
        detail, errors = errors_of(error)
        raise ApiProblem("action-refusee", detail, errors=errors) from error
    depot = depots[0]
    return Status(201, {"depot": depot.pk, "fichier": fichier_out(depot.fichier)})


@router.post(
    "/candidatures/{candidature_id}/preuves/{exigence_id}/{preuve_id}/lien",
    response=answers({201: schemas.Depot}),
    summary="Déposer le lien d’un rapport d’espace de test",
)
@writes
def depot_link(request, candidature_id: int, exigence_id: int, preuve_id: int, body: schemas.Lien):
    """Une preuve de type « lien vers le rapport de l’espace de test » se donne aussi par
    son adresse https. Portée : lecture et écriture."""
    candidature = _member_candidature(request, candidature_id)
    item = _item(candidature, exigence_id, preuve_id)
    depot = depot_services.depot_add_link(
        candidature=candidature, item=item, url=body.url.strip(), actor=request.user
    )
    return Status(
        201,
        {
            "id": depot.pk,
            "fichier": None,
            "url": depot.url,
            "depose_le": depot.deposited_at,
            "aussi_pour": [],
        },
    )


@router.delete(
    "/candidatures/{candidature_id}/depots/{depot_id}",
    response=answers({204: None}),
    summary="Retirer un dépôt",
)
@writes
def depot_remove(request, candidature_id: int, depot_id: int):
    """Retire un dépôt tant que son exigence peut encore changer : le fichier reste dans
    l’historique de la candidature, marqué retiré. Portée : lecture et écriture."""
    candidature = _member_candidature(request, candidature_id)
    depot = (
        Depot.objects.select_related("candidature__campagne", "exigence")
        .filter(pk=depot_id, candidature=candidature, removed_at=None)
        .first()
    )
    if depot is None:
        raise ApiProblem("introuvable", "Dépôt introuvable.")
    depot_services.depot_remove(depot=depot, actor=request.user)
    return Status(204, None)


def _chosen_from(correspondances: str, rows, items) -> tuple[dict, dict]:
    """The mapping the client fixed, by file name: ({row id: item keys}, {row id: error})."""
    if not correspondances.strip():
        return {}, {}
    try:
        wanted = json.loads(correspondances)
    except ValueError as error:
        raise ApiProblem(
            "donnees-invalides",
            "« correspondances » doit être un objet JSON.",
            errors={"correspondances": "Objet JSON attendu : {nom du fichier : [preuves]}."},
        ) from error
    if not isinstance(wanted, dict) or not all(
        isinstance(v, list) and all(isinstance(x, str) for x in v) for v in wanted.values()
    ):
        raise ApiProblem(
            "donnees-invalides",
            "« correspondances » doit être un objet JSON.",
            errors={"correspondances": "Objet JSON attendu : {nom du fichier : [preuves]}."},
        )
    by_key = {item.key: item for item in items}
    chosen, errors = {}, {}
    for row in rows:
        names = [name for name in (row.path, row.name) if name and name in wanted]
        if not names:
            continue
        keys = []
        for text in wanted[names[0]]:
            item = by_key.get(text.strip()) or bulk.resolve_label(text, items)
            if item is None:
                errors[row.pk] = (
                    f"« {text} » ne désigne pas une preuve attendue de ce dossier, ou en désigne "
                    "plusieurs : donnez sa clé (« cle » dans la liste des preuves)."
                )
            else:
                keys.append(item.key)
        chosen[row.pk] = keys
    return chosen, errors


def _lot_report(review, chosen: dict, errors: dict, *, simulation: bool) -> list[dict]:
    labels = review.labels
    report = []
    for row in sorted(review.rows, key=lambda row: row.fichier.position):
        staged = row.fichier
        keys = chosen.get(staged.pk, [])
        report.append(
            {
                "nom": staged.name,
                "chemin": staged.path,
                "correspondance": code(LotMatch, staged.match),
                "preuves": [labels[key] for key in keys if key in labels],
                "motif": errors.get(staged.pk, "") or ("" if keys else row.reason),
                "fichier": None if simulation else staged.fichier_id,
            }
        )
    return report


@router.post(
    "/candidatures/{candidature_id}/depot-groupe",
    response=answers({200: schemas.DepotGroupe, 201: schemas.DepotGroupe}, 413),
    summary="Dépôt groupé en un appel",
    openapi_extra=BULK_BODY,
)
@writes
def depot_groupe(request, candidature_id: int):
    """Le dépôt groupé du portail en un appel : chaque fichier (ou membre d’une archive
    ZIP) est rattaché à la preuve dont l’identifiant figure dans son nom, sans égard à la
    casse, aux accents ni aux séparateurs ; `correspondances` fixe les preuves d’un
    fichier nommé autrement ou ambigu. Les fichiers reconnus sont déposés (201) et
    vérifiés comme un dépôt à l’unité ; les autres sont listés avec leur motif. Tout ou
    rien : un fichier qui ne convient pas à la preuve choisie fait refuser l’appel (422,
    le motif par fichier), de même qu’un envoi dont aucun fichier n’est reconnu.
    `simulation=true` dit la correspondance sans rien déposer (200). 60 fichiers par
    appel (une archive ZIP en contient davantage) ; une preuve 50 Mo, une archive ou un
    appel 500 Mo au plus. Portée : lecture et écriture."""
    candidature = _member_candidature(request, candidature_id)
    uploads = bounded_files(
        request,
        field="fichiers",
        max_bytes=bulk.LOT_ZIP_MAX_BYTES,
        max_files=LOT_REQUEST_MAX_FILES,
        # One request carries what one archive may weigh, as on the page.
        max_total=bulk.LOT_ZIP_MAX_BYTES,
        handler=LotUploadHandler,
        declared_message=f"L’envoi dépasse {format_mo(bulk.LOT_ZIP_MAX_BYTES)} (envoyez les "
        "fichiers en plusieurs fois) : rien n’a été enregistré.",
        file_message="« {name} » dépasse la taille permise (une preuve : "
        f"{format_mo(bulk.LOT_FILE_MAX_BYTES)} ; une archive ZIP : "
        f"{format_mo(bulk.LOT_ZIP_MAX_BYTES)}), ou l’envoi compte plus de "
        f"{LOT_REQUEST_MAX_FILES} fichiers : rien n’a été enregistré.",
    )
    if not uploads:
        raise ApiProblem(
            "donnees-invalides",
            "Choisissez les fichiers, ou une archive ZIP, à déposer.",
            errors={"fichiers": "Envoyez les fichiers dans le champ « fichiers »."},
        )
    simulation = request.POST.get("simulation", "").strip().lower() in {"1", "true", "oui"}
    lot = bulk.lot_create(
        candidature=candidature, actor=request.user, section=request.POST.get("section", "")
    )
    try:
        bulk.lot_add_files(lot=lot, uploads=uploads, actor=request.user)
        review = bulk.lot_review(lot)
        items = depot_services.dossier(candidature).items
        rows = [row.fichier for row in review.rows]
        fixed, errors = _chosen_from(request.POST.get("correspondances", ""), rows, items)
        chosen = {row.pk: fixed.get(row.pk, list(row.proposed)) for row in rows}
        errors = bulk.lot_check(lot=lot, chosen=chosen, actor=request.user) | errors
        if not simulation and not errors and not any(chosen.values()):
            reasons = {lot_row.fichier.pk: lot_row.reason for lot_row in review.rows}
            bulk.lot_discard(lot=lot, actor=request.user)
            raise ApiProblem(
                "action-refusee",
                "Aucun fichier ne correspond à une preuve attendue de ce dossier : rien n’a été "
                "déposé. Nommez chaque fichier par l’identifiant de sa preuve, ou donnez ses "
                "preuves dans « correspondances ».",
                errors={row.path or row.name: reasons[row.pk] for row in rows},
            )
        if simulation or errors:
            report = _lot_report(review, chosen, errors, simulation=True)
            bulk.lot_discard(lot=lot, actor=request.user)
            if errors:
                raise ApiProblem(
                    "action-refusee",
                    f"{len(errors)} fichier(s) ne peuvent pas être déposés tels quels : rien "
                    "n’a été déposé.",
                    errors={
                        row.path or row.name: errors[row.pk] for row in rows if row.pk in errors
                    },
                )
            return Status(200, {"simulation": True, "deposes": 0, "fichiers": report})
        depots = bulk.lot_confirm(lot=lot, chosen=chosen, actor=request.user)
    except (ValidationError, ApiProblem):
        # A refusal (a bad `correspondances` too) leaves no batch nor staged file behind.
        if type(lot).objects.filter(pk=lot.pk, confirmed_at=None).exists():
            bulk.lot_discard(lot=lot, actor=request.user)
        raise
    review = bulk.lot_review(lot)
    return Status(
        201,
        {
            "simulation": False,
            "deposes": len(depots),
            "fichiers": _lot_report(review, chosen, {}, simulation=False),
        },
    )


@router.post(
    "/candidatures/{candidature_id}/soumission",
    response=answers({201: schemas.Soumission}),
    summary="Soumettre le dossier de preuves complet (J6)",
)
@writes
def dossier_submit(request, candidature_id: int):
    """Soumet le dossier complet : possible avant J6, quand chaque preuve exigée a un
    fichier accepté et que les homologations CNDA sont « certifiées » ou « en cours
    actif ». L’heure de réception fixe la place dans la file d’instruction ; le
    récépissé PDF (scellé) est produit ensuite. Ce qui est soumis ne change plus, sauf
    sur demande de complément. Portée : lecture et écriture."""
    candidature = _member_candidature(request, candidature_id)
    soumission = depot_services.dossier_submit(candidature=candidature, actor=request.user)
    soumission = DossierSoumission.objects.select_related("candidature").get(pk=soumission.pk)
    return Status(
        201,
        {
            "candidature": candidature.pk,
            "etat": code(S, soumission.candidature.state),
            "recue_le": soumission.submitted_at,
            "recepisse": soumission.receipt_id,
        },
    )


def _fichier(request, fichier_id: UUID):
    fichier = fichier_visible_to(user=request.user, fichier_id=fichier_id)
    if fichier is None:
        raise ApiProblem("introuvable", "Fichier introuvable.")
    return fichier


@router.get(
    "/fichiers/{fichier_id}",
    response=answers({200: schemas.Fichier}),
    summary="Un fichier et son statut de vérification",
    tags=["Fichiers"],
)
def fichier_status(request, fichier_id: UUID):
    """Le statut d’un fichier de l’entreprise : en cours de vérification, accepté, ou
    refusé avec son motif (format lu dans le contenu, taille, intégrité, antivirus).
    À interroger après un dépôt, ou à remplacer par le webhook `fichier.verifie`."""
    return fichier_out(_fichier(request, fichier_id))


def file_response(request, fichier) -> HttpResponse:
    """The file as an attachment, logged as a download, as the portal's download view
    serves it; an infected file never leaves."""
    if fichier.is_infected:
        raise ApiProblem("introuvable", "Fichier introuvable.")
    stored = default_storage.open(fichier.storage_name, "rb")
    fichier_download_record(
        fichier=fichier,
        user=request.user,
        ip_address=client_ip(request),
        kind=Consultation.TELECHARGEMENT,
    )
    response = FileResponse(
        stored,
        as_attachment=True,
        filename=fichier.original_name,
        content_type=(
            fichier.detected_mime
            if fichier.is_accepted and fichier.detected_mime
            else "application/octet-stream"
        ),
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@router.get(
    "/fichiers/{fichier_id}/contenu",
    response=answers({200: None}),
    summary="Télécharger un fichier",
    tags=["Fichiers"],
    openapi_extra=FILE_ANSWER,
)
def fichier_download(request, fichier_id: UUID):
    """Le contenu d’un fichier de l’entreprise (une preuve, un récépissé, une
    attestation…), en pièce jointe ; chaque téléchargement est journalisé. Un fichier
    infecté n’est jamais servi."""
    return file_response(request, _fichier(request, fichier_id))
