"""The proof deposit (DSR §4.4): what a candidature must deposit, what it deposited, and
the submission of the complete dossier before J6.

Required = every expected proof of the mandatory requirements of the chosen profiles, in
the wave-2 périmètre, plus the wave-1 périmètre when the eligibility declarations call for
it; préconisations never. A requirement for which the REM lists no proof is answered by
the requirement itself (one item, any proof format).
"""

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from candidatures.enums import (
    CandidatureState,
    CndaStatus,
    ProofKind,
    SollicitationPhase,
    SollicitationStatus,
)
from candidatures.models import Candidature, Exigence, PreuveAttendue, Sollicitation
from candidatures.permissions import is_company_member
from candidatures.proof_kinds import MO, PDF_MIME_TYPES, VIDEO_CAPTURE_MIME_TYPES
from candidatures.rem_import.text import fold
from candidatures.selectors.referentiel import applicable_exigences, exigence_applies
from candidatures.services.candidature import _apply, notify_company
from preuves.models import Depot, DossierSoumission, ExigenceVerdict
from preuves.services import (
    FileRule,
    fichier_receive,
    format_mo,
    mime_label,
    receiving_files,
    rule_for_kind,
)
from segur_portal.clocks import due_display, format_paris_datetime
from segur_portal.journal_events import journal_depot

S = CandidatureState
# A requirement without listed proof: a demonstration or a document.
FREE_RULE = FileRule(
    VIDEO_CAPTURE_MIME_TYPES | PDF_MIME_TYPES,
    50 * MO,
    "PDF, PNG, JPEG, MP4, MOV, AVI, FLV ; 50 Mo au plus",
)
EDITABLE_BEFORE_SUBMISSION = {S.ELIGIBLE}
UNDER_INSTRUCTION = {S.DOSSIER_SOUMIS, S.EN_INSTRUCTION}


def is_cnda_homologation(preuve: PreuveAttendue | None) -> bool:
    """The justificatifs of a CNDA homologation, which may still be in progress at J6."""
    if preuve is None:
        return False
    text = fold(preuve.text)
    return "homologation" in text and "cnda" in text


@dataclass
class Item:
    """One thing to deposit: an expected proof, or a requirement without listed proof.
    What is read from its deposits is computed once: a page reads each many times."""

    exigence: Exigence
    preuve: PreuveAttendue | None
    depots: list[Depot] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.exigence.pk}-{self.preuve.pk if self.preuve else 0}"

    @property
    def identifier(self) -> str:
        return self.preuve.identifier if self.preuve else self.exigence.identifier

    @property
    def text(self) -> str:
        if self.preuve:
            return self.preuve.text
        return "Preuve de conformité à l’exigence (le REM ne détaille pas de preuve)."

    @property
    def kind(self) -> str:
        return self.preuve.kind if self.preuve else ""

    @cached_property
    def kind_label(self) -> str:
        return ProofKind(self.kind).label if self.kind else "Preuve libre"

    @cached_property
    def rule(self) -> FileRule:
        return rule_for_kind(self.preuve.kind) if self.preuve else FREE_RULE

    @property
    def accepts_url(self) -> bool:
        return self.kind == ProofKind.LIEN_RAPPORT

    @cached_property
    def is_cnda(self) -> bool:
        return is_cnda_homologation(self.preuve)

    @cached_property
    def status(self) -> str:
        """fournie, en_verification, refusee or manquante."""
        if any(depot.is_accepted for depot in self.depots):
            return "fournie"
        if any(depot.fichier and depot.fichier.is_pending for depot in self.depots):
            return "en_verification"
        if self.depots:
            return "refusee"
        return "manquante"


@dataclass
class ExigenceBlock:
    exigence: Exigence
    items: list[Item]
    verdict: ExigenceVerdict | None = None
    editable: bool = False


@dataclass
class Dossier:
    candidature: Candidature
    sections: list[tuple[str, str, list[ExigenceBlock]]]

    @property
    def blocks(self) -> list[ExigenceBlock]:
        return [block for _id, _title, blocks in self.sections for block in blocks]

    @property
    def items(self) -> list[Item]:
        return [item for block in self.blocks for item in block.items]

    def required_items(self) -> list[Item]:
        """What must be deposited; CNDA homologations may wait when they are in
        progress (DSR §4.4)."""
        waiving = self.candidature.cnda_homologation == CndaStatus.EN_COURS_ACTIF
        return [item for item in self.items if not (waiving and item.is_cnda)]

    def missing(self) -> list[Item]:
        return [item for item in self.required_items() if item.status != "fournie"]

    @property
    def counts(self) -> Counter:
        return Counter(item.status for item in self.items)

    @property
    def provided(self) -> int:
        return self.counts["fournie"]


