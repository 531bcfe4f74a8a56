"""The exchanges with the ANS through the API: sollicitations (read, answer with
attachments) and the réserves of the collège (read, answer), through the services of the
pages (candidatures.services.sollicitation, college.services)."""

from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.utils import timezone
from ninja import Router, Status

from candidatures.enums import SollicitationPhase, SollicitationStatus
from candidatures.models import Sollicitation, SollicitationMessage
from candidatures.permissions import reads_exchanges
from candidatures.selectors.candidature import sollicitation_clocks
from candidatures.services import sollicitation as sollicitation_services
from college import services as college_services
from college.enums import DecisionKind, ReserveStatus
from college.models import Decision, Reserve, ReserveReponse
from preuves.depot import FREE_RULE
from preuves.uploads import format_limit
from segur_portal.api import schemas
from segur_portal.api.common import (
    TEXT_PATTERN,
    answers,
    bounded_files,
    candidature_for,
    code,
    fichier_out,
    text_field,
)
from segur_portal.api.main import writes
from segur_portal.api.problems import ApiProblem, errors_of

router = Router()
# What one message, or one answer to a réserve, may carry (as on the pages).
MAX_ATTACHMENTS = 10


def _multipart(
    text_name: str, text_description: str, files_description: str, *, min_files: int
) -> dict:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": [text_name, "fichiers"] if min_files else [text_name],
                        "properties": {
                            text_name: {
                                "type": "string",
                                "pattern": TEXT_PATTERN,
                                "description": text_description,
                            },
                            "fichiers": {
                                "type": "array",
                                "items": {"type": "string", "format": "binary"},
                                "minItems": min_files,
                                "maxItems": MAX_ATTACHMENTS,
                                "description": files_description,
                            },
                        },
                    }
                }
            },
        }
    }


def _attachment_messages(max_bytes: int) -> dict[str, str]:
    """The pages' words for attachments over their limits (preuves.uploads)."""
    limit = format_limit(max_bytes)
    return {
        "declared_message": f"L’envoi dépasse ce que ce formulaire accepte ({MAX_ATTACHMENTS} "
        f"fichier(s) de {limit} au plus chacun) : rien n’a été enregistré.",
        "file_message": f"« {{name}} » dépasse la taille maximale de {limit} pour ce "
        "formulaire : rien n’a été enregistré.",
    }


def _threads(candidature):
    return (
        Sollicitation.objects.filter(candidature=candidature)
        .prefetch_related(
            "exigences",
            Prefetch(
                "messages",
                queryset=SollicitationMessage.objects.prefetch_related("fichiers").order_by(
                    "sent_at", "id"
                ),
            ),
        )
        .order_by("opened_at", "id")
    )


def _sollicitation_out(sollicitation, now) -> dict:
    return {
        "id": sollicitation.pk,
        "phase": code(SollicitationPhase, sollicitation.phase),
        "statut": code(SollicitationStatus, sollicitation.status),
        "ouverte_le": sollicitation.opened_at,
        "echeance": sollicitation.effective_due_at,
        "repondue_le": sollicitation.answered_at,
        "close_le": sollicitation.closed_at or sollicitation.expired_at,
        "accepte_des_messages": sollicitation_services.accepts_messages(sollicitation, now),
        "exigences": [exigence.identifier for exigence in sollicitation.exigences.all()],
        "echeances": [
            {
                "nature": "place_file" if clock.label.startswith("Place") else "sollicitation",
                "libelle": clock.label,
                "echeance": clock.due_at,
                "depassee": clock.overdue,
            }
            for clock in sollicitation_clocks(sollicitation, now)
        ],
        "messages": [
            {
                "id": message.pk,
                "de_l_ans": message.from_agency,
                "envoye_le": message.sent_at,
                "texte": message.text,
                "fichiers": [fichier_out(fichier) for fichier in message.fichiers.all()],
            }
            for message in sollicitation.messages.all()
        ],
    }


def _exchanges_candidature(request, candidature_id: int):
    candidature = candidature_for(request, candidature_id)
    if not reads_exchanges(request.user, candidature):
        raise ApiProblem("introuvable", "Candidature introuvable.")
    return candidature


@router.get(
    "/candidatures/{candidature_id}/sollicitations",
    response=answers({200: list[schemas.Sollicitation]}),
    summary="Les sollicitations de l’ANS et leurs messages",
    tags=["Sollicitations"],
)
def sollicitations(request, candidature_id: int):
    """Chaque sollicitation de l’ANS sur la candidature : sa phase, son statut, son
    échéance et les délais qui courent, les exigences visées (demande de complément) et
    la conversation, pièces jointes comprises."""
    candidature = _exchanges_candidature(request, candidature_id)
    now = timezone.now()
    result = []
    for sollicitation in _threads(candidature):
        sollicitation.candidature = candidature
        result.append(_sollicitation_out(sollicitation, now))
    return result


