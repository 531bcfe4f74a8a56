from candidatures.models.candidature import (
    Candidature,
    CandidatureTransition,
    ComposantAdditionnel,
    Distributeur,
    MembreGroupement,
    Sollicitation,
    SollicitationMessage,
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

__all__ = [
    "Campagne",
    "Candidature",
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
    "VersionParc",
]