def _applicable(candidature: Candidature):
    return applicable_exigences(
        candidature.rem_version_id,
        # .all(): the profiles a page prefetched with the candidature, without a query.
        [profil.pk for profil in candidature.profils.all()],
        include_vague_1=candidature.wave_1_perimetre_applies,
    )


def applies_to(candidature: Candidature) -> Callable[[Exigence], bool]:
    """Whether a requirement (already read) is part of the candidature's dossier: the
    rule of _applicable, its profiles read once (not at all if prefetched)."""
    profil_ids = {profil.pk for profil in candidature.profils.all()}
    include_vague_1 = candidature.wave_1_perimetre_applies
    return lambda exigence: exigence_applies(
        exigence, candidature.rem_version_id, profil_ids, include_vague_1=include_vague_1
    )


def open_complement_exigences(candidature: Candidature, now: datetime) -> set[int]:
    """The requirements the editor may still change under instruction: those of an
    open request for complements."""
    return set(
        Sollicitation.objects.filter(
            candidature=candidature,
            phase=SollicitationPhase.INSTRUCTION,
            status=SollicitationStatus.OUVERTE,
            due_at__gt=now,
            closes_at__gt=now,
        ).values_list("exigences", flat=True)
    ) - {None}


def dossier(candidature: Candidature, *, now: datetime | None = None) -> Dossier:
    """The whole dossier in a fixed number of queries, whatever the REM's size."""
    now = now or timezone.now()
    applicable = _applicable(candidature)
    exigences = list(applicable.select_related("profil").order_by("position"))
    # The expected proofs with their scenario, in one query: most requirements of a real
    # REM list none, and loading their scenarios cost a third of the page's time.
    proofs = defaultdict(list)
    for proof in (
        PreuveAttendue.objects.filter(scenario__exigence__in=applicable.values("pk"))
        .select_related("scenario")
        .order_by("scenario__position", "position")
    ):
        proofs[proof.scenario.exigence_id].append(proof)
    depots = defaultdict(list)
    for depot in (
        Depot.objects.filter(candidature=candidature, removed_at__isnull=True)
        .select_related("fichier")
        .order_by("deposited_at", "pk")
    ):
        depots[(depot.exigence_id, depot.preuve_attendue_id)].append(depot)
    verdicts = {}
    for verdict in ExigenceVerdict.objects.filter(candidature=candidature).order_by("at", "pk"):
        verdicts[verdict.exigence_id] = verdict
    # One stored file may answer several expected proofs (depot_reuse, bulk deposits):
    # each deposit says which other proofs its file answers, for the editor and the ANS.
    answers = defaultdict(list)
    for (exigence_id, preuve_id), current in depots.items():
        for depot in current:
            if depot.fichier_id:
                answers[depot.fichier_id].append((exigence_id, preuve_id))
    editable = _editable_exigences(candidature, now)
    sections: dict[str, tuple[str, list[ExigenceBlock]]] = {}
    for exigence in exigences:
        items = [
            Item(exigence, proof, depots[(exigence.pk, proof.pk)]) for proof in proofs[exigence.pk]
        ] or [Item(exigence, None, depots[(exigence.pk, None)])]
        block = ExigenceBlock(
            exigence,
            items,
            verdicts.get(exigence.pk),
            editable is True or exigence.pk in (editable or ()),
        )
        key = exigence.id_section or "—"
        sections.setdefault(key, (exigence.section, []))[1].append(block)
    identifiers = {
        (block.exigence.pk, item.preuve.pk if item.preuve else None): item.identifier
        for _title, blocks in sections.values()
        for block in blocks
        for item in block.items
    }
    for (exigence_id, preuve_id), current in depots.items():
        for depot in current:
            others = [
                other
                for other in answers.get(depot.fichier_id, ())
                if other != (exigence_id, preuve_id) and other in identifiers
            ]
            depot.shared_with = [identifiers[other] for other in others]
            depot.shared_keys = {f"{e}-{p or 0}" for e, p in others}
    return Dossier(
        candidature,
        [(key, title, blocks) for key, (title, blocks) in sections.items()],
    )


