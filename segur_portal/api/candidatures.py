"""The company's candidatures: state, jalons, and the clocks running with their due
instants, computed from stored timestamps as the pages compute them."""

from django.utils import timezone
from ninja import Router

from candidatures.enums import CandidatureState, CndaStatus, SollicitationStatus
from candidatures.models import Sollicitation
from candidatures.permissions import candidatures_visible_to
from candidatures.selectors.candidature import sollicitation_clocks
from college.enums import DecisionKind
from college.models import Decision
from preuves.models import VisiteConformite
from segur_portal.api import schemas
from segur_portal.api.common import answers, candidature_for, code
from segur_portal.enums import ApiTokenScope

router = Router(tags=["Candidatures"])
S = CandidatureState

# The jalon whose deadline is the company's next step, by state.
NEXT_JALON = {
    S.BROUILLON: ("j2", "Première soumission de la candidature administrative (J2)"),
    S.ADMIN_VALIDEE: ("j4", "Première soumission du formulaire d’éligibilité (J4)"),
    S.ELIGIBLE: ("j6", "Soumission du dossier de preuves complet (J6)"),
    S.DOSSIER_SOUMIS: ("j7", "Fin des échanges sur les preuves (J7)"),
    S.EN_INSTRUCTION: ("j7", "Fin des échanges sur les preuves (J7)"),
}


@router.get("/moi", response=answers({200: schemas.Moi}), summary="Le jeton utilisé")
def moi(request):
    """Le jeton de l’appel : son nom, sa portée, son expiration, et l’entreprise pour
    laquelle il agit. Utile pour vérifier qu’un jeton est valide."""
    token = request.auth
    return {
        "jeton": token.name,
        "portee": code(ApiTokenScope, token.scope),
        "expire_le": token.expires_at,
        "entreprise": token.editeur.raison_sociale,
        "siret": token.editeur.siret,
    }


def candidature_out(candidature) -> dict:
    return {
        "id": candidature.pk,
        "reference": candidature.reference,
        "dsr": candidature.campagne.dsr.code,
        "nom_commercial": candidature.nom_commercial,
        "version_technique": candidature.version_technique,
        "etat": code(S, candidature.state),
        "creee_le": candidature.created_at,
        "soumise_le": candidature.admin_submitted_at,
        "dossier_soumis_le": candidature.dossier_submitted_at,
        "close_le": candidature.closed_at,
        "motif_cloture": candidature.closed_reason,
    }


@router.get(
    "/candidatures",
    response=answers({200: list[schemas.Candidature]}),
    summary="Les candidatures de l’entreprise",
)
def candidatures_list(request):
    """Toutes les candidatures de l’entreprise du jeton, les plus récentes d’abord,
    avec leur état."""
    return [
        candidature_out(candidature)
        for candidature in candidatures_visible_to(request.user).select_related("campagne__dsr")
    ]


def echeances(candidature, now) -> list[dict]:
    """The deadlines running for this candidature, from stored instants."""
    result = []
    jalon = NEXT_JALON.get(candidature.state)
    if jalon is not None and getattr(candidature.campagne, jalon[0]) is not None:
        due_at = getattr(candidature.campagne, jalon[0])
        result.append(
            {"nature": "jalon", "libelle": jalon[1], "echeance": due_at, "depassee": now >= due_at}
        )
    open_sollicitations = Sollicitation.objects.filter(
        candidature=candidature, status=SollicitationStatus.OUVERTE
    )
    for sollicitation in open_sollicitations:
        for clock in sollicitation_clocks(sollicitation, now):
            result.append(
                {
                    "nature": "place_file" if clock.label.startswith("Place") else "sollicitation",
                    "libelle": clock.label,
                    "echeance": clock.due_at,
                    "depassee": clock.overdue,
                }
            )
    if candidature.state in {S.RESERVES_NON_BLOQUANTES, S.LEVEE_SOUMISE}:
        decision = (
            Decision.objects.filter(
                inscription__candidature=candidature,
                kind=DecisionKind.RESERVES_NON_BLOQUANTES,
                reserves_due_at__isnull=False,
            )
            .order_by("-notified_at")
            .first()
        )
        if decision is not None:
            result.append(
                {
                    "nature": "reserves",
                    "libelle": "Levée des réserves non bloquantes",
                    "echeance": decision.reserves_due_at,
                    "depassee": now >= decision.reserves_due_at,
                }
            )
    visite = VisiteConformite.objects.filter(
        candidature=candidature, recording_received_at__isnull=True
    ).first()
    if visite is not None:
        result.append(
            {
                "nature": "visite",
                "libelle": "Enregistrement de la visite de conformité INS",
                "echeance": visite.recording_due_at,
                "depassee": now >= visite.recording_due_at,
            }
        )
    return result


@router.get(
    "/candidatures/{candidature_id}",
    response=answers({200: schemas.CandidatureDetail}),
    summary="Une candidature : état, jalons et délais",
)
def candidature_detail(request, candidature_id: int):
    """L’état de la candidature, les dates de ses sept jalons, et chaque délai qui court
    (jalon de la prochaine étape, sollicitation sans réponse, place dans la file
    d’instruction, levée des réserves, enregistrement de la visite) avec l’instant de
    son échéance."""
    candidature = candidature_for(request, candidature_id)
    now = timezone.now()
    return {
        **candidature_out(candidature),
        "version_rem": candidature.rem_version.label,
        "profils": [profil.name for profil in candidature.profils.all()],
        "homologations_cnda": code(CndaStatus, candidature.cnda_homologation),
        "depriorisee_le": candidature.depriorisee_at,
        "retard_important_depuis": candidature.retard_important_at,
        "jalons": [
            {"code": jalon.value, "libelle": jalon.label, "echeance": moment}
            for jalon, moment in candidature.campagne.jalons()
        ],
        "echeances": echeances(candidature, now),
    }
