"""Phase 3 writes: the convention, the séances of the collège, their decisions, the
réserves and their lifting, the attestation and the déréférencement (DSR §4.6).

Every change of a candidature's state goes through candidatures.services.candidature's
`_apply` (row lock, legality after the lock, history). PDFs are rendered outside the
transactions that lock rows; the attestation and the minutes are rendered by Celery
tasks after the commit.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from candidatures.enums import CandidatureState
from candidatures.models import Candidature, Exigence
from candidatures.permissions import is_company_member, runs_procedure
from candidatures.services.candidature import _apply, candidature_url, notify_company
from college import documents
from college.enums import AttestationStatus, DecisionKind, ReserveStatus, SeanceStatus
from college.models import (
    Attestation,
    ConflitInteret,
    Convention,
    Decision,
    Inscription,
    NumeroSequence,
    Reserve,
    ReserveReponse,
    Seance,
    SeanceMembre,
)
from preuves.cnda import CndaState, cnda_state
from preuves.depot import FREE_RULE
from preuves.services import fichier_receive, fichier_store_generated, receiving_files
from segur_portal.clocks import (
    deadline_after_calendar_days,
    due_display,
    format_paris_datetime,
    halfway,
    is_working_day,
    paris_date,
)
from segur_portal.enums import CompanyRole, Role
from segur_portal.journal_events import (
    journal_attestation_document,
    journal_decision,
    journal_signature,
)
from segur_portal.models import User
from segur_portal.services import notification_send
from segur_portal.webhooks import webhook_attestation, webhook_decision

S = CandidatureState
# Réserves non bloquantes: 4 weeks from the notification of the decision (DSR §4.6).
RESERVES_DAYS = 28
CONSENT_TEXT = (
    "J’ai lu la convention de référencement Ségur ci-dessus ; je l’accepte et la signe au "
    "nom de {raison_sociale}, que j’ai qualité pour engager."
)


# Who


def is_college_member(user) -> bool:
    return user.is_authenticated and user.is_active and user.role == Role.COLLEGE


def runs_seances(user) -> bool:
    """Members of the collège run their séances; administrators may too."""
    return user.is_authenticated and user.is_active and user.role in {Role.COLLEGE, Role.ADMIN}


def can_sign_convention(user, candidature: Candidature) -> bool:
    """The mandataire, a représentant, or the legal representative the company declared."""
    if not is_company_member(user, candidature):
        return False
    if user.company_role in {CompanyRole.MANDATAIRE, CompanyRole.REPRESENTANT}:
        return True
    declared = candidature.editeur.representant_email or ""
    return bool(declared) and declared.strip().lower() == user.email.lower()


def _closing(now: datetime, reason: str, then=None):
    """An `after` for _apply that ends the candidature (referenced, refused, withdrawn)."""

    def after(locked: Candidature):
        locked.closed_at = now
        locked.closed_reason = reason
        return then(locked) if then else None

    return after


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise PermissionDenied(message)


# Convention


def current_convention(candidature: Candidature) -> Convention | None:
    return candidature.conventions.order_by("-issued_at", "-pk").first()


def convention_issue(*, candidature: Candidature, actor, now=None) -> Convention:
    """Issue the convention of a candidature whose proofs are validated. Idempotent:
    once issued, the same convention is returned."""
    now = now or timezone.now()
    _require(runs_procedure(actor), "Seule l’ANS émet la convention de référencement.")
    existing = current_convention(candidature)
    if existing is not None and candidature.state != S.PREUVES_VALIDEES:
        return existing
    data = documents.convention_data(candidature, now)
    content = documents.convention_pdf_from(data)
    created: list[Convention] = []

    def after(locked: Candidature) -> None:
        fichier = fichier_store_generated(
            content=content,
            name=f"convention-{locked.reference}.pdf",
            mime="application/pdf",
            editeur=locked.editeur,
            actor=actor,
        )
        created.append(
            Convention.objects.create(
                candidature=locked,
                document=fichier,
                sha256=fichier.sha256,
                data=data,
                issued_at=now,
                issued_by=actor,
            )
        )
        notify_company(
            locked,
            title=f"Convention de référencement à signer — {locked.nom_commercial}",
            body="Les preuves sont validées. La convention de référencement Ségur est à "
            "signer dans le portail par le mandataire ou le représentant légal ; sa "
            "signature inscrit la candidature à la prochaine séance du collège.",
        )

    _apply(candidature=candidature, name="issue_convention", actor=actor, now=now, after=after)
    return created[0]


@dataclass(frozen=True)
class Signature:
    """What the signer's browser sent, beside the signer."""

    password: str
    consent: bool
    document_sha256: str
    ip: str | None = None
    user_agent: str = ""