def _editable_exigences(candidature: Candidature, now: datetime):
    """True: every requirement; a set: those requirements only; None: none."""
    if now >= candidature.campagne.j7:
        return None
    if candidature.state in EDITABLE_BEFORE_SUBMISSION:
        return True if now < candidature.campagne.j6 else None
    if candidature.state in UNDER_INSTRUCTION:
        return open_complement_exigences(candidature, now)
    return None


def depot_editable(candidature: Candidature, exigence: Exigence, now: datetime) -> bool:
    editable = _editable_exigences(candidature, now)
    return editable is True or (bool(editable) and exigence.pk in editable)


def _check_editable(candidature: Candidature, exigence: Exigence, actor, now: datetime) -> None:
    if not is_company_member(actor, candidature):
        raise PermissionDenied("Seuls les comptes de l’entreprise déposent ses preuves.")
    if depot_editable(candidature, exigence, now):
        return
    campagne = candidature.campagne
    if now >= campagne.j7:
        raise ValidationError(
            f"Les échanges sur les preuves étaient ouverts {due_display(campagne.j7)} "
            "(J7) : plus aucune preuve ne peut changer."
        )
    if candidature.state == S.ELIGIBLE:
        raise ValidationError(
            f"Le dossier complet pouvait être soumis {due_display(campagne.j6)} (J6) : "
            "ce délai est passé."
        )
    if candidature.state in UNDER_INSTRUCTION:
        raise ValidationError(
            "Le dossier est en instruction : seules les preuves des exigences visées par une "
            "demande de complément de l’ANS peuvent changer."
        )
    raise ValidationError("Le dépôt des preuves n’est pas ouvert pour cette candidature.")


def find_item(candidature: Candidature, exigence_id: int, preuve_id: int | None) -> Item:
    """The item of this candidature's dossier, or ValidationError: a requirement outside
    the applicable ones cannot receive a deposit."""
    exigence = _applicable(candidature).filter(pk=exigence_id).first()
    if exigence is None:
        raise ValidationError("Cette exigence ne fait pas partie du dossier de la candidature.")
    preuve = None
    if preuve_id:
        preuve = PreuveAttendue.objects.filter(pk=preuve_id, scenario__exigence=exigence).first()
        if preuve is None:
            raise ValidationError("Cette preuve n’est pas attendue pour cette exigence.")
    elif PreuveAttendue.objects.filter(scenario__exigence=exigence).exists():
        raise ValidationError("Choisissez la preuve attendue à laquelle répond le fichier.")
    depots = list(
        Depot.objects.filter(
            candidature=candidature, exigence=exigence, preuve_attendue=preuve, removed_at=None
        ).select_related("fichier")
    )
    return Item(exigence, preuve, depots)


def depot_add_files(*, candidature: Candidature, item: Item, uploads, actor, now=None):
    now = now or timezone.now()
    _check_editable(candidature, item.exigence, actor, now)
    if not uploads:
        raise ValidationError("Choisissez au moins un fichier.")
    with receiving_files(), transaction.atomic():
        return depots_create(
            candidature=candidature, item=item, uploads=uploads, actor=actor, now=now
        )


def depots_create(*, candidature: Candidature, item: Item, uploads, actor, now) -> list[Depot]:
    """One deposit per file, each file stored and queued for its check. The caller has
    checked the right to deposit, inside receiving_files() and a transaction."""
    depots = [
        Depot.objects.create(
            candidature=candidature,
            exigence=item.exigence,
            preuve_attendue=item.preuve,
            fichier=fichier_receive(
                upload=upload, rule=item.rule, editeur=candidature.editeur, actor=actor
            ),
            deposited_by=actor,
            deposited_at=now,
        )
        for upload in uploads
    ]
    for depot in depots:
        journal_depot(depot)
    return depots


def fit_problem(*, size: int, mime: str, item: Item) -> str | None:
    """Why a file of this size and content type cannot answer `item`, in French; None
    when it can. `mime` is what libmagic read (empty: not read yet)."""
    rule = item.rule
    if size > rule.max_bytes:
        return f"{format_mo(size)} : trop volumineux pour {item.identifier} ({rule.label})."
    if rule.allowed_mime_types is not None and mime not in rule.allowed_mime_types:
        read = f"de type {mime_label(mime)}" if mime else "d’un type pas encore vérifié"
        return f"Le contenu est {read} ; {item.identifier} attend : {rule.label}."
    return None


