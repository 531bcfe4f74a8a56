"""Reads on the référentiel: published REMs, their search, diffs and impacts."""

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from candidatures.enums import Nature, Perimetre, ProofKind, RemStatus
from candidatures.models import (
    Campagne,
    Couloir,
    Dsr,
    Exigence,
    PreuveAttendue,
    RemVersion,
    Scenario,
)


def dsrs_with_campaigns() -> QuerySet[Couloir]:
    return (
        Couloir.objects.prefetch_related(
            Prefetch("dsrs", queryset=Dsr.objects.order_by("-wave", "code")),
            "dsrs__profils",
            Prefetch("dsrs__campagnes", queryset=Campagne.objects.order_by("-j1")),
            Prefetch(
                "dsrs__rem_versions",
                queryset=RemVersion.objects.filter(status=RemStatus.PUBLISHED).only("pk", "dsr"),
                to_attr="published_rems",
            ),
        )
        .filter(dsrs__isnull=False)
        .distinct()
    )


def referentiel_summary() -> dict[str, int]:
    return {
        "dsrs": Dsr.objects.count(),
        "published": RemVersion.objects.filter(status=RemStatus.PUBLISHED).count(),
        "drafts": RemVersion.objects.filter(status=RemStatus.DRAFT).count(),
        "campagnes": Campagne.objects.count(),
    }


def current_campagne(dsr: Dsr, now=None) -> Campagne | None:
    """The campaign to show for a DSR: the last one opened, or else the next one."""
    now = now or timezone.now()
    campagnes = list(dsr.campagnes.all())
    opened = [c for c in campagnes if c.j1 <= now]
    if opened:
        return max(opened, key=lambda c: c.j1)
    return min(campagnes, key=lambda c: c.j1, default=None)


def published_versions(dsr: Dsr) -> QuerySet[RemVersion]:
    return dsr.rem_versions.filter(status=RemStatus.PUBLISHED).order_by("-published_at")


def current_rem_version(dsr: Dsr) -> RemVersion | None:
    return published_versions(dsr).first()


def rem_search(
    version: RemVersion,
    *,
    text: str = "",
    id_section: str = "",
    profil_id: int | None = None,
    perimetre: str = "",
    nature: str = "",
) -> QuerySet[Exigence]:
    """The requirements of a version matching the filters, with what pages show of them."""
    exigences = version.exigences.select_related("profil")
    if text:
        exigences = exigences.filter(
            Q(identifier__icontains=text)
            | Q(statement__icontains=text)
            | Q(section__icontains=text)
            | Q(scenarios__identifier__icontains=text)
            | Q(scenarios__text__icontains=text)
        ).distinct()
    if id_section:
        exigences = exigences.filter(id_section=id_section)
    if profil_id:
        exigences = exigences.filter(profil_id=profil_id)
    if perimetre:
        exigences = exigences.filter(perimetre=perimetre)
    if nature:
        exigences = exigences.filter(nature=nature)
    return exigences.order_by("position").prefetch_related(
        Prefetch("scenarios", queryset=Scenario.objects.order_by("position")),
        Prefetch(
            "scenarios__preuves_attendues", queryset=PreuveAttendue.objects.order_by("position")
        ),
    )


def rem_sections(version: RemVersion) -> list[tuple[str, str]]:
    """(ID section, section) pairs of a version, in sheet order."""
    seen = {}
    for id_section, section in version.exigences.order_by("position").values_list(
        "id_section", "section"
    ):
        seen.setdefault(id_section, section)
    return [(key, value) for key, value in seen.items() if key]


@dataclass(frozen=True)
class RemCounts:
    exigences: int
    scenarios: int
    preuves: int
    by_profile: list[tuple[str, int]]
    by_nature: dict[str, int]
    by_perimetre: dict[str, int]
    by_kind: dict[str, int]
    kinds_by_default: int
    natures_inferred: int


def rem_counts(version: RemVersion) -> RemCounts:
    exigences = version.exigences.all()
    proofs = PreuveAttendue.objects.filter(scenario__exigence__rem_version=version)
    profile_counts = Counter(exigences.values_list("profil__name", flat=True))
    return RemCounts(
        exigences=exigences.count(),
        scenarios=Scenario.objects.filter(exigence__rem_version=version).count(),
        preuves=proofs.count(),
        by_profile=sorted(profile_counts.items(), key=lambda item: (-item[1], item[0])),
        by_nature={
            Nature(key).label: value
            for key, value in Counter(exigences.values_list("nature", flat=True)).items()
        },
        by_perimetre={
            Perimetre(key).label: value
            for key, value in Counter(exigences.values_list("perimetre", flat=True)).items()
        },
        by_kind={
            ProofKind(key).label: value
            for key, value in Counter(proofs.values_list("kind", flat=True)).items()
        },
        kinds_by_default=proofs.filter(kind_rule="defaut").count(),
        natures_inferred=exigences.filter(nature_inferred=True).count(),
    )


# Diffs between versions


@dataclass(frozen=True)
class Change:
    label: str
    before: str
    after: str


