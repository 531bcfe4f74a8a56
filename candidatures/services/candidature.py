"""Writes on candidatures: creation, the phase-1 procedure, withdrawal.

Every change of state goes through `_apply`: it locks the row, checks that the move is
legal from the state found *after* the lock (so of two concurrent requests one wins and
the other gets a clear message), runs the service's own checks (rights, jalons,
completeness), records a CandidatureTransition and notifies after the commit.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models.functions import Lower, Trim
from django.urls import reverse
from django.utils import timezone
from django_fsm import can_proceed

from candidatures.enums import (
    VERSION_REUSABLE_STATES,
    CandidatureState,
    SollicitationPhase,
    SollicitationStatus,
)
from candidatures.models import (
    Campagne,
    Candidature,
    CandidatureTransition,
    Editeur,
    Profil,
    Sollicitation,
)
from candidatures.models.referentiel import name_key
from candidatures.permissions import is_company_member, runs_procedure
from candidatures.selectors.referentiel import current_rem_version
from candidatures.services.onboarding import cgu_accepted
from segur_portal.cache import public_pages_changed
from segur_portal.clocks import due_display, format_paris_datetime
from segur_portal.enums import JournalKind
from segur_portal.journal_events import (
    journal_candidature_created,
    journal_sollicitation,
    journal_transition,
)
from segur_portal.services import notification_send
from segur_portal.webhooks import transition_emission, webhook_transition, webhooks_emit_many

S = CandidatureState
GENERAL = "Général"
ADMIN_FIELDS = ["nom_commercial", "numero_referencement_v1", "version_technique"]
# full_clean must not touch the state (django-fsm protects it) nor the stored files.
NOT_CLEANED = ["state", "cnda_depot", "lettre_engagement", "parc_fichier"]


def _state_label(state: str) -> str:
    return S(state).label.lower()


def _move(
    locked: Candidature,
    *,
    name: str,
    actor,
    now: datetime,
    reason: str = "",
    check: Callable[[Candidature], None] | None = None,
    after: Callable[[Candidature], None] | None = None,
) -> CandidatureTransition:
    """The move on a candidature locked and read after the lock, in memory: legal from
    the state found, the service's own checks, the new state and `after`'s changes.
    Returns its log row, not yet saved."""
    method = getattr(locked, name)
    if not can_proceed(method):
        raise ValidationError(
            f"Action impossible : la candidature est désormais « {_state_label(locked.state)} ». "
            "Rechargez la page pour voir son état."
        )
    if check is not None:
        check(locked)
    from_state = locked.state
    method()
    if after is not None:
        after(locked)
    return CandidatureTransition(
        candidature=locked,
        name=name,
        from_state=from_state,
        to_state=locked.state,
        actor=actor,
        at=now,
        reason=reason,
    )


def _apply(
    *,
    candidature: Candidature,
    name: str,
    actor,
    now: datetime,
    reason: str = "",
    check: Callable[[Candidature], None] | None = None,
    after: Callable[[Candidature], None] | None = None,
) -> Candidature:
    with transaction.atomic():
        locked = (
            Candidature.objects.select_for_update(of=("self",))
            .select_related("campagne", "editeur")
            .get(pk=candidature.pk)
        )
        transition = _move(
            locked, name=name, actor=actor, now=now, reason=reason, check=check, after=after
        )
        locked.save()
        transition.save(force_insert=True)
        journal_transition(transition)
        webhook_transition(transition)
        # The public lists show candidatures by state, the registry their attestation.
        public_pages_changed()
    return locked


def _moves_record(transitions: list[CandidatureTransition], *, fields: list[str]) -> None:
    """What _apply writes after its move, for moves made by _move on candidatures the
    caller has locked, in a few statements: the candidatures' state and `fields`, the log
    rows, the webhooks, the public pages. The journal entries (transition_events) are the
    caller's to append, in the chain of its other events."""
    if not transitions:
        return
    moved = {transition.candidature.pk: transition.candidature for transition in transitions}
    Candidature.objects.bulk_update(list(moved.values()), ["state", *fields])
    CandidatureTransition.objects.bulk_create(transitions)
    webhooks_emit_many([transition_emission(transition) for transition in transitions])
    public_pages_changed()