def depot_attach(
    *, candidature: Candidature, item: Item, actor, now, fichier=None, url: str = ""
) -> Depot:
    """A deposit of a file already stored, or of a link: one file may answer several
    expected proofs (one object, one SHA-256, several deposits). The caller has checked
    the right to deposit and that the file fits the proof (fit_problem)."""
    depot = Depot.objects.create(
        candidature=candidature,
        exigence=item.exigence,
        preuve_attendue=item.preuve,
        fichier=fichier,
        url=url,
        deposited_by=actor,
        deposited_at=now,
    )
    journal_depot(depot)
    return depot


def reuse_problem(fichier, item: Item) -> str | None:
    """Why a stored file cannot answer `item` too, in French; None when it can. A file
    still being checked fits only where every type its check may accept fits; a
    refused file never."""
    if fichier.is_refused:
        return f"« {fichier.original_name} » a été refusé : il ne peut répondre à aucune preuve."
    allowed = item.rule.allowed_mime_types
    checked_as = set(fichier.allowed_mime_types)
    if fichier.is_accepted or fichier.size > item.rule.max_bytes:
        problem = fit_problem(size=fichier.size, mime=fichier.detected_mime, item=item)
    elif allowed is not None and not (checked_as and checked_as <= allowed):
        problem = (
            f"sa vérification est en cours ; réessayez une fois le fichier accepté "
            f"({item.identifier} attend : {item.rule.label})."
        )
    else:
        problem = None
    return f"« {fichier.original_name} » : {problem}" if problem else None


def depot_reuse(*, depot: Depot, item: Item, actor, now=None) -> Depot:
    """« Utiliser aussi pour… »: the file of `depot` answers `item` too, without being
    sent again (one stored file, one SHA-256, one more deposit)."""
    now = now or timezone.now()
    candidature = depot.candidature
    _check_editable(candidature, item.exigence, actor, now)
    if depot.removed_at is not None or depot.fichier is None:
        raise ValidationError("Seul un fichier déposé peut servir à une autre preuve.")
    fichier = depot.fichier
    problem = reuse_problem(fichier, item)
    if problem:
        raise ValidationError(problem)
    with transaction.atomic():
        already = Depot.objects.filter(
            candidature=candidature,
            exigence=item.exigence,
            preuve_attendue=item.preuve,
            fichier=fichier,
            removed_at=None,
        )
        if already.exists():
            raise ValidationError(f"« {fichier.original_name} » répond déjà à {item.identifier}.")
        return depot_attach(
            candidature=candidature, item=item, fichier=fichier, actor=actor, now=now
        )


def depot_add_link(*, candidature: Candidature, item: Item, url: str, actor, now=None) -> Depot:
    """A test-space report may be given as its https address (DSR §5)."""
    now = now or timezone.now()
    _check_editable(candidature, item.exigence, actor, now)
    if not item.accepts_url:
        raise ValidationError({"url": "Cette preuve se dépose sous forme de fichier."})
    try:
        URLValidator(schemes=["https"])(url)
    except ValidationError as error:
        raise ValidationError(
            {"url": "Adresse attendue en https://, vers le rapport de l’espace de test."}
        ) from error
    with transaction.atomic():
        return depot_attach(candidature=candidature, item=item, actor=actor, now=now, url=url)


def depot_remove(*, depot: Depot, actor, now=None) -> None:
    """Withdraw a deposit, while its requirement may still change. Kept, marked removed."""
    now = now or timezone.now()
    _check_editable(depot.candidature, depot.exigence, actor, now)
    if depot.removed_at is None:
        depot.removed_at = now
        depot.removed_by = actor
        with transaction.atomic():
            depot.save(update_fields=["removed_at", "removed_by"])
            journal_depot(depot, removed=True)