def convention_sign(*, convention: Convention, actor, signature: Signature, now=None) -> Convention:
    """Sign the convention: the signer proves who they are (password), consents in
    words, and the hash of the document they were shown must be the stored one. The
    signed PDF carries the signature block; the candidature goes on the next séance."""
    now = now or timezone.now()
    candidature = convention.candidature
    _require(
        can_sign_convention(actor, candidature),
        "Seuls le mandataire de l’entreprise ou son représentant légal signent la convention.",
    )
    errors = {}
    if not actor.check_password(signature.password):
        errors["password"] = "Mot de passe incorrect : la signature n’est pas enregistrée."
    if not signature.consent:
        errors["consent"] = "Cochez la case pour exprimer votre consentement à signer."
    if errors:
        raise ValidationError(errors)
    if signature.document_sha256 != convention.sha256:
        raise ValidationError(
            "La convention a été émise de nouveau depuis l’ouverture de cette page : "
            "relisez-la avant de signer."
        )
    signed = Convention.objects.get(pk=convention.pk)
    signed.signed_at = now
    signed.signed_by = actor
    signed.signer_name = actor.get_full_name() or actor.email
    signed.signer_email = actor.email
    signed.signer_capacity = _capacity(actor, candidature)
    signed.consent_text = CONSENT_TEXT.format(raison_sociale=candidature.editeur.raison_sociale)
    signed.signed_sha256 = convention.sha256
    signed.signed_ip = signature.ip or None
    signed.signed_user_agent = signature.user_agent[:400]
    # pyHanko, half a second to import, is loaded by the first signature, not by every
    # process that builds the URL resolver (the sweep's first reverse()).
    from segur_portal.seal import SealError

    try:
        content = documents.signed_convention_pdf(signed)
    except SealError as error:
        # Before any write: the editor signs again once the service answers.
        raise ValidationError(
            "Le cachet du portail n’a pas pu être apposé sur la convention signée : le "
            "service d’horodatage ne répond pas. Rien n’a été signé ; réessayez dans "
            "quelques minutes."
        ) from error
    seance = seance_next(now=now)

    def check(locked: Candidature) -> None:
        latest = current_convention(locked)
        if latest is None or latest.pk != convention.pk or latest.is_signed:
            raise ValidationError("Cette convention n’est plus celle à signer : rechargez la page.")

    def after(locked: Candidature) -> None:
        signed.signed_document = fichier_store_generated(
            content=content,
            name=f"convention-signee-{locked.reference}.pdf",
            mime="application/pdf",
            editeur=locked.editeur,
            actor=actor,
        )
        signed.save()
        journal_signature(signed)
        _inscribe(locked, seance=seance, signed_at=now)
        notify_company(
            locked,
            title=f"Convention signée — {locked.nom_commercial}",
            body=f"{signed.signer_name} a signé la convention le {format_paris_datetime(now)}. "
            f"La candidature est inscrite à la séance du collège du {_seance_day(seance)}.",
        )

    _apply(
        candidature=candidature,
        name="sign_convention",
        actor=actor,
        now=now,
        check=check,
        after=after,
    )
    return signed


def _capacity(actor, candidature: Candidature) -> str:
    role = CompanyRole(actor.company_role).label if actor.company_role else "Compte de l’entreprise"
    declared = (candidature.editeur.representant_email or "").strip().lower()
    if declared and declared == actor.email.lower():
        title = candidature.editeur.representant_titre or "représentant légal"
        return f"{title}, représentant légal déclaré ({role.lower()})"
    return role


# Séances


def _seance_day(seance: Seance) -> str:
    return format_paris_datetime(seance.starts_at)


def _seance_start(day: date) -> datetime:
    hour, minute = (int(part) for part in settings.COLLEGE_SEANCE_TIME.split(":"))
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def _seance_days(today: date, weeks: int) -> list[date]:
    """The séance days of the coming weeks: the configured weekday, moved to the next
    working day when it is a public holiday."""
    days = []
    day = today + timedelta(days=(settings.COLLEGE_WEEKDAY - today.weekday()) % 7)
    for _ in range(weeks):
        held = day
        while not is_working_day(held):
            held += timedelta(days=1)
        days.append(held)
        day += timedelta(days=7)
    return days


def seances_plan(*, now: datetime) -> int:
    """Create the séances of the coming weeks that do not exist yet (a sweeper): one
    query when they all do."""
    days = _seance_days(paris_date(now), settings.COLLEGE_WEEKS_AHEAD)
    existing = set(Seance.objects.filter(date__in=days).values_list("date", flat=True))
    created = 0
    for day in days:
        if day not in existing:
            _seance, was_created = Seance.objects.get_or_create(
                date=day, defaults={"starts_at": _seance_start(day)}
            )
            created += was_created
    return created


def seances_sweep(*, now: datetime) -> int:
    """A séance whose day ended without it being opened was not held: its agenda goes to
    the next séance, each item saying why (a sweeper; idempotent)."""
    handled = 0
    for seance in Seance.objects.filter(status=SeanceStatus.PLANIFIEE, date__lt=paris_date(now)):
        following = seance_next(now=max(now, seance.starts_at))
        with transaction.atomic():
            locked = _lock_seance(seance)
            if locked.status != SeanceStatus.PLANIFIEE:
                continue  # opened or swept meanwhile
            locked.not_held()
            locked.save()
            reason = f"Séance du {locked.date:%d/%m/%Y} non tenue (jamais ouverte)."
            for inscription in locked.inscriptions.select_related("candidature"):
                _pass_on(inscription, following=following, reason=reason)
        handled += 1
    return handled


def seance_opening_problem(seance: Seance, now: datetime) -> str:
    """Why the séance cannot be opened now; empty when it can. A séance opens on its
    day (Paris), from its start time: not hours before the collège meets."""
    if seance.status != SeanceStatus.PLANIFIEE:
        return "Cette séance n’est plus à ouvrir : rechargez la page."
    if paris_date(now) > seance.date:
        return (
            f"La séance du {_seance_day(seance)} n’a pas été ouverte le jour prévu : son ordre "
            "du jour passe à la séance suivante."
        )
    if now < seance.starts_at:
        return f"La séance s’ouvre le jour prévu, à partir du {_seance_day(seance)}."
    return ""


def quorum() -> int:
    """Members present without a conflict of interest a decision needs."""
    return settings.COLLEGE_QUORUM


def deciders(inscription: Inscription) -> int:
    """The members present at the séance without a conflict on this candidature: those
    who count for its quorum."""
    return (
        SeanceMembre.objects.filter(seance_id=inscription.seance_id, present=True)
        .exclude(user__in=ConflitInteret.objects.filter(inscription=inscription).values("user"))
        .count()
    )


