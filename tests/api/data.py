"""A company whose token reaches every kind of object the API serves, made through the
portal's services: deposits checked by libmagic and clamd, a submitted dossier and its
sealed receipt, an open sollicitation with attachments, réserves to answer, a sealed
attestation."""

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from candidatures.enums import CandidatureState, CndaStatus
from candidatures.models import Candidature, CandidatureTransition
from candidatures.services import sollicitation as sollicitation_services
from college import services as college_services
from college.enums import DecisionKind, ReserveStatus, SeanceStatus
from college.models import Attestation, Decision, Inscription, Reserve, Seance
from preuves import depot as depot_services
from preuves.models import DossierSoumission, Fichier
from segur_portal.enums import CompanyRole
from tests.api.conftest import ready_user
from tests.factories import CandidatureFactory, UserFactory
from tests.preuves import samples
from tests.preuves.dossiers import deposit_everything, eligible_candidature, upload

S = CandidatureState


@dataclass
class CompanyData:
    member: object
    eligible: Candidature
    complete: Candidature
    instruction: Candidature
    reserves: Candidature
    referenced: Candidature

    @property
    def candidatures(self) -> list[Candidature]:
        return [self.eligible, self.complete, self.instruction, self.reserves, self.referenced]

    def paths(self) -> list[dict]:
        """The path parameters of the API that name the company's own objects, each set
        consistent (a proof of that candidature, a réserve of that one…)."""
        items = depot_services.dossier(self.eligible).items
        reserves = Reserve.objects.filter(decision__inscription__candidature=self.reserves)
        fichiers = Fichier.objects.filter(editeur=self.eligible.editeur)
        return [
            *({"candidature_id": candidature.pk} for candidature in self.candidatures),
            *(
                {
                    "candidature_id": self.eligible.pk,
                    "exigence_id": item.exigence.pk,
                    "preuve_id": item.preuve.pk if item.preuve else 0,
                }
                for item in items
            ),
            *(
                {"candidature_id": self.eligible.pk, "depot_id": pk}
                for pk in self.eligible.depots.values_list("pk", flat=True)
            ),
            *({"fichier_id": str(pk)} for pk in fichiers.values_list("pk", flat=True)),
            *(
                {"candidature_id": self.instruction.pk, "sollicitation_id": pk}
                for pk in self.instruction.sollicitations.values_list("pk", flat=True)
            ),
            *(
                {"candidature_id": self.reserves.pk, "reserve_id": pk}
                for pk in reserves.values_list("pk", flat=True)
            ),
        ]


def _first_file_item(candidature):
    return next(
        item
        for item in depot_services.dossier(candidature).items
        if not item.accepts_url and "application/pdf" in (item.rule.allowed_mime_types or [])
    )


def _submitted_in_instruction(editeur, member):
    """A complete dossier submitted through the service (its receipt is sealed once the
    transaction commits), taken in instruction, with an open sollicitation."""
    candidature = eligible_candidature(editeur=editeur)
    deposit_everything(candidature, actor=member)
    depot_services.dossier_submit(candidature=candidature, actor=member)
    instructeur = UserFactory(instructeur=True)
    Candidature.objects.filter(pk=candidature.pk).update(
        state=S.EN_INSTRUCTION, instructeur=instructeur, instruction_started_at=timezone.now()
    )
    candidature.refresh_from_db()
    sollicitation_services.sollicitation_open(
        candidature=candidature,
        actor=instructeur,
        text="Merci de préciser le NIL du composant principal.",
        files=[upload("demande.pdf", samples.pdf_bytes())],
    )
    return candidature


def _reserves_notified(editeur):
    """A decision « réserves non bloquantes » notified, two réserves to answer."""
    now = timezone.now()
    candidature = CandidatureFactory(
        editeur=editeur,
        state=S.RESERVES_NON_BLOQUANTES,
        cnda_homologation=CndaStatus.CERTIFIE,
        instructeur=UserFactory(instructeur=True),
    )
    # One séance a day: a second company's decision is taken at the same one.
    seance, _created = Seance.objects.get_or_create(
        date=timezone.localdate(now) - timedelta(days=1),
        defaults={"starts_at": now - timedelta(days=1), "status": SeanceStatus.CLOSE},
    )
    inscription = Inscription.objects.create(seance=seance, candidature=candidature, signed_at=now)
    decision = Decision.objects.create(
        inscription=inscription,
        kind=DecisionKind.RESERVES_NON_BLOQUANTES,
        text="Corrections mineures.",
        recorded_by=UserFactory(college=True),
        notified_at=now - timedelta(days=1),
        reserves_due_at=now + timedelta(days=27),
    )
    for position in (1, 2):
        Reserve.objects.create(
            decision=decision,
            position=position,
            text=f"Réserve {position}",
            status=ReserveStatus.A_LEVER,
        )
    return candidature


def _referenced(editeur):
    """A referenced candidature with its attestation, rendered and sealed."""
    candidature = CandidatureFactory(
        editeur=editeur, state=S.REFERENCEE, cnda_homologation=CndaStatus.CERTIFIE
    )
    # The attestation names the author of the last transition as the document's.
    CandidatureTransition.objects.create(
        candidature=candidature,
        name="grant_referencing",
        from_state=S.LEVEE_SOUMISE,
        to_state=S.REFERENCEE,
        actor=UserFactory(instructeur=True),
    )
    attestation = Attestation.objects.create(
        candidature=candidature,
        numero=college_services.numero_allocate(
            dsr_code=candidature.campagne.dsr.code, year=timezone.localdate().year
        ),
        referenced_on=timezone.localdate(),
    )
    college_services.attestation_render(attestation_id=attestation.pk)
    return candidature


def company_with_data(editeur=None) -> CompanyData:
    """Every kind of object of one company. On a transactional database the checks and
    the receipt run when the transaction commits (tasks run in the test's process)."""
    with transaction.atomic():
        eligible = eligible_candidature(**({"editeur": editeur} if editeur else {}))
        member = ready_user(eligible.editeur, company_role=CompanyRole.MANDATAIRE)
        item = _first_file_item(eligible)
        depot_services.depot_add_files(
            candidature=eligible,
            item=item,
            uploads=[upload("compte-rendu.pdf", samples.pdf_bytes())],
            actor=member,
        )
        # Every proof given, not yet submitted: the submission can pass.
        complete = eligible_candidature(editeur=eligible.editeur)
        deposit_everything(complete, actor=member)
        instruction = _submitted_in_instruction(eligible.editeur, member)
        reserves = _reserves_notified(eligible.editeur)
        referenced = _referenced(eligible.editeur)
    return CompanyData(
        member=member,
        eligible=eligible,
        complete=complete,
        instruction=instruction,
        reserves=reserves,
        referenced=referenced,
    )


def receipt_of(candidature) -> Fichier | None:
    soumission = DossierSoumission.objects.filter(candidature=candidature).last()
    return soumission.receipt if soumission else None
