"""What the API answers, field by field (the OpenAPI document is derived from these)."""

from datetime import datetime
from uuid import UUID

from ninja import Field, Schema


class Code(Schema):
    code: str = Field(description="Valeur stable, à comparer dans le code du client.")
    libelle: str = Field(description="Libellé en français, tel que le portail l’affiche.")


class Moi(Schema):
    jeton: str = Field(description="Nom du jeton utilisé.")
    portee: Code
    expire_le: datetime
    entreprise: str
    siret: str


class Jalon(Schema):
    code: str
    libelle: str
    echeance: datetime | None


class Echeance(Schema):
    nature: str = Field(description="jalon, sollicitation, place_file, reserves ou visite.")
    libelle: str
    echeance: datetime = Field(description="Instant de l’échéance (UTC).")
    depassee: bool


class Candidature(Schema):
    id: int
    reference: str
    dsr: str
    nom_commercial: str
    version_technique: str
    etat: Code
    creee_le: datetime
    soumise_le: datetime | None = Field(description="Première soumission administrative.")
    dossier_soumis_le: datetime | None
    close_le: datetime | None
    motif_cloture: str


class CandidatureDetail(Candidature):
    version_rem: str
    profils: list[str]
    homologations_cnda: Code
    depriorisee_le: datetime | None
    retard_important_depuis: datetime | None
    jalons: list[Jalon]
    echeances: list[Echeance] = Field(
        description="Les délais qui courent, avec l’instant de leur échéance."
    )


class Fichier(Schema):
    id: UUID
    nom: str
    taille: int = Field(description="En octets (1 Mo = 2^20 octets).")
    sha256: str
    statut: Code = Field(description="en_verification, acceptee, refusee ou infectee.")
    motif_refus: str
    type_detecte: str = Field(description="Type lu dans le contenu par le portail.")
    depose_le: datetime
    verifie_le: datetime | None


class Depot(Schema):
    id: int
    fichier: Fichier | None
    url: str = Field(description="Lien du rapport d’espace de test (dépôt sans fichier).")
    depose_le: datetime
    aussi_pour: list[str] = Field(description="Autres preuves auxquelles ce même fichier répond.")


class Regle(Schema):
    formats: list[str] | None = Field(description="Types MIME acceptés ; null : tout format.")
    taille_max_octets: int
    libelle: str


class Preuve(Schema):
    exigence_id: int
    preuve_id: int = Field(description="0 : l’exigence ne liste pas de preuve.")
    cle: str = Field(
        description="« exigence_id-preuve_id » : désigne la preuve sans ambiguïté, dans "
        "« correspondances » du dépôt groupé (deux identifiants du REM peuvent s’écrire de "
        "même, à la ponctuation près)."
    )
    identifiant: str
    exigence: str
    enonce: str
    texte: str
    section: str
    profil: str
    type: Code
    regle: Regle
    accepte_un_lien: bool
    homologation_cnda: bool
    statut: Code = Field(description="manquante, en_verification, refusee ou fournie.")
    modifiable: bool
    depots: list[Depot]


class Dossier(Schema):
    candidature: int
    attendues: int
    fournies: int
    manquantes: int
    soumissible: bool = Field(description="La soumission (J6) est ouverte.")
    preuves: list[Preuve]


class DepotCree(Schema):
    depot: int
    fichier: Fichier


class Lien(Schema):
    url: str = Field(
        description="Adresse https du rapport de l’espace de test.",
        max_length=500,
        pattern=r"^https://\S+$",
    )


class LotFichier(Schema):
    nom: str
    chemin: str
    correspondance: Code
    preuves: list[str] = Field(
        description="Les preuves auxquelles le fichier est (ou serait) déposé."
    )
    motif: str
    fichier: UUID | None = Field(description="Le fichier enregistré, une fois déposé.")


class DepotGroupe(Schema):
    simulation: bool
    deposes: int = Field(
        description="Nombre de dépôts faits (un fichier peut servir plusieurs preuves)."
    )
    fichiers: list[LotFichier]


class Soumission(Schema):
    candidature: int
    etat: Code
    recue_le: datetime
    recepisse: UUID | None = Field(description="Le récépissé PDF, une fois produit.")


class Message(Schema):
    id: int
    de_l_ans: bool
    envoye_le: datetime
    texte: str
    fichiers: list[Fichier]


class Sollicitation(Schema):
    id: int
    phase: Code
    statut: Code
    ouverte_le: datetime
    echeance: datetime = Field(
        description="Échéance de la réponse (la plus proche du délai et du jalon)."
    )
    repondue_le: datetime | None
    close_le: datetime | None
    accepte_des_messages: bool
    exigences: list[str]
    echeances: list[Echeance]
    messages: list[Message]


class MessageCree(Schema):
    message: int
    premiere_reponse: bool = Field(description="Cette réponse arrête le délai.")
    fichiers: list[Fichier]


class ReserveReponse(Schema):
    id: int
    commentaire: str
    repondue_le: datetime
    renvoyee_le: datetime | None
    motif_renvoi: str
    fichiers: list[Fichier]


class Reserve(Schema):
    id: int
    rang: int
    texte: str
    statut: Code
    exigences: list[str]
    reponses: list[ReserveReponse]


class Reserves(Schema):
    decision: Code
    texte: str
    notifiee_le: datetime | None
    levee_attendue_avant: datetime | None
    reserves: list[Reserve]


class Recepisse(Schema):
    soumis_le: datetime
    fichier: Fichier | None


class Attestation(Schema):
    numero: str
    statut: Code
    referencee_le: str
    fichier: Fichier | None


class Documents(Schema):
    recepisses: list[Recepisse]
    attestation: Attestation | None