@dataclass
class ExigenceChange:
    identifier: str
    changes: list[Change] = field(default_factory=list)


@dataclass
class RemDiff:
    old: RemVersion
    new: RemVersion
    added: list[str]
    removed: list[str]
    changed: list[ExigenceChange]

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def _snapshot(version: RemVersion) -> dict[str, dict]:
    """Everything the diff compares, in three queries."""
    exigences = {
        row["id"]: row
        for row in version.exigences.values(
            "id",
            "identifier",
            "statement",
            "profil__name",
            "nature",
            "perimetre",
            "conditional",
            "id_section",
            "section",
        )
    }
    for row in exigences.values():
        row["scenarios"] = {}
    scenarios = {}
    for row in Scenario.objects.filter(exigence__rem_version=version).values(
        "id", "exigence_id", "identifier", "text"
    ):
        row["preuves"] = {}
        exigences[row["exigence_id"]]["scenarios"][row["identifier"]] = row
        scenarios[row["id"]] = row
    for row in PreuveAttendue.objects.filter(scenario__exigence__rem_version=version).values(
        "scenario_id", "identifier", "text", "kind"
    ):
        scenarios[row["scenario_id"]]["preuves"][row["identifier"]] = row
    return {row["identifier"]: row for row in exigences.values()}


FIELDS = [
    ("statement", "Énoncé"),
    ("profil__name", "Profil"),
    ("nature", "Nature"),
    ("perimetre", "Périmètre"),
    ("conditional", "Exigence conditionnelle"),
    ("id_section", "ID section"),
    ("section", "Section"),
]


def _display(field_name: str, value) -> str:
    if field_name == "nature":
        return Nature(value).label
    if field_name == "perimetre":
        return Perimetre(value).label
    if field_name == "conditional":
        return "oui" if value else "non"
    return str(value)


def _exigence_changes(before: dict, after: dict) -> list[Change]:
    changes = [
        Change(label, _display(name, before[name]), _display(name, after[name]))
        for name, label in FIELDS
        if before[name] != after[name]
    ]
    old_scenarios, new_scenarios = before["scenarios"], after["scenarios"]
    for identifier in new_scenarios.keys() - old_scenarios.keys():
        changes.append(Change(f"Scénario {identifier}", "", "ajouté"))
    for identifier in old_scenarios.keys() - new_scenarios.keys():
        changes.append(Change(f"Scénario {identifier}", "retiré", ""))
    for identifier in sorted(old_scenarios.keys() & new_scenarios.keys()):
        old, new = old_scenarios[identifier], new_scenarios[identifier]
        if old["text"] != new["text"]:
            changes.append(Change(f"Scénario {identifier}", old["text"], new["text"]))
        for proof_id in sorted(new["preuves"].keys() - old["preuves"].keys()):
            changes.append(Change(f"Preuve {proof_id}", "", new["preuves"][proof_id]["text"]))
        for proof_id in sorted(old["preuves"].keys() - new["preuves"].keys()):
            changes.append(Change(f"Preuve {proof_id}", old["preuves"][proof_id]["text"], ""))
        for proof_id in sorted(old["preuves"].keys() & new["preuves"].keys()):
            old_proof, new_proof = old["preuves"][proof_id], new["preuves"][proof_id]
            if old_proof["text"] != new_proof["text"]:
                changes.append(Change(f"Preuve {proof_id}", old_proof["text"], new_proof["text"]))
            if old_proof["kind"] != new_proof["kind"]:
                changes.append(
                    Change(
                        f"Type de la preuve {proof_id}",
                        ProofKind(old_proof["kind"]).label,
                        ProofKind(new_proof["kind"]).label,
                    )
                )
    return changes


def rem_diff(old: RemVersion, new: RemVersion) -> RemDiff:
    before, after = _snapshot(old), _snapshot(new)
    changed = []
    for identifier in after:
        if identifier in before:
            changes = _exigence_changes(before[identifier], after[identifier])
            if changes:
                changed.append(ExigenceChange(identifier, changes))
    return RemDiff(
        old=old,
        new=new,
        added=[identifier for identifier in after if identifier not in before],
        removed=[identifier for identifier in before if identifier not in after],
        changed=changed,
    )


# What a candidature must answer, and what a REM change does to it


def _perimetres(include_vague_1: bool) -> list[str]:
    return [Perimetre.VAGUE_2, *([Perimetre.VAGUE_1] if include_vague_1 else [])]


def applicable_exigences(
    version: RemVersion | int, profil_ids, *, include_vague_1: bool = False
) -> QuerySet[Exigence]:
    """Mandatory requirements of the chosen profiles. Préconisations are never required;
    the wave-1 périmètre applies only in the cases of SPEC §5. `version`: the REM
    version or its id."""
    return Exigence.objects.filter(
        rem_version=version,
        nature=Nature.EXIGENCE,
        profil_id__in=list(profil_ids),
        perimetre__in=_perimetres(include_vague_1),
    )


