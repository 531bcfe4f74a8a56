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
    CandidatureRemMove,
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
from candidatures.selectors.referentiel import (
    RemImpact,
    candidature_rem_impact,
    depot_key,
    rem_deposit_targets,
)
from candidatures.services.candidature import notify_company
from segur_portal.bulk import insert_rows
from segur_portal.enums import JournalKind, Role
from segur_portal.files import clean_filename, sha256_of
from segur_portal.journal import journal_append

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
    *,
    candidature: Candidature,
    target: RemVersion,
    impact_digest: str,
    actor,
    reason: str,
    now=None,
) -> RemImpact:
    """Move a candidature to another published REM version of its DSR.

    The caller shows `candidature_rem_impact` first; `impact_digest` proves that the
    impact applied is the one that was shown (the REM may not change in between). The
    deposits follow their requirement and proof, by identifiers; the instructor's
    verdicts follow the requirements whose content did not change. The move is written
    in the candidature's history with its reason, and the company is notified.
    """
    now = now or timezone.now()
    if not (actor.is_active and actor.role in {Role.ADMIN, Role.INSTRUCTEUR}):
        raise PermissionDenied("Seuls les agents de l’ANS changent la version du REM.")
    reason = reason.strip()
    if not reason:
        raise ValidationError(
            {"reason": "Indiquez pourquoi la candidature change de version : l’éditeur le lira."}
        )
    with transaction.atomic():
        candidature = (
            Candidature.objects.select_for_update(of=("self",))
            .select_related("rem_version", "campagne__dsr", "editeur")
            .get(pk=candidature.pk)
        )
        if candidature.is_closed:
            raise ValidationError("Une candidature close ne change plus de version du REM.")
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
        source = candidature.rem_version
        _carry_deposits(candidature, target, impact)
        candidature.rem_version = target
        candidature.save(update_fields=["rem_version"])
        CandidatureRemMove.objects.create(
            candidature=candidature,
            from_version=source,
            to_version=target,
            actor=actor,
            at=now,
            reason=reason,
            impact=impact.as_record(),
        )
        journal_append(
            kind=JournalKind.REM_MOVE,
            actor=actor,
            candidature=candidature,
            at=now,
            data={
                "from": source.label,
                "to": target.label,
                "reason": reason,
                "impact": impact.digest,
            },
        )
        notify_company(
            candidature,
            title=f"Nouvelle version du REM pour {candidature.nom_commercial}",
            body=_move_notice(candidature, source, target, reason, impact),
        )
    return impact


def _carry_deposits(candidature: Candidature, target: RemVersion, impact: RemImpact) -> None:
    from preuves.models import Depot, ExigenceVerdict

    targets = rem_deposit_targets(target)
    moved = []
    for depot in candidature.depots.select_related("exigence", "preuve_attendue__scenario"):
        landing = targets.get(depot_key(depot))
        if landing is not None:
            depot.exigence_id, depot.preuve_attendue_id = landing
            moved.append(depot)
    Depot.objects.bulk_update(moved, ["exigence", "preuve_attendue"])
    # A verdict judged a requirement's content: it stands only where that did not change.
    changed = {item.identifier for item in impact.exigences_changed}
    exigences = {
        identifier: pk
        for (identifier, scenario, _preuve), (pk, _) in targets.items()
        if identifier not in changed
    }
    verdicts = []
    for verdict in ExigenceVerdict.objects.filter(candidature=candidature).select_related(
        "exigence"
    ):
        if verdict.exigence.identifier in exigences:
            verdict.exigence_id = exigences[verdict.exigence.identifier]
            verdicts.append(verdict)
    ExigenceVerdict.objects.bulk_update(verdicts, ["exigence"])


def _move_notice(candidature, source, target, reason: str, impact: RemImpact) -> str:
    to_check = [d for d in impact.depots if d.why == "modifiee"]
    dropped = [d for d in impact.depots if d.why == "retiree"]
    lines = [
        f"L’ANS fait passer la candidature {candidature.reference} "
        f"({candidature.dsr.code}) de la version {source.label} à la version {target.label} "
        f"du REM. Motif : {reason}",
        f"Pour les profils de la candidature : {len(impact.exigences_added)} exigence(s) "
        f"ajoutée(s), {len(impact.exigences_removed)} retirée(s), "
        f"{len(impact.exigences_changed)} modifiée(s) ; {len(impact.added)} preuve(s) "
        f"attendue(s) en plus, {len(impact.removed)} en moins.",
    ]
    if to_check:
        lines.append(
            f"{len(to_check)} dépôt(s) répondent à une exigence modifiée, à vérifier : "
            + ", ".join(sorted({d.exigence for d in to_check}))
            + "."
        )
    if dropped:
        lines.append(f"{len(dropped)} dépôt(s) ne répondent plus à aucune preuve attendue.")
    return "\n\n".join(lines)
