"""Reads of phase 3: the public registry of referenced software, the verification of an
attestation, and the collège's dashboard."""

import hashlib
from dataclasses import dataclass

from django.core.files.uploadedfile import UploadedFile
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet

from candidatures.enums import CandidatureState
from candidatures.models import Candidature, Profil
from college.enums import AttestationStatus, SeanceStatus
from college.models import Attestation, Seance

REGISTRE_ORDER = (
    "candidature__campagne__dsr__code",
    "candidature__editeur__raison_sociale",
    "candidature__nom_commercial",
    "candidature__version_technique",
    "numero",
)


def _with_details(attestations: QuerySet[Attestation]) -> QuerySet[Attestation]:
    # The profiles in the order the DSR gives them, without joining the DSR per row.
    profils = Profil.objects.order_by("-mandatory", "position", "name")
    return attestations.select_related(
        "candidature__editeur", "candidature__campagne__dsr"
    ).prefetch_related(Prefetch("candidature__profils", queryset=profils))


def public_referenced(
    *, dsr_code: str = "", text: str = "", profil: str = ""
) -> QuerySet[Attestation]:
    """The public registry: the valid attestations of software still referenced, then
    the withdrawn ones (déréférencé), which stay listed with their date and reason.

    `text` is looked for, case-insensitively, in the company, the product and the
    number; `profil` is a profile name, which DSRs share (« Général »)."""
    attestations = _with_details(
        Attestation.objects.filter(
            Q(status=AttestationStatus.VALIDE, candidature__state=CandidatureState.REFERENCEE)
            | Q(status=AttestationStatus.RETIREE)
        )
    ).order_by("-status", *REGISTRE_ORDER)
    if dsr_code:
        attestations = attestations.filter(candidature__campagne__dsr__code=dsr_code)
    if text:
        attestations = attestations.filter(
            Q(candidature__editeur__raison_sociale__icontains=text)
            | Q(candidature__nom_commercial__icontains=text)
            | Q(numero__icontains=text)
        )
    if profil:
        attestations = attestations.filter(
            Exists(
                Candidature.profils.through.objects.filter(
                    candidature_id=OuterRef("candidature_id"), profil__name__iexact=profil
                )
            )
        )
    return attestations


def public_referenced_profil_names(dsr_code: str = "") -> list[str]:
    """The profile names the registry can be filtered by: those of referenced software."""
    profils = Profil.objects.filter(
        candidature__state=CandidatureState.REFERENCEE,
        candidature__attestation__status=AttestationStatus.VALIDE,
    )
    if dsr_code:
        profils = profils.filter(dsr__code=dsr_code)
    names = {}
    for name in profils.order_by("name").values_list("name", flat=True).distinct():
        names.setdefault(name.casefold(), name)
    return sorted(names.values(), key=str.casefold)


def attestation_by_numero(numero: str) -> Attestation:
    """The attestation with this number, typed in any case. Raises
    Attestation.DoesNotExist."""
    found = list(_with_details(Attestation.objects.filter(numero__iexact=numero.strip())))
    if not found:
        raise Attestation.DoesNotExist(numero)
    return next((attestation for attestation in found if attestation.numero == numero), found[0])


def attestation_is_valid(attestation: Attestation) -> bool:
    """What the verification page answers: valid, and the software still referenced."""
    return (
        attestation.status == AttestationStatus.VALIDE
        and attestation.candidature.state == CandidatureState.REFERENCEE
    )


@dataclass(frozen=True)
class FileCheck:
    matches: bool
    sha256: str


def attestation_file_check(*, attestation: Attestation, upload: UploadedFile) -> FileCheck:
    """Whether an uploaded file is the attestation's PDF, by its SHA-256. The file is
    read chunk by chunk, never whole, and kept nowhere."""
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    uploaded = digest.hexdigest()
    return FileCheck(matches=uploaded == attestation.sha256.lower(), sha256=uploaded)


def college_dashboard(*, now) -> dict:
    """The collège's dashboard: the next séance with its agenda, the last séances held."""
    from college.services import seances_plan

    seances_plan(now=now)
    upcoming = Seance.objects.exclude(status=SeanceStatus.CLOSE).order_by("date").first()
    agenda = []
    if upcoming is not None:
        agenda = list(
            upcoming.inscriptions.select_related(
                "candidature__editeur", "candidature__campagne__dsr"
            ).order_by("signed_at", "pk")
        )
    past = list(
        Seance.objects.filter(status=SeanceStatus.CLOSE)
        .select_related("minutes")
        .annotate(decided=Count("inscriptions__decision"))
        .order_by("-date")[:5]
    )
    return {"next_seance": upcoming, "agenda": agenda, "past_seances": past}
