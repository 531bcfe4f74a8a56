import dataclasses
from collections import defaultdict
from dataclasses import dataclass
from itertools import chain

from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
)

from candidatures.models import PreuveAttendue
from preuves.depot import Dossier, ExigenceBlock, Item, _applicable, dossier
from preuves.enums import Verdict
from preuves.models import Depot, ExigenceVerdict, Fichier, FichierDownload
from preuves.permissions import can_access_fichier


def fichier_visible_to(*, user, fichier_id) -> Fichier | None:
    """The file if `user` may see it; None whether it does not exist or is not theirs,
    so that callers answer both the same way."""
    fichier = Fichier.objects.filter(pk=fichier_id).first()
    if fichier is None or not can_access_fichier(user, fichier):
        return None
    return fichier


# What a file belongs to, for the journal: (candidature id or None, context). The
# context tells who may read the entry: the collège never sees an exchange's attachment
# nor an eligibility document (docs/SECURITY.md).
def _fichier_holders():
    from candidatures.models import Candidature, MembreGroupement, SollicitationMessageFichier
    from college.models import Attestation, Convention, ReserveReponse
    from preuves.models import Depot, DossierSoumission, VisiteConformite

    return [
        ("preuve", Depot.objects, "fichier", "candidature_id"),
        ("sollicitation", SollicitationMessageFichier.objects, "fichier", "message__sollicitation__candidature_id"),
        ("eligibilite", Candidature.objects, "cnda_depot", "pk"),
        ("eligibilite", Candidature.objects, "lettre_engagement", "pk"),
        ("eligibilite", Candidature.objects, "parc_fichier", "pk"),
        ("eligibilite", MembreGroupement.objects, "mandat", "candidature_id"),
        ("recepisse", DossierSoumission.objects, "receipt", "candidature_id"),
        ("convention", Convention.objects, "document", "candidature_id"),
        ("convention", Convention.objects, "signed_document", "candidature_id"),
        ("reserve", ReserveReponse.objects, "fichiers", "reserve__decision__inscription__candidature_id"),
        ("attestation", Attestation.objects, "fichier", "candidature_id"),
        ("visite", VisiteConformite.objects, "recording", "candidature_id"),
    ]  # fmt: skip


def fichier_context(fichier) -> tuple[int | None, str]:
    """The candidature a file was given for, and in what part of the procedure; (None,
    "") for a file attached to nothing yet, a support question or the minutes."""
    for context, manager, field, candidature in _fichier_holders():
        found = manager.filter(**{field: fichier}).values_list(candidature, flat=True).first()
        if found is not None:
            return found, context
    return None, ""


# The review workspace (preuves.views_review): a dossier as the instructor reads it.

REVIEW_FILTERS = {
    "sans_verdict": "Sans verdict",
    "non_conforme": "Non conforme",
    "complement": "Complément demandé",
    "conforme": "Conforme",
    "modifiee": "Modifiée depuis le verdict",
    "reutilise": "Fichier réutilisé",
}


def _in_dossier_at(deposited_at, removed_at, when) -> bool:
    """Whether a deposit was part of the dossier at `when` (None: now)."""
    if when is None:
        return removed_at is None
    return deposited_at <= when and (removed_at is None or removed_at > when)


@dataclass
class ReviewIndex:
    """The whole dossier in light rows, enough to count, filter and flag: a verdict's
    answer needs this, not every object of the dossier."""

    # (exigence id, section key, section title), in the REM's order.
    order: list[tuple[int, str, str]]
    verdicts: dict[int, str]
    changed: set[int]
    # Requirements a réserve of the collège names, with an answer.
    answered: set[int]
    reused_exigences: set[int]
    # SHA-256 → expected proofs of this dossier holding that content (when more than one).
    reused_here: dict[str, int]
    # SHA-256 → other companies that filed the same content (agency readers only).
    reused_elsewhere: dict[str, int]

    def status(self, exigence_id: int) -> str:
        return self.verdicts.get(exigence_id, "sans_verdict")

    def matches(self, exigence_id: int, wanted: str) -> bool:
        if wanted == "modifiee":
            return exigence_id in self.changed
        if wanted == "reutilise":
            return exigence_id in self.reused_exigences
        return self.status(exigence_id) == wanted

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(REVIEW_FILTERS, 0)
        for pk, _key, _title in self.order:
            status = self.status(pk)
            if status in counts:
                counts[status] += 1
            counts["modifiee"] += pk in self.changed
            counts["reutilise"] += pk in self.reused_exigences
        return counts

    def sections(self) -> list[tuple[str, str, int]]:
        """(key, title, number of requirements) in the REM's order."""
        found: dict[str, list] = {}
        for _pk, key, title in self.order:
            found.setdefault(key, [title, 0])[1] += 1
        return [(key, title, count) for key, (title, count) in found.items()]

    def flag(self, fichiers) -> None:
        """Each file shown carries its reuse, wherever the page shows it."""
        for fichier in fichiers:
            fichier.reused_here = self.reused_here.get(fichier.sha256, 0)
            fichier.reused_elsewhere = self.reused_elsewhere.get(fichier.sha256, 0)


