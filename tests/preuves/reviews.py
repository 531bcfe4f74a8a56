"""Dossiers under instruction for the review workspace's tests."""

import hashlib
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from candidatures.enums import CandidatureState, RemStatus
from candidatures.models import Candidature, RemVersion
from preuves.depot import dossier
from preuves.models import Depot, Fichier
from segur_portal.demo import seed_referentiel
from tests.factories import CampagneFactory, CandidatureFactory, UserFactory, company_user
from tests.preuves.dossiers import deposit_everything, eligible_candidature
from tests.preuves.factories import FichierFactory


def instructing(**kwargs):
    """A complete dossier, submitted and taken in instruction."""
    candidature = eligible_candidature(**kwargs)
    deposit_everything(candidature)
    # deposit_everything gives every proof the same sample: here each has its own
    # content, deposited before the submission.
    for fichier in Fichier.objects.filter(editeur=candidature.editeur):
        Fichier.objects.filter(pk=fichier.pk).update(
            sha256=hashlib.sha256(fichier.pk.bytes).hexdigest()
        )
    Depot.objects.filter(candidature=candidature).update(
        deposited_at=timezone.now() - timedelta(days=4)
    )
    instructeur = UserFactory(instructeur=True)
    Candidature.objects.filter(pk=candidature.pk).update(
        state=CandidatureState.EN_INSTRUCTION,
        instructeur=instructeur,
        dossier_submitted_at=timezone.now() - timedelta(days=3),
        instruction_started_at=timezone.now() - timedelta(days=2),
    )
    candidature.refresh_from_db()
    return candidature, instructeur


DEMO_FILES = Path(settings.BASE_DIR) / "fixtures" / "demo"


def _demo_content(item) -> tuple[str, bytes, str]:
    """A real file of a format the expected proof accepts, as the demo deposits them:
    the same few files under many proofs, as vendors do."""
    allowed = item.rule.allowed_mime_types
    if not allowed:
        return "journal.log", f"{item.identifier} : appel réussi\n".encode(), "text/plain"
    for name, mime in (
        ("capture-ecran.png", "image/png"),
        ("compte-rendu.pdf", "application/pdf"),
        ("demonstration.mp4", "video/mp4"),
    ):
        if mime in allowed:
            return name, (DEMO_FILES / name).read_bytes(), mime
    raise AssertionError(f"aucun fichier de démonstration pour {item.identifier}")


def drimbox_instructing():
    """A candidature on the real DRIMbox REM (RAD-DRIMBOX-Va2, profile Général): every
    expected proof given an accepted file (or link), submitted and taken in
    instruction. The same three demo files answer most proofs."""
    seed_referentiel()
    version = RemVersion.objects.get(dsr__code="RAD-DRIMBOX-Va2", status=RemStatus.PUBLISHED)
    candidature = CandidatureFactory(
        eligible=True,
        campagne=CampagneFactory(dsr=version.dsr),
        rem_version=version,
        cnda_homologation="certifie",
    )
    member = company_user(candidature.editeur, first_name="Chloé", last_name="Martin")
    stored = {}
    depots = []
    for item in dossier(candidature).items:
        if item.accepts_url:
            depots.append(Depot(candidature=candidature, exigence=item.exigence,
                                preuve_attendue=item.preuve, deposited_by=member,
                                url="https://gazelle.services.esante.gouv.fr/rapport/4242"))  # fmt: skip
            continue
        name, content, mime = _demo_content(item)
        label = item.identifier.replace("/", "-")
        fichier = FichierFactory(
            editeur=candidature.editeur, uploaded_by=member, content=content,
            original_name=f"{label}_{name}", detected_mime=mime, accepted=True,
            allowed_mime_types=sorted(item.rule.allowed_mime_types or []),
            max_bytes=item.rule.max_bytes,
        )  # fmt: skip
        stored.setdefault(name, fichier)
        depots.append(Depot(candidature=candidature, exigence=item.exigence,
                            preuve_attendue=item.preuve, fichier=fichier,
                            deposited_by=member))  # fmt: skip
    Depot.objects.bulk_create(depots)
    Depot.objects.filter(candidature=candidature).update(
        deposited_at=timezone.now() - timedelta(days=10)
    )
    instructeur = UserFactory(instructeur=True, first_name="Inès", last_name="Moreau")
    Candidature.objects.filter(pk=candidature.pk).update(
        state=CandidatureState.EN_INSTRUCTION,
        instructeur=instructeur,
        dossier_submitted_at=timezone.now() - timedelta(days=9),
        instruction_started_at=timezone.now() - timedelta(days=8),
    )
    candidature.refresh_from_db()
    return candidature, instructeur