@router.post(
    "/candidatures/{candidature_id}/sollicitations/{sollicitation_id}/messages",
    response=answers({201: schemas.MessageCree}, 413),
    summary="Répondre à une sollicitation",
    tags=["Sollicitations"],
    openapi_extra=_multipart(
        "texte",
        "La réponse à l’ANS.",
        "Pièces jointes (10 au plus, 50 Mo chacune), vérifiées comme des preuves.",
        min_files=0,
    ),
)
@writes
def sollicitation_answer(request, candidature_id: int, sollicitation_id: int):
    """Un message de l’entreprise dans l’échange (multipart : `texte`, et `fichiers`).
    La première réponse arrête le délai ; une pièce jointe refusée par la vérification
    l’annule, et la sollicitation attend de nouveau une réponse. Refusé une fois
    l’échange clos, le délai échu ou le jalon de la phase passé.
    Portée : lecture et écriture."""
    candidature = _exchanges_candidature(request, candidature_id)
    sollicitation = (
        Sollicitation.objects.filter(candidature=candidature, pk=sollicitation_id)
        .select_related("candidature__editeur", "candidature__campagne")
        .first()
    )
    if sollicitation is None:
        raise ApiProblem("introuvable", "Sollicitation introuvable.")
    files = bounded_files(
        request,
        field="fichiers",
        max_bytes=sollicitation_services.ATTACHMENT_RULE.max_bytes,
        max_files=MAX_ATTACHMENTS,
        **_attachment_messages(sollicitation_services.ATTACHMENT_RULE.max_bytes),
    )
    try:
        message = sollicitation_services.sollicitation_message_send(
            sollicitation=sollicitation,
            actor=request.user,
            text=text_field(request, "texte"),
            files=files,
        )
    except ValidationError as error:
        detail, errors = errors_of(error, {"text": "texte", "files": "fichiers"})
        raise ApiProblem("action-refusee", detail, errors=errors) from error
    return Status(
        201,
        {
            "message": message.pk,
            "premiere_reponse": message.first_answer,
            "fichiers": [fichier_out(fichier) for fichier in message.fichiers.all()],
        },
    )


def _reponse_out(reponse) -> dict:
    return {
        "id": reponse.pk,
        "commentaire": reponse.comment,
        "repondue_le": reponse.answered_at,
        "renvoyee_le": reponse.returned_at,
        "motif_renvoi": reponse.return_comment,
        "fichiers": [fichier_out(fichier) for fichier in reponse.fichiers.all()],
    }


@router.get(
    "/candidatures/{candidature_id}/reserves",
    response=answers({200: schemas.Reserves}),
    summary="Les réserves du collège",
    tags=["Réserves"],
)
def reserves(request, candidature_id: int):
    """La dernière décision notifiée du collège sur la candidature, avec ses réserves,
    le délai de leur levée (4 semaines pour des réserves non bloquantes) et les réponses
    déjà données. 404 sans décision notifiée."""
    candidature = candidature_for(request, candidature_id)
    decision = (
        Decision.objects.filter(inscription__candidature=candidature, notified_at__isnull=False)
        .prefetch_related(
            "reserves__exigences",
            Prefetch(
                "reserves__reponses",
                queryset=ReserveReponse.objects.prefetch_related("fichiers"),
            ),
        )
        .order_by("-notified_at")
        .first()
    )
    if decision is None:
        raise ApiProblem("introuvable", "Aucune décision du collège n’est encore notifiée.")
    return {
        "decision": code(DecisionKind, decision.kind),
        "texte": decision.text,
        "notifiee_le": decision.notified_at,
        "levee_attendue_avant": decision.reserves_due_at,
        "reserves": [
            {
                "id": reserve.pk,
                "rang": reserve.position,
                "texte": reserve.text,
                "statut": code(ReserveStatus, reserve.status),
                "exigences": [exigence.identifier for exigence in reserve.exigences.all()],
                "reponses": [_reponse_out(reponse) for reponse in reserve.reponses.all()],
            }
            for reserve in decision.reserves.all()
        ],
    }


@router.post(
    "/candidatures/{candidature_id}/reserves/{reserve_id}/reponse",
    response=answers({201: schemas.ReserveReponse}, 413),
    summary="Répondre à une réserve",
    tags=["Réserves"],
    openapi_extra=_multipart(
        "commentaire",
        "Ce qui a été corrigé.",
        "Au moins un fichier qui prouve la correction (10 au plus, 50 Mo chacun).",
        min_files=1,
    ),
)
@writes
def reserve_answer(request, candidature_id: int, reserve_id: int):
    """La réponse de l’entreprise à une réserve non bloquante, avant l’échéance :
    `commentaire` et `fichiers` (multipart). Quand chaque réserve a sa réponse, la levée
    est soumise à l’ANS. Portée : lecture et écriture."""
    candidature = candidature_for(request, candidature_id)
    reserve = (
        Reserve.objects.select_related("decision__inscription__candidature__editeur")
        .filter(pk=reserve_id, decision__inscription__candidature=candidature)
        .first()
    )
    if reserve is None:
        raise ApiProblem("introuvable", "Réserve introuvable.")
    files = bounded_files(
        request,
        field="fichiers",
        max_bytes=FREE_RULE.max_bytes,
        max_files=MAX_ATTACHMENTS,
        **_attachment_messages(FREE_RULE.max_bytes),
    )
    try:
        reponse = college_services.reserve_answer(
            reserve=reserve,
            actor=request.user,
            comment=text_field(request, "commentaire"),
            uploads=files,
        )
    except ValidationError as error:
        detail, errors = errors_of(error, {"comment": "commentaire"})
        raise ApiProblem("action-refusee", detail, errors=errors) from error
    return Status(201, _reponse_out(reponse))
