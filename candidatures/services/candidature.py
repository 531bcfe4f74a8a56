"""Writes on candidatures: creation, the phase-1 procedure, withdrawal.

Every change of state goes through `_apply`: it locks the row, checks that the move is
legal from the state found *after* the lock (so of two concurrent requests one wins and
the other gets a clear message), runs the service's own checks (rights, jalons,
completeness), records a CandidatureTransition and notifies after the commit.
"""

from collections.abc import Callable
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_fsm import can_proceed

from candidatures.enums import CandidatureState, SollicitationPhase, SollicitationStatus
from candidatures.models import Campagne, Candidature, CandidatureTransition, Profil
from candidatures.models.referentiel import name_key
from candidatures.permissions import is_company_member, runs_procedure
from candidatures.selectors.referentiel import current_rem_version
from candidatures.services.onboarding import cgu_accepted
from segur_portal.clocks import due_display, format_paris_datetime
from segur_portal.services import notification_send

S = CandidatureState
GENERAL = "Général"
ADMIN_FIELDS = ["nom_commercial", "numero_referencement_v1", "version_technique"]
# full_clean must not touch the state (django-fsm protects it) nor the stored files.
NOT_CLEANED = ["state", "cnda_depot", "lettre_engagement", "parc_fichier"]


def _state_label(state: str) -> str:
    return S(state).label.lower()


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
        locked.save()
        CandidatureTransition.objects.create(
            candidature=locked,
            name=name,
            from_state=from_state,
            to_state=locked.state,
            actor=actor,
            at=now,
            reason=reason,
        )
    return locked


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
    """A decision on a phase ends the exchanges opened in it."""
    candidature.sollicitations.filter(phase=phase, status=SollicitationStatus.OUVERTE).update(
        status=SollicitationStatus.CLOSE
    )


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
        candidature.full_clean(exclude=NOT_CLEANED)
        candidature.save(update_fields=[*ADMIN_FIELDS, "date_depot_preuves_prevue"])
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
                "La date limite de première soumission de la candidature administrative (J2) "
                f"était le {due_display(campagne.j2)} : la candidature ne peut plus être soumise."
            )
        missing = admin_missing(locked)
        if missing:
            raise ValidationError("Il manque " + ", ".join(missing) + ".")

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
        f"le formulaire d’éligibilité avant le {due_display(candidature.campagne.j4)} (J4).",
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
        locked.closed_at = now
        locked.closed_reason = reason
        locked.sollicitations.filter(status=SollicitationStatus.OUVERTE).update(
            status=SollicitationStatus.CLOSE
        )

    candidature = _apply(
        candidature=candidature, name="reject", actor=actor, now=now, reason=reason, after=after
    )
    notify_company(
        candidature,
        title=f"Candidature rejetée — {candidature.nom_commercial}",
        body=f"La candidature {candidature.reference} est rejetée. Motif : {reason}",
    )
    return candidature


def candidature_withdraw(*, candidature: Candidature, actor, reason: str, now=None):
    now = now or timezone.now()
    _require_member(actor, candidature)
    if not reason.strip():
        raise ValidationError({"reason": "Indiquez pourquoi vous retirez la candidature."})

    def after(locked: Candidature) -> None:
        locked.closed_at = now
        locked.closed_reason = reason.strip()
        locked.sollicitations.filter(status=SollicitationStatus.OUVERTE).update(
            status=SollicitationStatus.CLOSE
        )

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