def _quorum_shortfall(count: int) -> str:
    members = {0: "aucun membre présent", 1: "1 membre présent"}.get(
        count, f"{count} membres présents"
    )
    return f"{members} sans conflit d’intérêts sur cette candidature, il en faut {quorum()}"


def quorum_missing(count: int) -> str:
    """Why a decision cannot be taken with `count` members who count; empty if it can."""
    return "" if count >= quorum() else f"Quorum non atteint : {_quorum_shortfall(count)}."


def seance_next(*, now: datetime) -> Seance:
    """The first séance still to be held whose start is ahead; planned if needed."""
    upcoming = Seance.objects.filter(status=SeanceStatus.PLANIFIEE, starts_at__gt=now)
    seance = upcoming.order_by("starts_at").first()
    if seance is None:
        seances_plan(now=now)
        seance = upcoming.order_by("starts_at").first()
    return seance


def _inscribe(
    candidature: Candidature, *, seance: Seance, signed_at, carried_over=False, reason: str = ""
):
    return Inscription.objects.get_or_create(
        seance=seance,
        candidature=candidature,
        defaults={
            "signed_at": signed_at,
            "carried_over": carried_over,
            "carried_over_reason": reason,
        },
    )[0]


def _carry_over(inscription: Inscription, *, following: Seance, actor, now, reason: str) -> None:
    """Not decided at this séance: the candidature goes on the next one, and both
    agenda items say why."""
    _apply(
        candidature=inscription.candidature,
        name="carry_over",
        actor=actor,
        now=now,
        reason=reason,
    )
    _pass_on(inscription, following=following, reason=reason)


def _pass_on(inscription: Inscription, *, following: Seance, reason: str) -> None:
    """The agenda item leaves its séance for the next one; both say why."""
    inscription.deferred_reason = reason
    inscription.save(update_fields=["deferred_reason"])
    _inscribe(
        inscription.candidature,
        seance=following,
        signed_at=inscription.signed_at,
        carried_over=True,
        reason=reason,
    )


def _lock_seance(seance: Seance) -> Seance:
    return Seance.objects.select_for_update().get(pk=seance.pk)


def seance_open(*, seance: Seance, actor, present_ids, now=None) -> Seance:
    """Open a séance on its day: the collège's members are listed, those present
    marked, and every candidature of the agenda goes before the collège."""
    now = now or timezone.now()
    _require(runs_seances(actor), "Seuls les membres du collège tiennent les séances.")
    present_ids = {int(pk) for pk in present_ids}
    members = list(User.objects.filter(role=Role.COLLEGE, is_active=True).order_by("pk"))
    if not present_ids & {member.pk for member in members}:
        raise ValidationError({"present": "Cochez au moins un membre présent."})
    with transaction.atomic():
        locked = _lock_seance(seance)
        if problem := seance_opening_problem(locked, now):
            raise ValidationError(problem)
        locked.open()
        locked.opened_at = now
        locked.opened_by = actor
        locked.save()
        SeanceMembre.objects.bulk_create(
            SeanceMembre(seance=locked, user=member, present=member.pk in present_ids)
            for member in members
        )
        # Signed since the last séance but inscribed on a later one: brought forward.
        for candidature in Candidature.objects.filter(state=S.CONVENTION_SIGNEE).exclude(
            inscriptions__seance=locked
        ):
            later = candidature.inscriptions.filter(seance__status=SeanceStatus.PLANIFIEE).first()
            if later is not None:
                later.seance = locked
                later.save(update_fields=["seance"])
        for inscription in locked.inscriptions.select_related("candidature"):
            _apply(
                candidature=inscription.candidature,
                name="enter_college",
                actor=actor,
                now=now,
                reason=f"Séance du {locked.date:%d/%m/%Y}",
            )
    return locked


def seance_presence_set(*, seance: Seance, actor, user_id: int, present: bool) -> None:
    _require(runs_seances(actor), "Seuls les membres du collège tiennent les séances.")
    with transaction.atomic():
        locked = _lock_seance(seance)
        if locked.status != SeanceStatus.OUVERTE:
            raise ValidationError("La présence se note pendant la séance.")
        SeanceMembre.objects.filter(seance=locked, user_id=user_id).update(present=present)


def conflict_declare(*, inscription: Inscription, actor, note: str = "", now=None):
    """A member declares a conflict of interest: they will not record this decision."""
    now = now or timezone.now()
    _require(is_college_member(actor), "Seuls les membres du collège déclarent un conflit.")
    with transaction.atomic():
        seance = _lock_seance(inscription.seance)
        if seance.status not in {SeanceStatus.PLANIFIEE, SeanceStatus.OUVERTE}:
            raise ValidationError("La séance est close : elle ne change plus.")
        decision = Decision.objects.filter(inscription=inscription).first()
        if decision is not None and decision.recorded_by_id == actor.pk:
            raise ValidationError(
                "Vous avez enregistré la décision de cette candidature : un autre membre doit "
                "l’enregistrer de nouveau avant que vous déclariez un conflit."
            )
        return ConflitInteret.objects.get_or_create(
            inscription=inscription,
            user=actor,
            defaults={"note": note.strip()[:300], "declared_at": now},
        )[0]


@dataclass(frozen=True)
class ReserveInput:
    text: str
    exigence_identifiers: list[str]


def parse_identifiers(value: str) -> list[str]:
    """ "INS.01, DMP/AIRS.03 ; SSI.07" → ["INS.01", "DMP/AIRS.03", "SSI.07"]."""
    return [part for part in re.split(r"[\s,;]+", value or "") if part]


