"""Writes on the référentiel: REM imports, publication, expected-proof kinds, campaigns,
and moving a candidature to another REM version."""

from dataclasses import dataclass
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from candidatures.enums import Perimetre, ProofKind, RemStatus
from candidatures.models import (
    Campagne,
    Candidature,
    Dsr,
    Exigence,
    PreuveAttendue,
    Profil,
    RemVersion,
    Scenario,
)
from candidatures.models.referentiel import name_key
from candidatures.proof_kinds import MO
from candidatures.rem_import import ImportIssue, ParsedRem, parse_rem
from candidatures.selectors.referentiel import RemImpact, candidature_rem_impact
from segur_portal.bulk import insert_rows
from segur_portal.enums import Role
from segur_portal.files import clean_filename, sha256_of

MAX_REM_FILE_BYTES = 20 * MO
GENERAL_PROFILE = "Général"


def _check_admin(actor) -> None:
    # actor None: the management command, run by someone with shell access.
    if actor is not None and not (actor.is_active and actor.role == Role.ADMIN):
        raise PermissionDenied("Seul un administrateur gère le référentiel.")


@dataclass
class RemImportResult:
    version: RemVersion | None
    parsed: ParsedRem


def rem_version_import(
    *,
    dsr: Dsr,
    file,
    filename: str,
    label: str,
    actor=None,
    published_on: date | None = None,
    default_perimetre: Perimetre = Perimetre.VAGUE_2,
    rem: str = "",
) -> RemImportResult:
    """Read a REM sheet and, when it has no error at all, save it as a draft version.

    With any error, nothing is saved and the result carries the located errors.
    """
    _check_admin(actor)
    label = label.strip()
    if RemVersion.objects.filter(dsr=dsr, label__iexact=label).exists():
        raise ValidationError({"label": f"La version « {label} » existe déjà pour ce DSR."})
    source_name = clean_filename(filename)
    file.seek(0, 2)
    size = file.tell()
    file.seek(0)
    if size > MAX_REM_FILE_BYTES:
        parsed = ParsedRem()
        parsed.errors.append(
            ImportIssue(
                source_name,
                None,
                None,
                f"Le fichier pèse {size / MO:.1f} Mo : un REM ne dépasse pas "
                f"{MAX_REM_FILE_BYTES // MO} Mo.",
            )
        )
        return RemImportResult(None, parsed)
    parsed = parse_rem(
        file, filename=source_name, default_perimetre=Perimetre(default_perimetre), rem=rem
    )
    if not parsed.ok:
        return RemImportResult(None, parsed)

    with transaction.atomic():
        version = RemVersion(
            dsr=dsr,
            label=label,
            published_on=published_on,
            source_name=source_name,
            source_sha256=sha256_of(file),
            source_size=size,
            default_perimetre=default_perimetre,
            rem_filter=rem,
            sheets=parsed.sheets,
            rows_read=parsed.rows_read,
            skipped_obsolete=parsed.skipped_obsolete,
            imported_by=actor,
        )
        profiles, new_profiles = _profiles_for(dsr, parsed)
        version.warnings = [str(issue) for issue in parsed.warnings] + [
            f"Profil nouveau pour ce DSR, créé à l’import : « {name} »." for name in new_profiles
        ]
        version.source_file.save(source_name, File(file), save=False)
        version.save()
        _save_content(version, parsed, profiles)
    return RemImportResult(version, parsed)


def _profiles_for(dsr: Dsr, parsed: ParsedRem) -> tuple[dict[str, Profil], list[str]]:
    profiles = {name_key(profil.name): profil for profil in dsr.profils.all()}
    new_names = []
    for exigence in parsed.exigences:
        key = name_key(exigence.profile)
        if key not in profiles:
            profiles[key] = Profil.objects.create(
                dsr=dsr,
                name=exigence.profile,
                mandatory=key == name_key(GENERAL_PROFILE),
            )
            new_names.append(exigence.profile)
    return profiles, new_names


EXIGENCE_COLUMNS = [
    "rem_version_id", "identifier", "numero", "perimetre", "conditional", "profil_id",
    "id_section", "section", "bloc", "fonction", "nature", "nature_inferred", "statement",
    "position", "source_sheet", "source_row",
]  # fmt: skip