def reuse_counts(*, shas: set[str], editeur_id: int) -> dict[str, int]:
    """For each content, how many OTHER companies filed an identical file: one query on
    the SHA-256 index, never a scan of every file. For the agency's eyes only."""
    if not shas:
        return {}
    return dict(
        Fichier.objects.filter(sha256__in=shas, editeur__isnull=False)
        .exclude(editeur_id=editeur_id)
        .values("sha256")
        .annotate(companies=Count("editeur_id", distinct=True))
        .values_list("sha256", "companies")
    )


def _reserve_answers(candidature):
    from college.models import ReserveReponse

    return ReserveReponse.objects.filter(reserve__decision__inscription__candidature=candidature)


def review_index(candidature, *, agency: bool) -> ReviewIndex:
    """In five small queries whatever the dossier's size: the requirements, the verdict
    in force on each, which changed since it (a deposit that came or went, an answer to
    a réserve), and which hold a content reused under several proofs (and, for
    `agency`, filed by another company)."""
    order = [
        (pk, id_section or "—", section)
        for pk, id_section, section in _applicable(candidature)
        .order_by("position")
        .values_list("pk", "id_section", "section")
    ]
    verdicts, since = {}, {}
    for exigence_id, verdict, at in (
        ExigenceVerdict.objects.filter(candidature=candidature)
        .order_by("at", "pk")
        .values_list("exigence_id", "verdict", "at")
    ):
        verdicts[exigence_id], since[exigence_id] = verdict, at
    changed = set()
    holders = defaultdict(set)
    for exigence_id, preuve_id, deposited_at, removed_at, sha in Depot.objects.filter(
        candidature=candidature
    ).values_list(
        "exigence_id", "preuve_attendue_id", "deposited_at", "removed_at", "fichier__sha256"
    ):
        if removed_at is None and sha:
            holders[sha].add((exigence_id, preuve_id))
        verdict_at = since.get(exigence_id)
        if verdict_at is not None and _in_dossier_at(
            deposited_at, removed_at, verdict_at
        ) != _in_dossier_at(deposited_at, removed_at, None):
            changed.add(exigence_id)
    answered = set()
    for exigence_id, answered_at in _reserve_answers(candidature).values_list(
        "reserve__exigences", "answered_at"
    ):
        if exigence_id is None:
            continue
        answered.add(exigence_id)
        if exigence_id not in since or answered_at > since[exigence_id]:
            changed.add(exigence_id)
    reused_here = {sha: len(keys) for sha, keys in holders.items() if len(keys) > 1}
    return ReviewIndex(
        order=order,
        verdicts=verdicts,
        changed=changed,
        answered=answered,
        reused_exigences={pk for sha in reused_here for pk, _preuve in holders[sha]},
        reused_here=reused_here,
        reused_elsewhere=(
            reuse_counts(shas=set(holders), editeur_id=candidature.editeur_id) if agency else {}
        ),
    )


@dataclass
class ProofChange:
    """One expected proof whose files changed since the requirement's last verdict: the
    files it had then, those it has now, and which of them came or went."""

    item: Item
    before: list
    after: list

    @property
    def added(self) -> list:
        then = {depot.pk for depot in self.before}
        return [depot for depot in self.after if depot.pk not in then]

    @property
    def removed(self) -> list:
        now = {depot.pk for depot in self.after}
        return [depot for depot in self.before if depot.pk not in now]

    @property
    def label(self) -> str:
        if self.added and self.removed:
            return "remplacé"
        return "ajouté" if self.added else "retiré"


