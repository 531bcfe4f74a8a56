"""The CNDA homologations of a candidature (DSR §4.4).

A dossier may be submitted while its CNDA homologations are only « en cours actif »: their
proofs are then not required at J6. But only a candidature whose homologations are all
obtained can finally be referenced: declared « certifié », and every CNDA homologation
proof of its dossier with an accepted file. Until then the instruction may close with
this piece pending, shown as such; the company deposits the proofs and declares the
homologations obtained as soon as the CNDA delivers them, up to the decision; the collège
cannot reference « sans réserve », nor the last réserve be lifted, while they are not.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from candidatures.enums import CandidatureState, CndaStatus, Nature, Perimetre
from candidatures.models import Candidature, CandidatureTransition, PreuveAttendue
from candidatures.permissions import is_company_member
from candidatures.services.candidature import candidature_url
from preuves.depot import Item, depots_create, is_cnda_homologation
from preuves.models import Depot
from preuves.services import receiving_files
from segur_portal.journal_events import journal_transition
from segur_portal.services import notification_send

S = CandidatureState
# After the submission and until the decision: the homologations may still arrive.
OPEN_STATES = frozenset(
    {
        S.DOSSIER_SOUMIS,
        S.EN_INSTRUCTION,
        S.PREUVES_VALIDEES,
        S.CONVENTION_ENVOYEE,
        S.CONVENTION_SIGNEE,
        S.EN_COLLEGE,
        S.RESERVES_NON_BLOQUANTES,
        S.LEVEE_SOUMISE,
    }
)
DSR_RULE = (
    "seul un dossier dont toutes les homologations CNDA sont obtenues (« certifié », preuve "
    "acceptée) peut être référencé (DSR §4.4)"
)


@dataclass(frozen=True)
class CndaState:
    """Where a candidature's CNDA homologations stand: the status its company declared,
    and the CNDA homologation proofs of its dossier."""

    declared: str
    items: tuple[Item, ...]

    @property
    def obtained(self) -> bool:
        return self.declared == CndaStatus.CERTIFIE and all(
            item.status == "fournie" for item in self.items
        )

    @property
    def waiting(self) -> list[Item]:
        return [item for item in self.items if item.status != "fournie"]

    @property
    def label(self) -> str:
        """One line for pages and PDFs, e.g. "En cours actif au CNDA — preuve INS.01.02.01
        manquante"."""
        if self.declared == CndaStatus.CERTIFIE:
            head = "Certifiées"
        elif self.declared == CndaStatus.EN_COURS_ACTIF:
            head = "En cours actif au CNDA"
        elif self.declared == CndaStatus.NON_DEPOSE:
            head = "Demande non déposée au CNDA"
        else:
            head = "Statut non renseigné"
        waiting = self.waiting
        if not waiting:
            return f"{head} — preuve acceptée" if self.items else head
        words = {
            "manquante": "manquante",
            "en_verification": "en cours de vérification",
            "refusee": "refusée",
        }
        return f"{head} — " + ", ".join(
            f"preuve {item.identifier} {words[item.status]}" for item in waiting
        )

    @property
    def refusal(self) -> str:
        """Why a référencement is refused while the homologations are not obtained."""
        return f"Homologations CNDA non obtenues ({self.label}) : {DSR_RULE}."


def _perimetres(candidature: Candidature) -> set[str]:
    # As candidatures.selectors.referentiel.applicable_exigences.
    return {
        Perimetre.VAGUE_2,
        *([Perimetre.VAGUE_1] if candidature.wave_1_perimetre_applies else []),
    }