def _save_content(version: RemVersion, parsed: ParsedRem, profiles: dict[str, Profil]) -> None:
    exigence_ids = insert_rows(
        Exigence,
        EXIGENCE_COLUMNS,
        [
            (
                version.pk,
                e.identifier,
                e.numero,
                e.perimetre,
                e.conditional,
                profiles[name_key(e.profile)].pk,
                e.id_section,
                e.section,
                e.bloc,
                e.fonction,
                e.nature,
                e.nature_inferred,
                e.statement,
                position,
                e.sheet,
                e.row,
            )  # fmt: skip
            for position, e in enumerate(parsed.exigences)
        ],
    )
    scenarios = [
        (exigence_id, scenario, position)
        for exigence_id, exigence in zip(exigence_ids, parsed.exigences, strict=True)
        for position, scenario in enumerate(exigence.scenarios)
    ]
    scenario_ids = insert_rows(
        Scenario,
        ["exigence_id", "identifier", "text", "position"],
        [(exigence_id, s.identifier, s.text, position) for exigence_id, s, position in scenarios],
    )
    insert_rows(
        PreuveAttendue,
        ["scenario_id", "identifier", "text", "kind", "kind_rule", "position"],
        [
            (scenario_id, proof.identifier, proof.text, proof.kind, proof.kind_rule, position)
            for scenario_id, (_, scenario, _) in zip(scenario_ids, scenarios, strict=True)
            for position, proof in enumerate(scenario.proofs)
        ],
    )


def rem_version_publish(*, version: RemVersion, actor=None) -> RemVersion:
    _check_admin(actor)
    with transaction.atomic():
        version = RemVersion.objects.select_for_update().get(pk=version.pk)
        if version.status != RemStatus.DRAFT:
            raise ValidationError("Cette version est déjà publiée.")
        version.status = RemStatus.PUBLISHED
        version.published_by = actor
        version.published_at = timezone.now()
        version.published_on = version.published_on or timezone.localdate()
        version.save(update_fields=["status", "published_by", "published_at", "published_on"])
    return version


def rem_version_discard(*, version: RemVersion, actor=None) -> None:
    """Delete a draft and its stored sheet. A published version is kept forever."""
    _check_admin(actor)
    with transaction.atomic():
        version = RemVersion.objects.select_for_update().get(pk=version.pk)
        if version.status != RemStatus.DRAFT:
            raise ValidationError("Une version publiée ne se supprime pas.")
        storage, name = version.source_file.storage, version.source_file.name
        version.delete()
        transaction.on_commit(lambda: storage.delete(name))


def preuve_attendue_set_kind(*, preuve: PreuveAttendue, kind: str, actor) -> PreuveAttendue:
    """An administrator corrects the kind the import inferred from the wording."""
    _check_admin(actor)
    if kind not in ProofKind.values:
        raise ValidationError({"kind": "Choisissez un type de preuve dans la liste."})
    if preuve.kind != kind:
        preuve.kind = kind
        preuve.kind_corrected_by = actor
        preuve.kind_corrected_at = timezone.now()
        preuve.save(update_fields=["kind", "kind_corrected_by", "kind_corrected_at"])
    return preuve


def campagne_save(*, campagne: Campagne, actor) -> Campagne:
    _check_admin(actor)
    campagne.full_clean()
    campagne.save()
    return campagne


def candidature_rem_move(
    *, candidature: Candidature, target: RemVersion, impact_digest: str, actor
) -> RemImpact:
    """Move a candidature to another published REM version of its DSR.

    The caller shows `candidature_rem_impact` first; `impact_digest` proves that the
    impact applied is the one that was shown (the REM may not change in between).
    """
    if not (actor.is_active and actor.role in {Role.ADMIN, Role.INSTRUCTEUR}):
        raise PermissionDenied("Seuls les agents de l’ANS changent la version du REM.")
    with transaction.atomic():
        candidature = Candidature.objects.select_for_update().get(pk=candidature.pk)
        if target.dsr_id != candidature.rem_version.dsr_id:
            raise ValidationError("Cette version du REM appartient à un autre DSR.")
        if not target.is_published:
            raise ValidationError("Une candidature ne passe que sur une version publiée.")
        if target.pk == candidature.rem_version_id:
            raise ValidationError("La candidature est déjà sur cette version du REM.")
        impact = candidature_rem_impact(candidature=candidature, target=target)
        if impact.digest != impact_digest:
            raise ValidationError(
                "L’impact a changé depuis son affichage : relisez-le avant de confirmer."
            )
        candidature.rem_version = target
        candidature.save(update_fields=["rem_version"])
    return impact