def _close(locked: Candidature, now: datetime, reason: str) -> None:
    """A candidature rejected, withdrawn or abandoned: closed now, and why."""
    locked.closed_at = now
    locked.closed_reason = reason


def _end_unanswered(candidature_ids, *, skip_locked: bool = False) -> None:
    """The sollicitations still waiting for an answer end with their candidature.

    `skip_locked`, for the sweep: it locks sollicitations before candidatures, so
    waiting here for one that another sweep holds (and that sweep waiting for the
    candidature) would deadlock. That sweep applies it after this commit, reading the
    candidature as it is then."""
    waiting = Sollicitation.objects.filter(
        candidature_id__in=candidature_ids, status=SollicitationStatus.OUVERTE
    )
    if skip_locked:
        waiting = Sollicitation.objects.filter(
            pk__in=list(waiting.select_for_update(skip_locked=True).values_list("pk", flat=True))
        )
    waiting.update(status=SollicitationStatus.CLOSE)


def candidature_url(candidature: Candidature) -> str:
    return reverse("candidatures:detail", args=[candidature.pk])


def notify_company(candidature: Candidature, *, title: str, body: str) -> None:
    """The company's users in the portal and by e-mail, and its declared contacts."""
    notification_send(
        recipients=candidature.editeur.members.filter(is_active=True),
        title=title,
        body=body,
        url=candidature_url(candidature),
        extra_emails=candidature.editeur.contact_emails,
    )


def _require_member(actor, candidature: Candidature) -> None:
    if not is_company_member(actor, candidature):
        raise PermissionDenied("Seuls les comptes de l’entreprise agissent sur sa candidature.")


def _require_procedure(actor) -> None:
    if not runs_procedure(actor):
        raise PermissionDenied("Seuls les instructeurs de l’ANS prennent cette décision.")


def _close_open_sollicitations(candidature: Candidature, phase: str, now: datetime) -> None:
    """A decision on a phase ends the exchanges opened in it, answered or not, at that
    moment (the page shows when)."""
    ending = list(
        candidature.sollicitations.filter(
            phase=phase,
            status__in=[SollicitationStatus.OUVERTE, SollicitationStatus.REPONDUE],
        )
    )
    Sollicitation.objects.filter(pk__in=[s.pk for s in ending]).update(
        status=SollicitationStatus.CLOSE, closed_at=now
    )
    for sollicitation in ending:
        journal_sollicitation(sollicitation, kind=JournalKind.SOLLICITATION_CLOSE, at=now)


# Creation and administrative data


def campagnes_open_for_filing(now: datetime | None = None):
    """Campaigns whose guichet is open for a first administrative deposit (J1 ≤ now < J2)
    and whose DSR has a published REM."""
    now = now or timezone.now()
    return (
        Campagne.objects.filter(j1__lte=now, j2__gt=now, dsr__rem_versions__status="published")
        .select_related("dsr")
        .distinct()
        .order_by("dsr__code")
    )


class VersionTaken(ValidationError):
    """The company already has a candidature for this technical version of the DSR."""

    def __init__(self, existing: Candidature):
        self.existing = existing
        super().__init__(
            {
                "version_technique": ValidationError(
                    f"Votre entreprise a déjà la candidature {existing.reference} "
                    f"(« {_state_label(existing.state)} ») pour la version technique "
                    f"« {existing.version_technique.strip()} » de ce DSR : une version ne fait "
                    "l’objet que d’une candidature. Poursuivez celle-ci, ou retirez-la avant "
                    "d’en déposer une nouvelle.",
                    code="version_taken",
                )
            }
        )


def version_key(version_technique: str) -> str:
    """How two spellings of a technical version compare: "V4.2 " is "v4.2"."""
    return version_technique.strip().lower()