def exigence_applies(
    exigence: Exigence, version_id: int, profil_ids, *, include_vague_1: bool = False
) -> bool:
    """applicable_exigences's rule for one requirement already read, without a query."""
    return (
        exigence.rem_version_id == version_id
        and exigence.nature == Nature.EXIGENCE
        and exigence.profil_id in profil_ids
        and exigence.perimetre in _perimetres(include_vague_1)
    )


ProofKey = tuple[str, str, str]  # (exigence, scenario, preuve) identifiers


@dataclass(frozen=True)
class AffectedDepot:
    """A deposit of the candidature that a REM change concerns."""

    exigence: str
    preuve: str
    name: str
    # "retiree": no longer asked for; "modifiee": its requirement changed, to check.
    why: str


@dataclass(frozen=True)
class RemImpact:
    """What moving a candidature to another REM version changes for it: the expected
    proofs and the mandatory requirements of its profiles it gains or loses, those whose
    content changed, and the deposits these concern."""

    added: list[ProofKey]
    removed: list[ProofKey]
    exigences_added: list[str]
    exigences_removed: list[str]
    exigences_changed: list[ExigenceChange] = field(default_factory=list)
    depots: list[AffectedDepot] = field(default_factory=list)

    @property
    def digest(self) -> str:
        payload = json.dumps(self.as_record(), sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()

    def as_record(self) -> dict:
        """The impact as stored with the move (JSON)."""
        return {
            "preuves_ajoutees": [list(key) for key in self.added],
            "preuves_retirees": [list(key) for key in self.removed],
            "exigences_ajoutees": self.exigences_added,
            "exigences_retirees": self.exigences_removed,
            "exigences_modifiees": {
                item.identifier: [[c.label, c.before, c.after] for c in item.changes]
                for item in self.exigences_changed
            },
            "depots": [[d.exigence, d.preuve, d.name, d.why] for d in self.depots],
        }


def _applicable_proofs(version: RemVersion, profil_ids) -> tuple[set[ProofKey], set[str]]:
    exigences = applicable_exigences(version, profil_ids)
    proofs = set(
        PreuveAttendue.objects.filter(scenario__exigence__in=exigences).values_list(
            "scenario__exigence__identifier", "scenario__identifier", "identifier"
        )
    )
    return proofs, set(exigences.values_list("identifier", flat=True))


def _current_depots(candidature):
    from preuves.models import Depot

    return (
        Depot.objects.filter(candidature=candidature, removed_at__isnull=True)
        .select_related("fichier", "exigence", "preuve_attendue__scenario")
        .order_by("exigence__position", "pk")
    )


def depot_key(depot) -> ProofKey:
    preuve = depot.preuve_attendue
    if preuve is None:
        return (depot.exigence.identifier, "", "")
    return (depot.exigence.identifier, preuve.scenario.identifier, preuve.identifier)


def rem_deposit_targets(version: RemVersion) -> dict[ProofKey, tuple[int, int | None]]:
    """Where a deposit lands in a version, by identifiers: (exigence pk, preuve pk), or
    (exigence pk, None) for a requirement that lists no proof."""
    targets: dict[ProofKey, tuple[int, int | None]] = {
        (identifier, "", ""): (pk, None)
        for pk, identifier in version.exigences.values_list("pk", "identifier")
    }
    for preuve_pk, exigence_pk, exigence, scenario, preuve in PreuveAttendue.objects.filter(
        scenario__exigence__rem_version=version
    ).values_list(
        "pk",
        "scenario__exigence_id",
        "scenario__exigence__identifier",
        "scenario__identifier",
        "identifier",
    ):
        targets.pop((exigence, "", ""), None)
        targets[(exigence, scenario, preuve)] = (exigence_pk, preuve_pk)
    return targets


def candidature_rem_impact(*, candidature, target: RemVersion) -> RemImpact:
    profil_ids = list(candidature.profils.values_list("id", flat=True))
    old_proofs, old_exigences = _applicable_proofs(candidature.rem_version, profil_ids)
    new_proofs, new_exigences = _applicable_proofs(target, profil_ids)
    kept = old_exigences & new_exigences
    before, after = _snapshot(candidature.rem_version), _snapshot(target)
    changed = []
    for identifier in sorted(kept):
        changes = _exigence_changes(before[identifier], after[identifier])
        if changes:
            changed.append(ExigenceChange(identifier, changes))
    changed_ids = {item.identifier for item in changed}
    targets = rem_deposit_targets(target)
    depots = []
    for depot in _current_depots(candidature):
        key = depot_key(depot)
        exigence = key[0]
        if exigence not in new_exigences or key not in targets:
            why = "retiree"
        elif exigence in changed_ids:
            why = "modifiee"
        else:
            continue
        name = depot.fichier.original_name if depot.fichier else depot.url
        depots.append(AffectedDepot(exigence, key[2], name, why))
    return RemImpact(
        added=sorted(new_proofs - old_proofs),
        removed=sorted(old_proofs - new_proofs),
        exigences_added=sorted(new_exigences - old_exigences),
        exigences_removed=sorted(old_exigences - new_exigences),
        exigences_changed=changed,
        depots=depots,
    )