def decision_record(
    *, inscription: Inscription, actor, kind: str, text: str, reserves: list[ReserveInput], now=None
) -> Decision:
    """Record (or record again) the decision on one candidature of an open séance. Only
    a member present and without declared conflict records it."""
    now = now or timezone.now()
    _require(is_college_member(actor), "Seuls les membres du collège enregistrent les décisions.")
    candidature = inscription.candidature
    errors: dict[str, list[str]] = {}
    if kind not in DecisionKind.values:
        errors.setdefault("kind", []).append("Choisissez l’une des trois décisions.")
    if not text.strip():
        errors.setdefault("text", []).append(
            "Écrivez le texte de la décision : il est notifié à l’éditeur."
        )
    reserves = [r for r in reserves if r.text.strip() or r.exigence_identifiers]
    if kind == DecisionKind.SANS_RESERVE and reserves:
        errors.setdefault("reserves", []).append(
            "Un référencement sans réserve ne porte aucune réserve : retirez-les ou choisissez "
            "une décision avec réserves."
        )
    if kind != DecisionKind.SANS_RESERVE and kind in DecisionKind.values and not reserves:
        errors.setdefault("reserves", []).append("Écrivez au moins une réserve.")
    if kind == DecisionKind.SANS_RESERVE and not (cnda := cnda_state(candidature)).obtained:
        errors.setdefault("kind", []).append(
            f"Référencement sans réserve impossible. {cnda.refusal}"
        )
    known = dict(
        Exigence.objects.filter(rem_version=candidature.rem_version).values_list("identifier", "pk")
    )
    resolved: list[tuple[str, list[int]]] = []
    for position, reserve in enumerate(reserves, start=1):
        if not reserve.text.strip():
            errors.setdefault("reserves", []).append(f"Réserve {position} : écrivez son texte.")
        unknown = [i for i in reserve.exigence_identifiers if i not in known]
        if unknown:
            errors.setdefault("reserves", []).append(
                f"Réserve {position} : {', '.join(unknown)} ne figure pas dans le REM de la "
                "candidature."
            )
        resolved.append(
            (reserve.text.strip(), [known[i] for i in reserve.exigence_identifiers if i in known])
        )
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        seance = _lock_seance(inscription.seance)
        if seance.status != SeanceStatus.OUVERTE:
            raise ValidationError("Les décisions s’enregistrent pendant la séance ouverte.")
        if not SeanceMembre.objects.filter(seance=seance, user=actor, present=True).exists():
            raise ValidationError(
                "Seuls les membres présents à la séance enregistrent une décision."
            )
        if ConflitInteret.objects.filter(inscription=inscription, user=actor).exists():
            raise PermissionDenied(
                "Vous avez déclaré un conflit d’intérêts sur cette candidature : un autre membre "
                "enregistre sa décision."
            )
        if missing := quorum_missing(deciders(inscription)):
            raise ValidationError(
                f"{missing} La décision ne peut pas être prise ; sans quorum à la clôture, la "
                "candidature passe à la séance suivante."
            )
        decision, _created = Decision.objects.update_or_create(
            inscription=inscription,
            defaults={"kind": kind, "text": text.strip(), "recorded_by": actor, "recorded_at": now},
        )
        decision.reserves.all().delete()
        for position, (reserve_text, exigence_ids) in enumerate(resolved, start=1):
            reserve = Reserve.objects.create(
                decision=decision, position=position, text=reserve_text
            )
            reserve.exigences.set(exigence_ids)
        journal_decision(decision)
    return decision


def seance_close(*, seance: Seance, actor, now=None) -> Seance:
    """Close the séance: its decisions become final and are notified, their clocks start,
    the referenced get their attestation; the candidatures not decided (not examined, no
    quorum, CNDA homologations not obtained for « sans réserve ») go on the next séance
    with the reason. The minutes are rendered after the commit. Nothing of it changes
    afterwards."""
    from college import tasks

    now = now or timezone.now()
    _require(runs_seances(actor), "Seuls les membres du collège tiennent les séances.")
    following = seance_next(now=max(now, seance.starts_at))
    attestations: list[int] = []
    with transaction.atomic():
        locked = _lock_seance(seance)
        if locked.status != SeanceStatus.OUVERTE:
            raise ValidationError("Seule une séance ouverte se clôt.")
        for inscription in locked.inscriptions.select_related("candidature__editeur"):
            decision = Decision.objects.filter(inscription=inscription).first()
            reason = _carry_over_reason_now(inscription, decision, locked)
            if reason:
                _carry_over(inscription, following=following, actor=actor, now=now, reason=reason)
                continue
            attestation = _decision_notify(decision, actor=actor, now=now)
            if attestation is not None:
                attestations.append(attestation.pk)
        locked.close()
        locked.closed_at = now
        locked.closed_by = actor
        locked.save()
        transaction.on_commit(lambda: tasks.seance_minutes_render.delay(locked.pk), robust=True)
        for pk in attestations:
            transaction.on_commit(lambda pk=pk: tasks.attestation_render.delay(pk), robust=True)
    return locked


def carry_over_reason(
    *, seance: Seance, deciders: int, decision: Decision | None, cnda: CndaState | None
) -> str:
    """Why an agenda item leaves the séance without a decision applied; empty when its
    decision stands. `deciders`: members present without a conflict on it; `cnda`: its
    CNDA homologations (needed for a decision « sans réserve »)."""
    day = f"{seance.date:%d/%m/%Y}"
    if deciders < quorum():
        return (
            f"Quorum non atteint en séance du {day} : {_quorum_shortfall(deciders)} ; aucune "
            "décision ne pouvait être prise."
        )
    if decision is None:
        return f"Non examinée en séance du {day}."
    if decision.kind == DecisionKind.SANS_RESERVE and cnda is not None and not cnda.obtained:
        return f"Référencement sans réserve non prononcé en séance du {day}. {cnda.refusal}"
    return ""