def candidature_same_version(
    *, editeur_id: int, dsr_id: int, version_technique: str, exclude_pk: int | None = None
) -> Candidature | None:
    """The company's other candidature for this DSR and technical version that still
    counts: open, or referenced (DSR §4.1.1, the technical version identifies the
    solution). A withdrawn, rejected, refused or abandoned one leaves the version free."""
    key = version_key(version_technique)
    if not key:
        return None
    candidatures = (
        Candidature.objects.annotate(version_key=Lower(Trim("version_technique")))
        .filter(editeur_id=editeur_id, campagne__dsr_id=dsr_id, version_key=key)
        .exclude(state__in=VERSION_REUSABLE_STATES)
    )
    if exclude_pk is not None:
        candidatures = candidatures.exclude(pk=exclude_pk)
    return candidatures.order_by("created_at", "pk").first()


def _refuse_same_version(
    *, editeur_id: int, dsr_id: int, version_technique: str, exclude_pk: int | None = None
) -> None:
    """Call inside the transaction that writes: the company's row is locked until the
    commit, so two requests for the same version see each other (one wins)."""
    Editeur.objects.select_for_update().only("pk").get(pk=editeur_id)
    existing = candidature_same_version(
        editeur_id=editeur_id,
        dsr_id=dsr_id,
        version_technique=version_technique,
        exclude_pk=exclude_pk,
    )
    if existing is not None:
        raise VersionTaken(existing)


def candidature_create(*, actor, campagne: Campagne, data: dict, now=None) -> Candidature:
    now = now or timezone.now()
    if actor.role != "editeur" or actor.editeur_id is None:
        raise PermissionDenied("Déclarez d’abord votre entreprise.")
    if not cgu_accepted(actor):
        raise PermissionDenied("Acceptez d’abord les conditions générales d’utilisation.")
    if not (campagne.j1 <= now < campagne.j2):
        raise ValidationError(
            {"campagne": "Le guichet de ce DSR n’est pas ouvert aux nouvelles candidatures."}
        )
    version = current_rem_version(campagne.dsr)
    if version is None:
        raise ValidationError({"campagne": "Le REM de ce DSR n’est pas encore publié."})
    with transaction.atomic():
        _refuse_same_version(
            editeur_id=actor.editeur_id,
            dsr_id=campagne.dsr_id,
            version_technique=data.get("version_technique", ""),
        )
        candidature = Candidature(
            editeur_id=actor.editeur_id,
            campagne=campagne,
            rem_version=version,
            created_by=actor,
            created_at=now,
            date_depot_preuves_prevue=data.get("date_depot_preuves_prevue"),
            **{field: data.get(field, "") for field in ADMIN_FIELDS},
        )
        candidature.full_clean(exclude=NOT_CLEANED)
        candidature.save()
        candidature.profils.set(_general_profiles(campagne.dsr))
        journal_candidature_created(candidature)
    return candidature


def _general_profiles(dsr):
    return [p for p in Profil.objects.filter(dsr=dsr) if name_key(p.name) == name_key(GENERAL)]


def open_sollicitation(candidature: Candidature, phase: str, now: datetime):
    return (
        candidature.sollicitations.filter(
            phase=phase, status=SollicitationStatus.OUVERTE, due_at__gt=now, closes_at__gt=now
        )
        .order_by("opened_at")
        .first()
    )


def admin_data_editable(candidature: Candidature, now: datetime) -> bool:
    """Before the first submission, or to answer an open sollicitation of that phase."""
    if candidature.state == S.BROUILLON:
        return now < candidature.campagne.j2
    return candidature.state == S.ADMIN_SOUMISE and bool(
        open_sollicitation(candidature, SollicitationPhase.ADMINISTRATIVE, now)
    )