def cnda_states(
    candidatures: Iterable[Candidature], *, just_read: bool = False
) -> dict[int, CndaState]:
    """The CNDA state of each candidature, in four queries whatever their number. Read
    from the database: a caller's copy may predate a declaration. With `just_read`, the
    candidatures were read by the caller's request, their profiles prefetched: two
    queries (a page showing many, such as the séance's agenda)."""
    candidatures = list(candidatures)
    pks = [candidature.pk for candidature in candidatures]
    if not pks:
        return {}
    profils = defaultdict(set)
    if just_read:
        for candidature in candidatures:
            profils[candidature.pk] = {profil.pk for profil in candidature.profils.all()}
    else:
        candidatures = list(Candidature.objects.filter(pk__in=pks))
        for candidature_id, profil_id in Candidature.profils.through.objects.filter(
            candidature_id__in=pks
        ).values_list("candidature_id", "profil_id"):
            profils[candidature_id].add(profil_id)
    # "cnda" narrows in the database; the wording rule itself is is_cnda_homologation's.
    proofs = [
        proof
        for proof in PreuveAttendue.objects.filter(
            scenario__exigence__rem_version_id__in={c.rem_version_id for c in candidatures},
            scenario__exigence__nature=Nature.EXIGENCE,
            text__icontains="cnda",
        )
        .select_related("scenario__exigence")
        .order_by("scenario__exigence__position", "scenario__position", "position")
        if is_cnda_homologation(proof)
    ]
    depots = defaultdict(list)
    for depot in (
        Depot.objects.filter(
            candidature_id__in=pks,
            preuve_attendue_id__in=[proof.pk for proof in proofs],
            removed_at__isnull=True,
        )
        .select_related("fichier")
        .order_by("deposited_at", "pk")
    ):
        depots[(depot.candidature_id, depot.preuve_attendue_id)].append(depot)
    states = {}
    for candidature in candidatures:
        perimetres = _perimetres(candidature)
        items = tuple(
            Item(proof.scenario.exigence, proof, depots[(candidature.pk, proof.pk)])
            for proof in proofs
            if proof.scenario.exigence.rem_version_id == candidature.rem_version_id
            and proof.scenario.exigence.profil_id in profils[candidature.pk]
            and proof.scenario.exigence.perimetre in perimetres
        )
        states[candidature.pk] = CndaState(candidature.cnda_homologation, items)
    return states


def cnda_state(candidature: Candidature) -> CndaState:
    return cnda_states([candidature])[candidature.pk]


def _check_open(candidature: Candidature, actor) -> CndaState:
    if not is_company_member(actor, candidature):
        raise PermissionDenied("Seuls les comptes de l’entreprise déclarent ses homologations.")
    if candidature.state not in OPEN_STATES:
        raise ValidationError(
            "Les homologations CNDA se complètent entre la soumission du dossier et la "
            "décision de référencement."
        )
    state = cnda_state(candidature)
    if state.obtained:
        raise ValidationError("Les homologations CNDA sont déjà obtenues, preuves acceptées.")
    return state


def cnda_proof_deposit(*, candidature: Candidature, item: Item, uploads, actor, now=None):
    """The proof of a CNDA homologation, delivered after the submission: it may be
    deposited until the homologations are obtained, whatever J7 (DSR §4.4: the
    dossier was complete without it)."""
    now = now or timezone.now()
    state = _check_open(candidature, actor)
    if item.key not in {cnda_item.key for cnda_item in state.items}:
        raise ValidationError("Seules les preuves d’homologation CNDA se déposent ici.")
    if not uploads:
        raise ValidationError("Choisissez au moins un fichier.")
    with receiving_files(), transaction.atomic():
        locked = Candidature.objects.select_for_update().get(pk=candidature.pk)
        if locked.state not in OPEN_STATES:
            raise ValidationError("La candidature a changé d’état : rechargez la page.")
        return depots_create(candidature=locked, item=item, uploads=uploads, actor=actor, now=now)


def cnda_certify(*, candidature: Candidature, actor, now: datetime | None = None) -> Candidature:
    """The company declares its CNDA homologations obtained (« certifié »), each proof
    deposited; the history records it and the instructor is told."""
    now = now or timezone.now()
    state = _check_open(candidature, actor)
    if state.declared == CndaStatus.CERTIFIE:
        raise ValidationError(
            "Les homologations sont déclarées certifiées : leurs preuves sont en cours de "
            "vérification ou à déposer de nouveau."
        )
    missing = [item.identifier for item in state.items if item.status in {"manquante", "refusee"}]
    if missing:
        raise ValidationError(
            "Déposez d’abord la preuve de chaque homologation CNDA : " + ", ".join(missing) + "."
        )
    with transaction.atomic():
        locked = Candidature.objects.select_for_update().get(pk=candidature.pk)
        if locked.state not in OPEN_STATES or locked.cnda_homologation == CndaStatus.CERTIFIE:
            raise ValidationError("La candidature a changé : rechargez la page.")
        locked.cnda_homologation = CndaStatus.CERTIFIE
        locked.save(update_fields=["cnda_homologation"])
        proofs = ", ".join(item.identifier for item in state.items) or "aucune preuve attendue"
        transition = CandidatureTransition.objects.create(
            candidature=locked,
            name="cnda_certify",
            from_state=locked.state,
            to_state=locked.state,
            actor=actor,
            at=now,
            reason=f"Homologations CNDA déclarées obtenues (certifié) ; preuves : {proofs}.",
        )
        journal_transition(transition)
        if locked.instructeur_id:
            notification_send(
                recipients=[locked.instructeur],
                title=f"Homologations CNDA obtenues — {locked.reference}",
                body=f"{locked.editeur.raison_sociale} déclare ses homologations CNDA "
                f"certifiées ; preuves : {proofs}.",
                url=candidature_url(locked),
            )
    return locked
