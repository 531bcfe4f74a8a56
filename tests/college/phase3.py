"""Candidatures at the steps of phase 3, made through the services from a validated
dossier, for the collège's tests."""

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from candidatures.enums import CandidatureState, CndaStatus
from candidatures.models import Candidature, CguAcceptance
from candidatures.services.onboarding import current_cgu
from college import services
from college.models import Inscription, Seance
from preuves.models import Depot
from segur_portal.enums import CompanyRole
from tests.factories import TEST_PASSWORD, UserFactory, company_user
from tests.preuves.dossiers import deposit_everything, eligible_candidature

S = CandidatureState


# The CNDA homologation proof of the REM of tests.preuves.dossiers.
CNDA_PROOF = "INS.01.02.01"


def validated_candidature(*, cnda_pending: bool = False, **kwargs) -> Candidature:
    """A candidature whose proofs the instructor has just validated; with `cnda_pending`,
    submitted with its CNDA homologation « en cours actif », its proof not deposited."""
    candidature = eligible_candidature(**kwargs)
    deposit_everything(candidature)
    if cnda_pending:
        Depot.objects.filter(
            candidature=candidature, preuve_attendue__identifier=CNDA_PROOF
        ).delete()
    instructeur = UserFactory(instructeur=True)
    Candidature.objects.filter(pk=candidature.pk).update(
        state=S.PREUVES_VALIDEES,
        instructeur=instructeur,
        instruction_closed_at=timezone.now(),
        cnda_homologation=CndaStatus.EN_COURS_ACTIF if cnda_pending else CndaStatus.CERTIFIE,
    )
    candidature.refresh_from_db()
    return candidature


def mandataire(candidature: Candidature):
    user = candidature.editeur.members.filter(company_role=CompanyRole.MANDATAIRE).first()
    if user is None:
        user = company_user(candidature.editeur, company_role=CompanyRole.MANDATAIRE)
        CguAcceptance.objects.create(user=user, cgu=current_cgu())
    return user


def signature(convention, **changes) -> services.Signature:
    values = {"password": TEST_PASSWORD, "consent": True, "document_sha256": convention.sha256}
    return services.Signature(**(values | changes))


def signed_candidature(now: datetime | None = None, **kwargs):
    """Convention issued and signed: on the agenda of the next séance."""
    now = now or timezone.now()
    candidature = validated_candidature(**kwargs)
    instructeur = candidature.instructeur
    convention = services.convention_issue(candidature=candidature, actor=instructeur, now=now)
    services.convention_sign(
        convention=convention,
        actor=mandataire(candidature),
        signature=signature(convention),
        now=now,
    )
    candidature.refresh_from_db()
    return candidature


def seance_today(now: datetime | None = None) -> Seance:
    """A séance held today, an hour ago (the one planned may be days ahead)."""
    now = now or timezone.now()
    # On the collège's weekday, today's séance is already planned (at 14:00): held earlier.
    return Seance.objects.update_or_create(
        date=timezone.localdate(now), defaults={"starts_at": now - timedelta(hours=1)}
    )[0]


def on_agenda(seance: Seance, candidature: Candidature) -> Inscription:
    """Put the candidature on this séance (as if signed before it was planned)."""
    Inscription.objects.filter(candidature=candidature).update(seance=seance)
    return Inscription.objects.get(candidature=candidature, seance=seance)


def open_seance_with(*candidatures, members=None, now=None):
    """An open séance today with these candidatures and `members` present members (by
    default, just the quorum)."""
    now = now or timezone.now()
    seance = seance_today(now)
    for candidature in candidatures:
        on_agenda(seance, candidature)
    users = [UserFactory(college=True) for _ in range(members or settings.COLLEGE_QUORUM)]
    services.seance_open(seance=seance, actor=users[0], present_ids=[u.pk for u in users], now=now)
    seance.refresh_from_db()
    return seance, users