def cnda_status_set(*, candidature: Candidature, status: str, actor, now=None) -> None:
    now = now or timezone.now()
    if not is_company_member(actor, candidature):
        raise PermissionDenied
    if candidature.state != S.ELIGIBLE or now >= candidature.campagne.j6:
        raise ValidationError("Le statut CNDA se déclare avant la soumission du dossier.")
    if status not in CndaStatus.values or not status:
        raise ValidationError({"cnda_homologation": "Choisissez le statut dans la liste."})
    Candidature.objects.filter(pk=candidature.pk).update(cnda_homologation=status)


# Submission (J6)


def _manifest(dossier_: Dossier) -> list[dict]:
    return [
        {
            "exigence": item.exigence.identifier,
            "preuve": item.identifier,
            "fichier": str(depot.fichier_id) if depot.fichier_id else None,
            "nom": depot.fichier.original_name if depot.fichier_id else depot.url,
            "taille": depot.fichier.size if depot.fichier_id else None,
            "sha256": depot.fichier.sha256 if depot.fichier_id else None,
            "depose_le": depot.deposited_at.isoformat(),
        }
        for item in dossier_.items
        for depot in item.depots
        if depot.is_accepted
    ]


def dossier_submit(*, candidature: Candidature, actor, now=None) -> DossierSoumission:
    """Submit the complete dossier; its reception time orders the instruction queue."""
    from preuves.tasks import dossier_receipt_render

    now = now or timezone.now()
    if not is_company_member(actor, candidature):
        raise PermissionDenied("Seuls les comptes de l’entreprise soumettent le dossier.")
    holder = {}

    def check(locked: Candidature) -> None:
        if now >= locked.campagne.j6:
            raise ValidationError(
                "Le dossier de preuves complet pouvait être soumis "
                f"{due_display(locked.campagne.j6)} (J6) : il ne peut plus l’être."
            )
        if locked.cnda_homologation not in {CndaStatus.CERTIFIE, CndaStatus.EN_COURS_ACTIF}:
            raise ValidationError(
                "Le dossier ne se soumet qu’avec des homologations CNDA au statut « certifié », "
                "ou au moins « en cours actif » (DSR §4.4)."
            )
        current = dossier(locked, now=now)
        missing = current.missing()
        if missing:
            raise ValidationError(
                f"Le dossier n’est pas complet : {len(missing)} preuve(s) sans fichier accepté, "
                f"dont {', '.join(item.identifier for item in missing[:5])}."
            )
        holder["dossier"] = current

    def after(locked: Candidature) -> None:
        locked.dossier_submitted_at = now

    candidature = _apply(
        candidature=candidature,
        name="submit_dossier",
        actor=actor,
        now=now,
        check=check,
        after=after,
    )
    soumission = DossierSoumission.objects.create(
        candidature=candidature,
        submitted_by=actor,
        submitted_at=now,
        manifest=_manifest(holder["dossier"]),
    )
    transaction.on_commit(lambda: dossier_receipt_render.delay(soumission.pk), robust=True)
    notify_company(
        candidature,
        title=f"Dossier de preuves complet reçu — {candidature.nom_commercial}",
        body=f"L’ANS a reçu le dossier de preuves complet de la candidature "
        f"{candidature.reference} le {format_paris_datetime(now)}. Il prend place dans la file "
        "d’instruction, dans l’ordre de réception ; le délai indicatif d’instruction est de "
        "6 semaines. Le récépissé listant chaque fichier et son empreinte est sur la page "
        "du dossier.",
    )
    return soumission


def candidatures_close_unsubmitted(*, now: datetime) -> int:
    """Sweep: an eligible candidature whose complete dossier was not submitted by J6 is
    closed. Idempotent: a closed candidature is no longer eligible."""
    closed = 0
    for candidature in Candidature.objects.filter(state=S.ELIGIBLE, campagne__j6__lte=now):
        reason = (
            "Dossier de preuves complet non soumis dans le délai (J6), qui courait "
            f"{due_display(candidature.campagne.j6)}."
        )

        def after(locked: Candidature, reason=reason) -> None:
            locked.closed_at = now
            locked.closed_reason = reason

        try:
            _apply(candidature=candidature, name="close_unsubmitted", actor=None, now=now,
                   reason=reason, after=after)  # fmt: skip
        except ValidationError:
            continue  # submitted or closed meanwhile
        notify_company(
            candidature,
            title=f"Candidature close — {candidature.nom_commercial}",
            body=f"La candidature {candidature.reference} est close. {reason}",
        )
        closed += 1
    return closed
