"""What a candidature's page shows of phase 3: convention, séance, decision, réserves,
attestation — and what the person looking may do there."""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Prefetch

from candidatures.enums import CandidatureState
from candidatures.models import Candidature
from candidatures.permissions import is_company_member, runs_procedure
from college.enums import DecisionKind, ReserveStatus
from college.forms import ReserveAnswerForm, ReturnForm
from college.models import Attestation, Convention, Decision, Inscription, Reserve, ReserveReponse
from college.services import CONSENT_TEXT, can_sign_convention, current_convention
from preuves.cnda import OPEN_STATES as CNDA_OPEN_STATES
from preuves.cnda import CndaState, cnda_state
from segur_portal.clocks import due_display
from segur_portal.enums import Role

S = CandidatureState


@dataclass
class Phase3:
    convention: Convention | None
    inscription: Inscription | None
    decision: Decision | None
    reserves: list[Reserve] = field(default_factory=list)
    attestation: Attestation | None = None
    can_sign: bool = False
    consent_text: str = ""
    can_answer: bool = False
    can_review: bool = False
    can_refuse_levee: bool = False
    can_issue: bool = False
    can_dereference: bool = False
    reserves_open: bool = False
    # From the submission to the decision: where the CNDA homologations stand.
    cnda: CndaState | None = None
    # The deadline as people read it ("jusqu’au lundi 21 décembre 2026 inclus").
    reserves_due: str = ""

    @property
    def shown(self) -> bool:
        pending_cnda = self.cnda is not None and not self.cnda.obtained
        return bool(
            self.convention
            or self.inscription
            or self.attestation
            or self.can_issue
            or pending_cnda
        )


def for_candidature(candidature: Candidature, user, now: datetime, *, forms=None) -> Phase3:
    """`forms`: refused forms to show again, {réserve pk: {"answer_form": …}}."""
    forms = forms or {}
    convention = current_convention(candidature)
    if convention is not None:
        convention = Convention.objects.select_related(
            "document", "signed_document", "signed_by"
        ).get(pk=convention.pk)
    inscription = (
        candidature.inscriptions.select_related("seance").order_by("-seance__date").first()
    )
    decision = (
        Decision.objects.filter(inscription__candidature=candidature, notified_at__isnull=False)
        .select_related("inscription__seance")
        .order_by("-notified_at")
        .first()
    )
    reserves = []
    if decision is not None:
        reserves = list(
            decision.reserves.prefetch_related(
                "exigences",
                Prefetch(
                    "reponses",
                    queryset=ReserveReponse.objects.select_related(
                        "answered_by", "returned_by"
                    ).prefetch_related("fichiers"),
                ),
            )
        )
    attestation = (
        Attestation.objects.filter(candidature=candidature).select_related("fichier").first()
    )
    member = is_company_member(user, candidature)
    reserves_open = (
        decision is not None
        and decision.kind == DecisionKind.RESERVES_NON_BLOQUANTES
        and candidature.state in {S.RESERVES_NON_BLOQUANTES, S.LEVEE_SOUMISE}
    )
    for reserve in reserves:
        reserve.answerable = (
            member
            and reserves_open
            and reserve.status == ReserveStatus.A_LEVER
            and now < decision.reserves_due_at
        )
        given = forms.get(reserve.pk, {})
        reserve.answer_form = given.get("answer_form") or ReserveAnswerForm(
            prefix=f"reserve-{reserve.pk}"
        )
        reserve.return_form = given.get("return_form") or ReturnForm(prefix=f"retour-{reserve.pk}")
    return Phase3(
        convention=convention,
        inscription=inscription,
        decision=decision,
        reserves=reserves,
        attestation=attestation,
        can_sign=(
            candidature.state == S.CONVENTION_ENVOYEE
            and convention is not None
            and not convention.is_signed
            and can_sign_convention(user, candidature)
        ),
        consent_text=CONSENT_TEXT.format(raison_sociale=candidature.editeur.raison_sociale),
        can_answer=any(getattr(r, "answerable", False) for r in reserves),
        can_review=runs_procedure(user) and reserves_open,
        can_refuse_levee=runs_procedure(user)
        and reserves_open
        and decision is not None
        and now >= decision.reserves_due_at,
        can_issue=runs_procedure(user)
        and candidature.state == S.PREUVES_VALIDEES
        and convention is None,
        can_dereference=user.is_authenticated
        and user.role == Role.ADMIN
        and candidature.state == S.REFERENCEE,
        reserves_open=reserves_open,
        cnda=cnda_state(candidature) if candidature.state in CNDA_OPEN_STATES else None,
        reserves_due=due_display(decision.reserves_due_at)
        if decision is not None and decision.reserves_due_at
        else "",
    )