def _carry_over_reason_now(inscription: Inscription, decision: Decision | None, seance) -> str:
    """carry_over_reason from the database, at the closing: presence, conflicts and
    homologations may have changed since the decision was recorded."""
    sans_reserve = decision is not None and decision.kind == DecisionKind.SANS_RESERVE
    return carry_over_reason(
        seance=seance,
        deciders=deciders(inscription),
        decision=decision,
        cnda=cnda_state(inscription.candidature) if sans_reserve else None,
    )


def _decision_notify(decision: Decision, *, actor, now) -> Attestation | None:
    """Apply a final decision to its candidature and tell the company."""
    candidature = decision.inscription.candidature
    attestation = None
    reserves = list(decision.reserves.prefetch_related("exigences"))
    listed = "\n".join(
        f"{reserve.position}. {reserve.text}"
        + (
            f" (exigences : {', '.join(e.identifier for e in reserve.exigences.all())})"
            if reserve.exigences.all()
            else ""
        )
        for reserve in reserves
    )
    decision.notified_at = now
    if decision.kind == DecisionKind.SANS_RESERVE:
        attestation = _grant(
            candidature, actor=actor, now=now, reason=decision.text, closed_reason=decision.text
        )
        title = f"Logiciel référencé — {candidature.nom_commercial}"
        body = (
            f"Le collège a attribué le référencement sans réserve.\n\n{decision.text}\n\n"
            f"Numéro de référencement : {attestation.numero}. L’attestation est téléchargeable "
            "sur la page de la candidature."
        )
    elif decision.kind == DecisionKind.RESERVES_NON_BLOQUANTES:
        decision.reserves_due_at = deadline_after_calendar_days(now, RESERVES_DAYS)
        _apply(
            candidature=candidature, name="set_reserves", actor=actor, now=now, reason=decision.text
        )
        title = f"Réserves non bloquantes à lever — {candidature.nom_commercial}"
        body = (
            f"Le collège n’a pas attribué le référencement en l’état : des réserves non "
            f"bloquantes sont à lever.\n\n{decision.text}\n\nRéserves :\n{listed}\n\n"
            f"Répondez à chaque réserve dans le portail "
            f"{due_display(decision.reserves_due_at)} ; sans levée dans ce délai, le "
            "référencement est refusé."
        )
    else:
        _apply(
            candidature=candidature,
            name="refuse",
            actor=actor,
            now=now,
            reason=decision.text,
            after=_closing(now, decision.text),
        )
        title = f"Référencement refusé — {candidature.nom_commercial}"
        body = (
            f"Le collège a refusé le référencement : réserves bloquantes.\n\n{decision.text}\n\n"
            f"Réserves :\n{listed}\n\nPour obtenir le référencement, adaptez le logiciel et "
            "déposez une nouvelle candidature."
        )
    decision.save(update_fields=["notified_at", "reserves_due_at"])
    webhook_decision(decision)
    notify_company(candidature, title=title, body=body)
    return attestation


# Réserves non bloquantes
#
# Every write below locks the candidature's row first, then reads the réserves: two
# people answering or lifting the last two réserves at once are served one after the
# other, and the second sees what the first did (PostgreSQL READ COMMITTED: a statement
# run after the lock is granted sees the first transaction's commit).

LEVEE_STATES = {S.RESERVES_NON_BLOQUANTES, S.LEVEE_SOUMISE}


def _reserves_open(candidature: Candidature, now: datetime) -> Decision:
    decision = (
        Decision.objects.filter(inscription__candidature=candidature, notified_at__isnull=False)
        .order_by("-notified_at")
        .first()
    )
    if decision is None or decision.kind != DecisionKind.RESERVES_NON_BLOQUANTES:
        raise ValidationError("Cette candidature n’a pas de réserves non bloquantes à lever.")
    return decision


def _lock_candidature(candidature: Candidature) -> Candidature:
    """The candidature's row, locked until the end of the transaction; its state read
    after the lock."""
    locked = Candidature.objects.select_for_update(of=("self",)).get(pk=candidature.pk)
    if locked.state not in LEVEE_STATES:
        raise ValidationError(
            "Les réserves de cette candidature ne sont plus en cours de levée : rechargez la page."
        )
    return locked


def reserve_answer(*, reserve: Reserve, actor, comment: str, uploads, now=None) -> ReserveReponse:
    """The company answers a réserve with a comment and files (checked as proofs), before
    the deadline. When every réserve has its answer, the lifting is submitted."""
    now = now or timezone.now()
    decision = reserve.decision
    candidature = decision.inscription.candidature
    _require(
        is_company_member(actor, candidature),
        "Seuls les comptes de l’entreprise répondent aux réserves.",
    )
    errors = {}
    if not comment.strip():
        errors["comment"] = "Dites ce qui a été corrigé."
    if not uploads:
        errors["fichiers"] = "Joignez au moins un fichier qui prouve la correction."
    if errors:
        raise ValidationError(errors)
    if now >= decision.reserves_due_at:
        raise ValidationError(
            "Le délai de levée des réserves a expiré (il courait "
            f"{due_display(decision.reserves_due_at)})."
        )
    if reserve.status != ReserveStatus.A_LEVER:
        raise ValidationError("Cette réserve a déjà sa réponse : attendez l’avis de l’ANS.")
    with receiving_files(), transaction.atomic():
        fichiers = [
            fichier_receive(upload=upload, rule=FREE_RULE, editeur=candidature.editeur, actor=actor)
            for upload in uploads
        ]
        # Locked once the files are stored: a long upload does not hold the row.
        locked_candidature = _lock_candidature(candidature)
        locked = Reserve.objects.select_for_update().get(pk=reserve.pk)
        if locked.status != ReserveStatus.A_LEVER:
            raise ValidationError("Cette réserve a déjà sa réponse : attendez l’avis de l’ANS.")
        reponse = ReserveReponse.objects.create(
            reserve=locked, comment=comment.strip(), answered_by=actor, answered_at=now
        )
        reponse.fichiers.set(fichiers)
        locked.status = ReserveStatus.REPONSE_SOUMISE
        locked.save(update_fields=["status"])
        if (
            locked_candidature.state == S.RESERVES_NON_BLOQUANTES
            and not decision.reserves.filter(status=ReserveStatus.A_LEVER).exists()
        ):
            _apply(candidature=candidature, name="submit_levee", actor=actor, now=now)
            instructeur = candidature.instructeur
            if instructeur is not None:
                notification_send(
                    recipients=[instructeur],
                    title=f"Levée des réserves soumise — {candidature.reference}",
                    body=f"{candidature.editeur.raison_sociale} a répondu à chaque réserve.",
                    url=candidature_url(candidature),
                )
    return reponse