def candidature_update_admin(*, candidature: Candidature, actor, data: dict, now=None):
    """Save the administrative data as the editor types it (drafts included)."""
    now = now or timezone.now()
    _require_member(actor, candidature)
    with transaction.atomic():
        candidature = Candidature.objects.select_for_update().get(pk=candidature.pk)
        if not admin_data_editable(candidature, now):
            raise ValidationError(
                "Les données administratives ne sont plus modifiables : elles le sont avant la "
                "soumission, ou pour répondre à une sollicitation de l’ANS."
            )
        for field in ADMIN_FIELDS:
            if field in data:
                setattr(candidature, field, data[field])
        if "date_depot_preuves_prevue" in data:
            candidature.date_depot_preuves_prevue = data["date_depot_preuves_prevue"]
        _refuse_same_version(
            editeur_id=candidature.editeur_id,
            dsr_id=candidature.campagne.dsr_id,
            version_technique=candidature.version_technique,
            exclude_pk=candidature.pk,
        )
        candidature.full_clean(exclude=NOT_CLEANED)
        candidature.save(update_fields=[*ADMIN_FIELDS, "date_depot_preuves_prevue"])
        public_pages_changed()
    return candidature


def admin_missing(candidature: Candidature) -> list[str]:
    missing = []
    if not candidature.nom_commercial.strip():
        missing.append("la dénomination commerciale")
    if not candidature.version_technique.strip():
        missing.append("le numéro de version technique")
    if candidature.date_depot_preuves_prevue is None:
        missing.append("la date prévisionnelle du dépôt du dossier de preuves complet")
    editeur = candidature.editeur
    if not all(
        [editeur.representant_nom, editeur.representant_email, editeur.contact_nom,
         editeur.contact_email]
    ):  # fmt: skip
        missing.append("les coordonnées du représentant légal et du contact de l’entreprise")
    return missing


def candidature_submit_admin(*, candidature: Candidature, actor, now=None) -> Candidature:
    now = now or timezone.now()
    _require_member(actor, candidature)

    def check(locked: Candidature) -> None:
        campagne = locked.campagne
        if now < campagne.j1:
            raise ValidationError(
                f"Le guichet ouvre le {format_paris_datetime(campagne.j1)} : la candidature ne peut "
                "pas encore être soumise."
            )
        if now >= campagne.j2:
            raise ValidationError(
                "La candidature administrative pouvait être soumise une première fois "
                f"{due_display(campagne.j2)} (J2) : elle ne peut plus l’être."
            )
        missing = admin_missing(locked)
        if missing:
            raise ValidationError("Il manque " + ", ".join(missing) + ".")
        _refuse_same_version(
            editeur_id=locked.editeur_id,
            dsr_id=campagne.dsr_id,
            version_technique=locked.version_technique,
            exclude_pk=locked.pk,
        )

    def after(locked: Candidature) -> None:
        locked.admin_submitted_at = now

    candidature = _apply(
        candidature=candidature, name="submit_admin", actor=actor, now=now, check=check, after=after
    )
    notify_company(
        candidature,
        title=f"Candidature administrative reçue — {candidature.nom_commercial}",
        body=f"L’ANS a bien reçu la candidature administrative {candidature.reference} "
        f"({candidature.dsr.code}, {candidature.nom_commercial} "
        f"{candidature.version_technique}). Elle vous informera de sa validation.",
    )
    return candidature


@dataclass(frozen=True)
class _FirstSubmissionDeadline:
    """A first submission refused after its jalon: what was never submitted by then is
    closed by the sweep."""

    state: str
    jalon: str
    transition: str
    what: str


FIRST_SUBMISSION_DEADLINES = (
    _FirstSubmissionDeadline(
        S.BROUILLON, "j2", "close_draft",
        "Candidature administrative non soumise avant la date limite de première soumission (J2)",
    ),
    _FirstSubmissionDeadline(
        S.ADMIN_VALIDEE, "j4", "close_eligibility_unsubmitted",
        "Formulaire d’éligibilité non soumis avant la date limite de première soumission (J4)",
    ),
)  # fmt: skip


def candidatures_close_drafts(*, now: datetime) -> int:
    """Sweep: a draft never submitted before J2, and an eligibility form never submitted
    before J4, close the candidature (rejetée, with the reason), since a later first
    deposit is refused. Idempotent: a closed candidature is no longer in the state. Reads
    only the candidatures in that state of the campaigns past the jalon (state index)."""
    closed = 0
    for deadline in FIRST_SUBMISSION_DEADLINES:
        due = Candidature.objects.filter(
            state=deadline.state, **{f"campagne__{deadline.jalon}__lte": now}
        ).select_related("campagne")
        for candidature in due:
            closed += _close_after_first_submission_deadline(candidature, deadline, now)
    return closed