@dataclass
class ReviewBlock:
    """A requirement of the dossier as the review workspace shows it."""

    block: ExigenceBlock
    section: str
    changes: list[ProofChange] = dataclasses.field(default_factory=list)
    # Files given since the verdict in answer to a réserve of the collège.
    reserve_files: list = dataclasses.field(default_factory=list)
    # A verdict form sent back: its errors and what was typed; or the one just recorded.
    errors: dict = dataclasses.field(default_factory=dict)
    values: dict = dataclasses.field(default_factory=dict)
    recorded: bool = False

    @property
    def exigence(self):
        return self.block.exigence

    @property
    def verdict(self):
        return self.block.verdict

    @property
    def changed(self) -> bool:
        return bool(self.changes or self.reserve_files)


def _review_block(block: ExigenceBlock, section: str, removed: dict, answers: list) -> ReviewBlock:
    """The requirement with what changed since its verdict: `removed` holds the
    withdrawn deposits by (exigence, preuve), `answers` the (réponse, fichier) pairs
    answering a réserve on it."""
    since = block.verdict.at if block.verdict else None
    changes = []
    if since is not None:
        for item in block.items:
            key = (item.exigence.pk, item.preuve.pk if item.preuve else None)
            every = [*item.depots, *removed.get(key, [])]
            before = sorted(
                (d for d in every if _in_dossier_at(d.deposited_at, d.removed_at, since)),
                key=lambda depot: (depot.deposited_at, depot.pk),
            )
            if {d.pk for d in before} != {d.pk for d in item.depots}:
                changes.append(ProofChange(item=item, before=before, after=list(item.depots)))
    return ReviewBlock(
        block=block,
        section=section,
        changes=changes,
        reserve_files=[pair for pair in answers if since is None or pair[0].answered_at > since],
    )


def _answers_by_exigence(candidature, exigence_id=None) -> dict[int, list]:
    """Files answering the collège's réserves, by requirement: what the instructor looks
    at when lifting them."""
    found = defaultdict(list)
    reponses = _reserve_answers(candidature)
    if exigence_id is not None:
        reponses = reponses.filter(reserve__exigences=exigence_id)
    for reponse in (
        reponses.select_related("reserve")
        .prefetch_related("fichiers", "reserve__exigences")
        .order_by("answered_at", "pk")
        .distinct()
    ):
        for exigence in reponse.reserve.exigences.all():
            found[exigence.pk].extend((reponse, fichier) for fichier in reponse.fichiers.all())
    return found


def _removed_depots(depots) -> dict:
    removed = defaultdict(list)
    for depot in depots.filter(removed_at__isnull=False).select_related("fichier"):
        removed[(depot.exigence_id, depot.preuve_attendue_id)].append(depot)
    return removed


@dataclass
class Review:
    candidature: object
    index: ReviewIndex
    dossier: Dossier
    blocks: list[ReviewBlock]

    @property
    def reused_here(self) -> dict[str, int]:
        return self.index.reused_here

    @property
    def reused_elsewhere(self) -> dict[str, int]:
        return self.index.reused_elsewhere

    def counts(self) -> dict[str, int]:
        return self.index.counts()

    def sections(self) -> list[tuple[str, str, int]]:
        return self.index.sections()

    def filtered(self, *, statut: str = "", section: str = "") -> list[ReviewBlock]:
        return [
            block
            for block in self.blocks
            if (not statut or self.index.matches(block.exigence.pk, statut))
            and (not section or block.section == section)
        ]


def review_dossier(candidature, *, agency: bool, now=None) -> Review:
    """The whole dossier with what the review adds, in a fixed number of queries
    whatever its size: changes since each verdict, answers to réserves, and reuse of
    one content under several proofs (and, for `agency`, by other companies)."""
    index = review_index(candidature, agency=agency)
    current = dossier(candidature, now=now)
    removed = _removed_depots(Depot.objects.filter(candidature=candidature))
    answers = _answers_by_exigence(candidature)
    blocks = [
        _review_block(block, key, removed, answers.get(block.exigence.pk, []))
        for key, _title, section_blocks in current.sections
        for block in section_blocks
    ]
    index.flag(
        depot.fichier
        for depot in [
            *(d for item in current.items for d in item.depots),
            *chain(*removed.values()),
        ]
        if depot.fichier_id
    )
    return Review(candidature=candidature, index=index, dossier=current, blocks=blocks)