def _levee_grant(candidature: Candidature, *, actor, now: datetime, reason: str) -> Attestation:
    """Every réserve lifted: referenced, numbered, the company told, the PDF rendered
    after the commit. The caller holds the candidature's lock and has checked the CNDA
    homologations."""
    from college import tasks

    attestation = _grant(
        candidature,
        actor=actor,
        now=now,
        reason=reason,
        closed_reason="Réserves non bloquantes levées",
    )
    notify_company(
        candidature,
        title=f"Réserves levées : logiciel référencé — {candidature.nom_commercial}",
        body="L’ANS a levé toutes les réserves. Numéro de référencement : "
        f"{attestation.numero}. L’attestation est téléchargeable sur la page de la "
        "candidature.",
    )
    transaction.on_commit(lambda: tasks.attestation_render.delay(attestation.pk), robust=True)
    return attestation


def reserve_lift(*, reserve: Reserve, actor, now=None) -> Reserve:
    """The instructor lifts an answered réserve; the last one lifted references."""
    now = now or timezone.now()
    _require(runs_procedure(actor), "Seuls les instructeurs de l’ANS lèvent les réserves.")
    candidature = reserve.decision.inscription.candidature
    _reserves_open(candidature, now)
    with transaction.atomic():
        _lock_candidature(candidature)
        locked = Reserve.objects.select_for_update().get(pk=reserve.pk)
        if locked.status != ReserveStatus.REPONSE_SOUMISE:
            raise ValidationError("Seule une réserve qui a sa réponse se lève.")
        locked.status = ReserveStatus.LEVEE
        locked.lifted_at = now
        locked.lifted_by = actor
        locked.save(update_fields=["status", "lifted_at", "lifted_by"])
        remaining = reserve.decision.reserves.exclude(status=ReserveStatus.LEVEE).exists()
        if not remaining and not (cnda := cnda_state(candidature)).obtained:
            raise ValidationError(
                f"Dernière réserve : la lever référencerait le logiciel. {cnda.refusal} La "
                "réserve reste à lever jusqu’à ce que l’éditeur ait déposé la preuve et "
                "déclaré les homologations certifiées."
            )
        if not remaining:
            _levee_grant(candidature, actor=actor, now=now, reason="Réserves non bloquantes levées")
    return locked


def reserve_return(*, reserve: Reserve, actor, comment: str, now=None) -> Reserve:
    """The instructor sends an answer back, saying why, while the deadline runs."""
    now = now or timezone.now()
    _require(runs_procedure(actor), "Seuls les instructeurs de l’ANS examinent les réponses.")
    if not comment.strip():
        raise ValidationError({"comment": "Dites à l’éditeur ce qui manque."})
    candidature = reserve.decision.inscription.candidature
    decision = _reserves_open(candidature, now)
    if now >= decision.reserves_due_at:
        raise ValidationError(
            "Le délai de levée est expiré : levez la réserve ou refusez la levée."
        )
    with transaction.atomic():
        locked_candidature = _lock_candidature(candidature)
        locked = Reserve.objects.select_for_update().get(pk=reserve.pk)
        if locked.status != ReserveStatus.REPONSE_SOUMISE:
            raise ValidationError("Seule une réserve qui a sa réponse se renvoie.")
        reponse = locked.reponses.order_by("-answered_at", "-pk").first()
        reponse.returned_at = now
        reponse.returned_by = actor
        reponse.return_comment = comment.strip()
        reponse.save(update_fields=["returned_at", "returned_by", "return_comment"])
        locked.status = ReserveStatus.A_LEVER
        locked.save(update_fields=["status"])
        if locked_candidature.state == S.LEVEE_SOUMISE:
            _apply(candidature=candidature, name="reopen_reserves", actor=actor, now=now)
        notify_company(
            candidature,
            title=f"Réserve {locked.position} : réponse à compléter — {candidature.nom_commercial}",
            body=f"{comment.strip()}\n\nRépondez de nouveau "
            f"{due_display(decision.reserves_due_at)}.",
        )
    return locked


def levee_refuse(*, candidature: Candidature, actor, reason: str, now=None) -> Candidature:
    """After the deadline, the instructor refuses a lifting whose answers do not
    prove the corrections."""
    now = now or timezone.now()
    _require(runs_procedure(actor), "Seuls les instructeurs de l’ANS refusent la levée.")
    if not reason.strip():
        raise ValidationError({"reason": "Motivez le refus : il est notifié à l’éditeur."})
    decision = _reserves_open(candidature, now)
    if now < decision.reserves_due_at:
        raise ValidationError(
            "Le délai de levée court encore : renvoyez les réponses insuffisantes à l’éditeur."
        )
    with transaction.atomic():
        _lock_candidature(candidature)
        locked = _apply(
            candidature=candidature,
            name="refuse",
            actor=actor,
            now=now,
            reason=reason.strip(),
            after=_closing(now, f"Réserves non levées : {reason.strip()}"),
        )
        notify_company(
            locked,
            title=f"Référencement refusé — {locked.nom_commercial}",
            body=f"Les réserves n’ont pas été levées : {reason.strip()}",
        )
    return locked