def _close_after_first_submission_deadline(
    candidature: Candidature, deadline: _FirstSubmissionDeadline, now: datetime
) -> bool:
    jalon_at = getattr(candidature.campagne, deadline.jalon)
    reason = f"{deadline.what}, qui courait {due_display(jalon_at)}."

    def check(locked: Candidature) -> None:
        if now < getattr(locked.campagne, deadline.jalon):
            raise ValidationError("Jalon déplacé entre-temps.")

    def after(locked: Candidature) -> None:
        _close(locked, now, reason)

    try:
        _apply(candidature=candidature, name=deadline.transition, actor=None, now=now,
               reason=reason, check=check, after=after)  # fmt: skip
    except ValidationError:
        return False  # submitted or withdrawn meanwhile
    notify_company(
        candidature,
        title=f"Candidature close — {candidature.nom_commercial or candidature.reference}",
        body=f"La candidature {candidature.reference} est close : {reason[0].lower()}"
        f"{reason[1:]} Une nouvelle candidature pourra être déposée au prochain guichet.",
    )
    return True


def candidature_validate_admin(*, candidature: Candidature, actor, now=None) -> Candidature:
    now = now or timezone.now()
    _require_procedure(actor)

    def after(locked: Candidature) -> None:
        locked.admin_validated_at = now
        _close_open_sollicitations(locked, SollicitationPhase.ADMINISTRATIVE, now)

    candidature = _apply(
        candidature=candidature, name="validate_admin", actor=actor, now=now, after=after
    )
    notify_company(
        candidature,
        title=f"Candidature administrative validée — {candidature.nom_commercial}",
        body="Votre candidature administrative est validée : vous pouvez remplir et soumettre "
        f"le formulaire d’éligibilité {due_display(candidature.campagne.j4)} (J4).",
    )
    return candidature


def candidature_reject(*, candidature: Candidature, actor, reason: str, now=None) -> Candidature:
    """The agency rejects an administrative candidature or an eligibility form."""
    now = now or timezone.now()
    _require_procedure(actor)
    if not reason.strip():
        raise ValidationError({"reason": "Indiquez le motif du rejet : l’éditeur le lira."})
    candidature = _reject(candidature=candidature, actor=actor, reason=reason.strip(), now=now)
    return candidature


def _reject(*, candidature: Candidature, actor, reason: str, now: datetime) -> Candidature:
    def after(locked: Candidature) -> None:
        _close(locked, now, reason)
        _end_unanswered([locked.pk])

    candidature = _apply(
        candidature=candidature, name="reject", actor=actor, now=now, reason=reason, after=after
    )
    notify_company(candidature, **rejection_notice(candidature, reason))
    return candidature


def rejection_notice(candidature: Candidature, reason: str) -> dict[str, str]:
    """The title and body of what the company is told of its candidature rejected."""
    return {
        "title": f"Candidature rejetée — {candidature.nom_commercial}",
        "body": f"La candidature {candidature.reference} est rejetée. Motif : {reason}",
    }


def candidature_withdraw(*, candidature: Candidature, actor, reason: str, now=None):
    now = now or timezone.now()
    _require_member(actor, candidature)
    if not reason.strip():
        raise ValidationError({"reason": "Indiquez pourquoi vous retirez la candidature."})

    def after(locked: Candidature) -> None:
        _close(locked, now, reason.strip())
        _end_unanswered([locked.pk])

    candidature = _apply(
        candidature=candidature,
        name="withdraw",
        actor=actor,
        now=now,
        reason=reason.strip(),
        after=after,
    )
    notify_company(
        candidature,
        title=f"Candidature retirée — {candidature.nom_commercial}",
        body=f"{actor.get_full_name()} a retiré la candidature {candidature.reference}.",
    )
    return candidature
