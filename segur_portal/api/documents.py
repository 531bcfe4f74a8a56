"""The sealed PDFs a company receives: the receipts of its submitted dossiers and the
attestation of its referenced software."""

from ninja import Router

from college.enums import AttestationStatus
from college.models import Attestation
from preuves.models import DossierSoumission
from segur_portal.api import schemas
from segur_portal.api.common import answers, candidature_for, code, fichier_out
from segur_portal.api.preuves import PDF_ANSWER, file_response
from segur_portal.api.problems import ApiProblem

router = Router(tags=["Documents"])


def _attestation(candidature):
    return Attestation.objects.filter(candidature=candidature).select_related("fichier").first()


@router.get(
    "/candidatures/{candidature_id}/documents",
    response=answers({200: schemas.Documents}),
    summary="Récépissés et attestation",
)
def documents(request, candidature_id: int):
    """Les récépissés des dossiers soumis (chaque fichier, sa taille et son SHA-256) et
    l’attestation de référencement, PDF scellés par le portail. Un document pas encore
    produit a `fichier` à null."""
    candidature = candidature_for(request, candidature_id)
    soumissions = DossierSoumission.objects.filter(candidature=candidature).select_related(
        "receipt"
    )
    attestation = _attestation(candidature)
    return {
        "recepisses": [
            {
                "soumis_le": soumission.submitted_at,
                "fichier": fichier_out(soumission.receipt) if soumission.receipt_id else None,
            }
            for soumission in soumissions
        ],
        "attestation": {
            "numero": attestation.numero,
            "statut": code(AttestationStatus, attestation.status),
            "referencee_le": attestation.referenced_on.isoformat(),
            "fichier": fichier_out(attestation.fichier) if attestation.fichier_id else None,
        }
        if attestation
        else None,
    }


@router.get(
    "/candidatures/{candidature_id}/recepisse",
    response=answers({200: None}),
    summary="Télécharger le dernier récépissé (PDF)",
    openapi_extra=PDF_ANSWER,
)
def recepisse(request, candidature_id: int):
    """Le récépissé PDF de la dernière soumission du dossier, scellé ; 404 tant qu’il
    n’est pas produit. Le téléchargement est journalisé."""
    candidature = candidature_for(request, candidature_id)
    soumission = (
        DossierSoumission.objects.filter(candidature=candidature, receipt__isnull=False)
        .select_related("receipt")
        .last()
    )
    if soumission is None:
        raise ApiProblem("introuvable", "Aucun récépissé n’est encore produit.")
    return file_response(request, soumission.receipt)


@router.get(
    "/candidatures/{candidature_id}/attestation",
    response=answers({200: None}),
    summary="Télécharger l’attestation de référencement (PDF)",
    openapi_extra=PDF_ANSWER,
)
def attestation(request, candidature_id: int):
    """L’attestation de référencement, PDF scellé portant le numéro et le lien de
    vérification publique ; 404 tant qu’elle n’est pas produite. Le téléchargement est
    journalisé."""
    candidature = candidature_for(request, candidature_id)
    found = _attestation(candidature)
    if found is None or found.fichier is None:
        raise ApiProblem("introuvable", "Aucune attestation n’est encore délivrée.")
    return file_response(request, found.fichier)