def review_block(candidature, exigence, *, index: ReviewIndex, verdict=None) -> ReviewBlock | None:
    """One requirement of the dossier (with its profil), as review_dossier shows it,
    without reading the rest of the dossier (the answer to a verdict); None if it is
    not in the dossier. `verdict`: the one in force if the caller just recorded it."""
    if not any(pk == exigence.pk for pk, _key, _title in index.order):
        return None
    # Its expected proofs with their scenario, in one query.
    proofs = list(
        PreuveAttendue.objects.filter(scenario__exigence=exigence)
        .select_related("scenario")
        .order_by("scenario__position", "position")
    )
    current, removed = defaultdict(list), defaultdict(list)
    for depot in (
        Depot.objects.filter(candidature=candidature, exigence=exigence)
        .select_related("fichier")
        .order_by("deposited_at", "pk")
    ):
        if depot.removed_at is None:
            current[depot.preuve_attendue_id].append(depot)
        else:
            removed[(depot.exigence_id, depot.preuve_attendue_id)].append(depot)
    items = [Item(exigence, proof, current[proof.pk]) for proof in proofs] or [
        Item(exigence, None, current[None])
    ]
    if verdict is None:
        verdict = (
            ExigenceVerdict.objects.filter(candidature=candidature, exigence=exigence)
            .order_by("at", "pk")
            .last()
        )
    answers = (
        _answers_by_exigence(candidature, exigence.pk).get(exigence.pk, [])
        if exigence.pk in index.answered
        else []
    )
    block = _review_block(
        ExigenceBlock(exigence, items, verdict), exigence.id_section or "—", removed, answers
    )
    index.flag(
        depot.fichier
        for depot in [*(d for item in items for d in item.depots), *chain(*removed.values())]
        if depot.fichier_id
    )
    return block


def proofs_of(candidature, fichier_ids) -> dict:
    """For the log: the expected proofs each file was deposited for, in one query."""
    found = defaultdict(list)
    for fichier_id, exigence, preuve in (
        Depot.objects.filter(candidature=candidature, fichier_id__in=set(fichier_ids))
        .order_by("exigence__position", "pk")
        .values_list("fichier_id", "exigence__identifier", "preuve_attendue__identifier")
    ):
        found[fichier_id].append(preuve or exigence)
    return found


# Who saw what: the log of a candidature's files.


def candidature_fichiers_q(candidature_id: int) -> Q:
    """Every file given for this candidature, whatever it was given for (see
    _fichier_holders), as a condition on a `fichier` foreign key."""
    condition = Q(pk__in=[])
    for _context, manager, field_name, candidature in _fichier_holders():
        condition |= Q(
            fichier__in=manager.filter(**{candidature: candidature_id}).values(field_name)
        )
    return condition


def consultations(candidature) -> QuerySet:
    """The downloads and previews of the candidature's files, the latest first; page it:
    two queries a page whatever the log's length."""
    return (
        FichierDownload.objects.filter(candidature_fichiers_q(candidature.pk))
        .select_related("fichier", "user__editeur")
        .order_by("-at", "-pk")
    )


# The collège's agenda: what the instruction found.


@dataclass
class InstructionFindings:
    conforme: int = 0
    non_conforme: int = 0
    complement: int = 0
    non_conformes: list = dataclasses.field(default_factory=list)
    time: dict | None = None


def latest_verdicts(candidature_ids) -> QuerySet:
    """The verdict in force on each requirement of these candidatures (the latest
    recorded), in one query on the verdict_latest index."""
    newer = ExigenceVerdict.objects.filter(
        candidature=OuterRef("candidature"), exigence=OuterRef("exigence")
    ).filter(Q(at__gt=OuterRef("at")) | Q(at=OuterRef("at"), pk__gt=OuterRef("pk")))
    return (
        ExigenceVerdict.objects.filter(candidature_id__in=candidature_ids)
        .filter(exigence__rem_version=F("candidature__rem_version"))
        .exclude(Exists(newer))
        .select_related("exigence")
        .order_by("exigence__position", "pk")
    )


def instruction_findings(candidatures) -> dict[int, InstructionFindings]:
    """Verdict counts, the non-conform requirements with their comments and the
    instruction time of each candidature, in two queries whatever their number. The
    candidatures carry `instruction_sollicitations` (Prefetch of
    preuves.instruction.instruction_sollicitations)."""
    from preuves.instruction import instruction_time

    candidatures = list(candidatures)
    findings = {candidature.pk: InstructionFindings() for candidature in candidatures}
    for verdict in latest_verdicts(list(findings)):
        found = findings[verdict.candidature_id]
        if verdict.verdict == Verdict.CONFORME:
            found.conforme += 1
        elif verdict.verdict == Verdict.NON_CONFORME:
            found.non_conforme += 1
            found.non_conformes.append(verdict)
        else:
            found.complement += 1
    for candidature in candidatures:
        findings[candidature.pk].time = instruction_time(candidature)
    return findings
