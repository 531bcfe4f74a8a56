from candidatures.models.assignment import Assignment
from candidatures.models.candidature import (
    Candidature,
    CandidatureTransition,
    ComposantAdditionnel,
    Distributeur,
    MembreGroupement,
    VersionParc,
)
from candidatures.models.editeur import Cgu, CguAcceptance, Editeur, EditeurChange
from candidatures.models.referentiel import (
    Campagne,
    Couloir,
    Dsr,
    Exigence,
    PreuveAttendue,
    Profil,
    RemVersion,
    Scenario,
)
from candidatures.models.rem_move import CandidatureRemMove
from candidatures.models.sollicitation import (
    Sollicitation,
    SollicitationMessage,
    SollicitationMessageFichier,
)
from candidatures.models.support import SupportDemande, SupportMessage, SupportMessageFichier

__all__ = [
    "Assignment",
    "Campagne",
    "Candidature",
    "CandidatureRemMove",
    "CandidatureTransition",
    "Cgu",
    "CguAcceptance",
    "ComposantAdditionnel",
    "Couloir",
    "Distributeur",
    "Dsr",
    "Editeur",
    "EditeurChange",
    "Exigence",
    "MembreGroupement",
    "PreuveAttendue",
    "Profil",
    "RemVersion",
    "Scenario",
    "Sollicitation",
    "SollicitationMessage",
    "SollicitationMessageFichier",
    "SupportDemande",
    "SupportMessage",
    "SupportMessageFichier",
    "VersionParc",
]