def reserves_sweep(*, now: datetime) -> int:
    """Réserves non bloquantes: reminders at half-time and one week before the deadline;
    refusal when the deadline passes with réserves still to answer. A lifting submitted
    (every réserve answered in time) is never refused by the clock: the instructor is
    told once the deadline has passed; and one whose réserves are all lifted is
    referenced (repairs what a lost race left behind). Idempotent."""
    handled = 0
    decisions = (
        Decision.objects.filter(
            kind=DecisionKind.RESERVES_NON_BLOQUANTES, notified_at__isnull=False
        )
        .filter(_reserves_due(now))
        .select_related(
            "inscription__candidature__editeur",
            "inscription__candidature__campagne",
            "inscription__candidature__instructeur",
        )
    )
    for decision in decisions:
        candidature = decision.inscription.candidature
        if candidature.state == S.LEVEE_SOUMISE:
            handled += _levee_soumise_sweep(decision, now=now)
            continue
        due = decision.reserves_due_at
        if now >= due:
            try:
                _apply(
                    candidature=candidature,
                    name="refuse",
                    actor=None,
                    now=now,
                    reason="Réserves non levées dans le délai de 4 semaines",
                    after=_closing(
                        now, "Réserves non bloquantes non levées dans le délai de 4 semaines."
                    ),
                )
            except ValidationError:
                continue  # moved meanwhile: nothing to do
            notify_company(
                candidature,
                title=f"Référencement refusé — {candidature.nom_commercial}",
                body="Les réserves non bloquantes n’ont pas reçu de réponse dans le délai, qui "
                f"courait {due_display(due)} : le référencement est refusé (DSR §4.6).",
            )
            handled += 1
            continue
        week_before = due - timedelta(days=7)
        if decision.reminder_week_sent_at is None and now >= week_before:
            field = "reminder_week_sent_at"
        elif (
            decision.reminder_half_sent_at is None
            and decision.reminder_week_sent_at is None
            and now >= halfway(decision.notified_at, due)
        ):
            field = "reminder_half_sent_at"
        else:
            continue
        if Decision.objects.filter(pk=decision.pk, **{field: None}).update(**{field: now}):
            notify_company(
                candidature,
                title=f"Réserves à lever {due_display(due)} — {candidature.nom_commercial}",
                body="Des réserves non bloquantes attendent encore votre réponse, "
                f"{due_display(due)} : sans levée dans ce délai, le référencement est refusé.",
            )
            handled += 1
    return handled


def _reserves_due(now: datetime) -> Q:
    """The decisions under réserves with something for the sweep at `now`; the exact
    instants are checked again row by row. Waiting for the company: the deadline or the
    week before it reached, or half of the four weeks gone (halfway from the
    notification comes 14 days after it at the earliest). Lifting submitted: every
    réserve lifted, one sent back, or the deadline passed without the instructor told."""
    state = "inscription__candidature__state"
    waiting = Q(**{state: S.RESERVES_NON_BLOQUANTES}) & (
        Q(reserves_due_at__lte=now + timedelta(days=7), reminder_week_sent_at__isnull=True)
        | Q(reserves_due_at__lte=now)
        | Q(
            reminder_half_sent_at__isnull=True,
            reminder_week_sent_at__isnull=True,
            notified_at__lte=now - timedelta(days=RESERVES_DAYS // 2),
        )
    )
    reserves = Reserve.objects.filter(decision=OuterRef("pk"))
    submitted = Q(**{state: S.LEVEE_SOUMISE}) & (
        ~Exists(reserves.exclude(status=ReserveStatus.LEVEE))
        | Exists(reserves.filter(status=ReserveStatus.A_LEVER))
        | Q(reserves_due_at__lte=now, levee_overdue_notified_at__isnull=True)
    )
    return waiting | submitted


def _levee_soumise_sweep(decision: Decision, *, now: datetime) -> int:
    """A submitted lifting: every réserve lifted → referenced (once its CNDA homologations
    are obtained); a réserve sent back meanwhile → open again to the company; past the
    deadline with answers still to review → the instructor told once."""
    candidature = decision.inscription.candidature
    with transaction.atomic():
        try:
            _lock_candidature(candidature)
        except ValidationError:
            return 0  # moved meanwhile
        statuses = set(decision.reserves.values_list("status", flat=True))
        if statuses == {ReserveStatus.LEVEE}:
            if not cnda_state(candidature).obtained:
                return 0  # referenced by a later sweep, once the homologations are obtained
            last = decision.reserves.order_by("-lifted_at", "-pk").first()
            _levee_grant(
                candidature,
                actor=last.lifted_by,
                now=now,
                reason="Réserves non bloquantes levées (toutes l’étaient : référencement "
                "attribué par le balayage)",
            )
            return 1
        if ReserveStatus.A_LEVER in statuses:
            _apply(
                candidature=candidature,
                name="reopen_reserves",
                actor=None,
                now=now,
                reason="Une réserve attend de nouveau la réponse de l’éditeur",
            )
            return 1
    if now < decision.reserves_due_at or decision.levee_overdue_notified_at is not None:
        return 0
    if not Decision.objects.filter(pk=decision.pk, levee_overdue_notified_at=None).update(
        levee_overdue_notified_at=now
    ):
        return 0
    if candidature.instructeur is not None:
        notification_send(
            recipients=[candidature.instructeur],
            title=f"Levée des réserves à instruire — {candidature.reference}",
            body=f"Le délai de levée courait {due_display(decision.reserves_due_at)} ; "
            "l’éditeur avait répondu à chaque réserve à temps. Levez chaque réserve dont la "
            "réponse prouve la correction, ou refusez la levée.",
            url=candidature_url(candidature),
        )
    return 1


# Attestation


def numero_prefix(dsr_code: str, year: int) -> str:
    """SEGUR-<DSR code in capitals, other signs as hyphens>-<year of the decision>."""
    code = re.sub(r"[^A-Z0-9]+", "-", dsr_code.upper()).strip("-")
    return f"SEGUR-{code}-{year}"


def numero_allocate(*, dsr_code: str, year: int) -> str:
    """The next referencing number of a DSR for a year, e.g. SEGUR-MDV-LGC-VA2-2026-00042.
    The counter row is locked: two référencements at once never get the same number,
    and a number is never given again (the attestation keeps it even when withdrawn)."""
    prefix = numero_prefix(dsr_code, year)
    with transaction.atomic():
        try:
            with transaction.atomic():
                NumeroSequence.objects.get_or_create(prefix=prefix)
        except IntegrityError:
            pass  # created meanwhile by another request
        sequence = NumeroSequence.objects.select_for_update().get(prefix=prefix)
        sequence.last += 1
        sequence.save(update_fields=["last"])
    return f"{prefix}-{sequence.last:05d}"


def _grant(candidature: Candidature, *, actor, now: datetime, reason: str, closed_reason: str):
    """Referenced: the candidature closed, its attestation and number given."""
    holder: list[Attestation] = []
    _apply(
        candidature=candidature,
        name="grant_referencing",
        actor=actor,
        now=now,
        reason=reason,
        after=_closing(
            now, closed_reason, lambda locked: holder.append(_attestation_grant(locked, now=now))
        ),
    )
    return holder[0]


def _attestation_grant(candidature: Candidature, *, now: datetime) -> Attestation:
    day = paris_date(now)
    return Attestation.objects.create(
        candidature=candidature,
        numero=numero_allocate(dsr_code=candidature.campagne.dsr.code, year=day.year),
        referenced_on=day,
        issued_at=now,
    )


def verification_url(attestation: Attestation) -> str:
    return settings.SITE_URL + reverse("verifier:attestation", args=[attestation.numero])


def attestation_render(*, attestation_id: int) -> Attestation:
    """Render and store the attestation's PDF once, with its hash; idempotent."""
    attestation = Attestation.objects.select_related(
        "candidature__editeur", "candidature__campagne__dsr"
    ).get(pk=attestation_id)
    if attestation.fichier_id:
        return attestation
    content = documents.attestation_pdf(attestation, verify_url=verification_url(attestation))
    actor = _document_actor(attestation.candidature)
    with transaction.atomic():
        locked = Attestation.objects.select_for_update().get(pk=attestation_id)
        if locked.fichier_id:
            return locked
        locked.fichier = fichier_store_generated(
            content=content,
            name=f"attestation-{locked.numero}.pdf",
            mime="application/pdf",
            editeur=attestation.candidature.editeur,
            actor=actor,
        )
        locked.sha256 = locked.fichier.sha256
        locked.save(update_fields=["fichier", "sha256"])
        journal_attestation_document(locked)
        webhook_attestation(locked)
    return locked


def _document_actor(candidature: Candidature):
    """Who the portal records as the author of a document it made: the agent whose
    action caused it (the last transition's author)."""
    transition = candidature.transitions.filter(actor__isnull=False).order_by("-at", "-pk").first()
    return transition.actor


def seance_minutes_render(*, seance_id: int) -> Seance:
    """Render and store the minutes of a closed séance once; idempotent."""
    seance = Seance.objects.select_related("closed_by").get(pk=seance_id)
    if seance.minutes_id or seance.status != SeanceStatus.CLOSE:
        return seance
    content = documents.minutes_pdf(seance)
    with transaction.atomic():
        locked = _lock_seance(seance)
        if locked.minutes_id:
            return locked
        locked.minutes = fichier_store_generated(
            content=content,
            name=f"proces-verbal-seance-{locked.date:%Y-%m-%d}.pdf",
            mime="application/pdf",
            editeur=None,
            actor=seance.closed_by,
        )
        locked.save(update_fields=["minutes"])
    return locked


def candidature_dereference(*, candidature: Candidature, actor, reason: str, now=None):
    """An administrator withdraws a referencing: the attestation is marked withdrawn (its
    number is never given again), the registry and the verification page say so."""
    now = now or timezone.now()
    _require(
        actor.is_authenticated and actor.role == Role.ADMIN,
        "Seul un administrateur déréférence un logiciel.",
    )
    if not reason.strip():
        raise ValidationError({"reason": "Motivez le déréférencement : il est rendu public."})

    def after(locked: Candidature) -> None:
        locked.closed_at = now
        locked.closed_reason = reason.strip()
        Attestation.objects.filter(candidature=locked).update(
            status=AttestationStatus.RETIREE,
            withdrawn_at=now,
            withdrawn_reason=reason.strip(),
            withdrawn_by=actor,
        )
        notify_company(
            locked,
            title=f"Logiciel déréférencé — {locked.nom_commercial}",
            body=f"Le référencement est retiré : {reason.strip()}\n\nL’attestation n’est plus "
            "valide ; la page publique de vérification l’indique.",
        )

    return _apply(
        candidature=candidature,
        name="dereference",
        actor=actor,
        now=now,
        reason=reason.strip(),
        after=after,
    )
