"""Bulk deposit: many files, or ZIP archives, dropped on a dossier or one of its
sections, matched to the expected proofs by the identifier in their names.

1. `lot_create`, `lot_add_files`: the files arrive through the bounded upload
   (preuves.uploads) and are staged: each is stored as received under
   `lots/<batch>/<uuid>` (an archive once, whole), hashed, its first bytes read by
   libmagic, and its name matched (preuves.matching). Nothing is deposited.
2. The editor reviews the proposed mapping (matched, ambiguous, unmatched, wrong kind,
   already deposited) and may map a file to several proofs.
3. `lot_confirm`: each mapped file goes through `fichier_receive`, as a single upload
   does (stored under its own key, checked by the worker, antivirus included): one
   stored file for all the proofs it answers, one deposit per proof. All or nothing.

A batch belongs to its company and expires after LOT_TTL; `lots_sweep` deletes expired
batches and their staged objects. The rules of a single deposit apply at every step
(company member, J6 before submission, complément requirements under instruction, J7).
"""

import hashlib
import logging
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

import magic
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from candidatures.models import Candidature
from candidatures.permissions import is_company_member
from candidatures.proof_kinds import MO
from preuves.depot import (
    Dossier,
    Item,
    _check_editable,
    depot_attach,
    dossier,
    fit_problem,
)
from preuves.enums import LotMatch
from preuves.matching import Matcher, words
from preuves.models import DepotLot, DepotLotFichier
from preuves.services import (
    FileRule,
    fichier_receive,
    format_mo,
    mime_label,
    receiving_files,
)
from preuves.zipstream import MemberFile, member_chunks, zip_open
from segur_portal.files import CHUNK_SIZE, clean_filename

logger = logging.getLogger(__name__)

LOT_TTL = timedelta(hours=24)
# Files of one batch, loose and archive members together (a REM has up to ~500 proofs).
LOT_MAX_FILES = 600
# A loose file or an archive member: the largest proof kind (video, 50 Mo).
LOT_FILE_MAX_BYTES = 50 * MO
# An archive as received.
LOT_ZIP_MAX_BYTES = 500 * MO
SNIFF_BYTES = 64 * 1024
LOT_PREFIX = "lots"
# Staged objects whose batch is gone are deleted once this old (their batch may still be
# on its way to the database when the sweep lists them).
ORPHAN_MIN_AGE = timedelta(days=1)


def lot_folder(lot_id: uuid.UUID) -> str:
    return f"{LOT_PREFIX}/{lot_id.hex}"


def is_zip_name(name: str) -> bool:
    return (name or "").lower().endswith(".zip")


# Rights and items


def editable_items(current: Dossier, *, actor, now: datetime, section: str = "") -> list[Item]:
    """The items `actor` may deposit for now, or the error a single deposit would get."""
    candidature = current.candidature
    if not is_company_member(actor, candidature):
        raise PermissionDenied("Seuls les comptes de l’entreprise déposent ses preuves.")
    items = [
        item
        for key, _title, blocks in current.sections
        if not section or key == section
        for block in blocks
        if block.editable
        for item in block.items
    ]
    if not items:
        if current.blocks:
            # Raises the message a single deposit would show (J6, J7, instruction).
            _check_editable(candidature, current.blocks[0].exigence, actor, now)
        raise ValidationError("Aucune preuve de ce dossier ne peut être déposée.")
    return items


def item_labels(items: list[Item]) -> dict[str, str]:
    """A name per item the editor can type: its identifier, or, where two expected
    proofs share one (DMP/UX.15.01.01 under two scenarios), with its scenario."""
    counts = Counter(item.identifier for item in items)
    labels = {}
    for item in items:
        label = item.identifier
        if counts[label] > 1:
            label = (
                f"{label} (scénario {item.preuve.scenario.identifier})"
                if item.preuve
                else (f"{label} (exigence)")
            )
        labels[item.key] = label
    return labels


def resolve_label(text: str, items: list[Item]) -> Item | None:
    """The item the editor named, typed as its label or its identifier (case, accents
    and separators do not matter), or None."""
    wanted = words(text)
    if not wanted:
        return None
    labels = item_labels(items)
    by_label = [item for item in items if words(labels[item.key]) == wanted]
    if len(by_label) == 1:
        return by_label[0]
    by_identifier = [item for item in items if words(item.identifier) == wanted]
    return by_identifier[0] if len(by_identifier) == 1 else None


# Staging


def _lot_for_update(lot: DepotLot, actor, now: datetime) -> DepotLot:
    locked = (
        DepotLot.objects.select_for_update(of=("self",))
        .select_related("candidature__campagne")
        .get(pk=lot.pk)
    )
    if not is_company_member(actor, locked.candidature):
        raise PermissionDenied
    if locked.confirmed_at is not None:
        raise ValidationError("Ce dépôt groupé est déjà confirmé.")
    if locked.expires_at <= now:
        raise ValidationError(
            "Ce dépôt groupé a expiré (24 heures sans confirmation) : déposez de nouveau "
            "les fichiers."
        )
    return locked


def lot_create(*, candidature: Candidature, actor, section: str = "", now=None) -> DepotLot:
    now = now or timezone.now()
    current = dossier(candidature, now=now)
    if section and section not in {key for key, _title, _blocks in current.sections}:
        raise ValidationError("Cette section ne fait pas partie du dossier.")
    editable_items(current, actor=actor, now=now, section=section)
    return DepotLot.objects.create(
        candidature=candidature,
        editeur=candidature.editeur,
        created_by=actor,
        created_at=now,
        expires_at=now + LOT_TTL,
        section=section,
    )


@dataclass
class _Read:
    size: int = 0
    sha256: str = ""
    head: bytes = b""
    problem: str = ""


def _read(chunks, *, limit: int) -> _Read:
    digest = hashlib.sha256()
    read = _Read()
    for chunk in chunks:
        if len(read.head) < SNIFF_BYTES:
            read.head += chunk[: SNIFF_BYTES - len(read.head)]
        digest.update(chunk)
        read.size += len(chunk)
        if read.size > limit:
            read.problem = f"Fichier trop volumineux : plus de {format_mo(limit)}."
            return read
    read.sha256 = digest.hexdigest()
    if read.size == 0:
        read.problem = "Fichier vide : il ne contient aucun octet."
    return read


def _sniff(head: bytes) -> str:
    return magic.from_buffer(head, mime=True)[:255] if head else ""


class _Stager:
    """Stores a batch's files; on failure, deletes the objects it wrote."""

    def __init__(self, lot: DepotLot, items: list[Item]):
        self.lot = lot
        self.matcher = Matcher(items)
        self.deposited = {
            (item.key, depot.fichier.sha256)
            for item in items
            for depot in item.depots
            if depot.fichier is not None and not depot.fichier.is_refused
        }
        self.position = lot.fichiers.count()
        self.written: list[str] = []
        self.rows: list[DepotLotFichier] = []

    def _store(self, content) -> str:
        name = default_storage.save(f"{lot_folder(self.lot.pk)}/{uuid.uuid4().hex}", content)
        self.written.append(name)
        return name

    def _row(self, *, name: str, path: str = "", read: _Read, **fields) -> None:
        self.position += 1
        if self.position > LOT_MAX_FILES:
            raise ValidationError(
                f"Un dépôt groupé compte {LOT_MAX_FILES} fichiers au plus : rien n’a été "
                "enregistré de cet envoi."
            )
        row = DepotLotFichier(
            lot=self.lot,
            position=self.position,
            name=name,
            path=path if path != name else "",
            size=read.size,
            sha256=read.sha256,
            sniffed_mime=_sniff(read.head),
            problem=read.problem,
            **fields,
        )
        _propose(row, self.matcher, self.deposited)
        self.rows.append(row)

    def loose(self, upload) -> None:
        read = _read(upload.chunks(CHUNK_SIZE), limit=LOT_FILE_MAX_BYTES)
        storage_name = "" if read.problem else self._store(upload)
        self._row(name=clean_filename(upload.name or ""), read=read, storage_name=storage_name)

    def archive(self, upload) -> None:
        archive, members = zip_open(upload.file)
        try:
            storage_name = self._store(upload)
            for member in members:
                if member.size > LOT_FILE_MAX_BYTES:
                    read = _Read(
                        size=member.size,
                        problem=f"Fichier trop volumineux : plus de {format_mo(LOT_FILE_MAX_BYTES)}.",
                    )
                else:
                    try:
                        read = _read(member_chunks(archive, member), limit=LOT_FILE_MAX_BYTES)
                    except ValidationError as error:
                        read = _Read(size=member.size, problem=" ".join(error.messages))
                self._row(
                    name=member.name,
                    path=member.path,
                    read=read,
                    storage_name=storage_name,
                    member_index=member.index,
                    member_name=member.raw_name,
                )
        finally:
            archive.close()

    def discard(self) -> None:
        for name in self.written:
            try:
                default_storage.delete(name)
            except OSError:
                logger.exception("objet %s d’un dépôt groupé non supprimé", name)


def _compatible(row: DepotLotFichier, item: Item) -> bool:
    return fit_problem(size=row.size, mime=row.sniffed_mime, item=item) is None


def _propose(row: DepotLotFichier, matcher: Matcher, deposited: set) -> None:
    match = matcher.match(row.name)
    if not match.items and row.path:
        # Archives sorted in folders: « DMP-UX.08/capture.png ».
        match = matcher.match(row.path)
    row.candidates = [item.key for item in match.items]
    row.proposed = []
    if row.problem:
        row.match = LotMatch.ILLISIBLE
    elif not match.items:
        row.match = LotMatch.NON_RECONNU
    elif len(match.items) > 1:
        row.match = LotMatch.AMBIGU
    elif (match.items[0].key, row.sha256) in deposited:
        row.match = LotMatch.DEJA_DEPOSE
    elif not _compatible(row, match.items[0]):
        row.match = LotMatch.TYPE_INADAPTE
    else:
        row.match = LotMatch.RECONNU
        row.proposed = [match.items[0].key]


def lot_add_files(*, lot: DepotLot, uploads, actor, now=None) -> list[DepotLotFichier]:
    """Stage files (a `.zip` is opened: its members are staged) and propose, for each,
    the expected proofs it answers. Nothing is deposited. ValidationError, with
    nothing kept of this call, for an archive refused whole or too many files."""
    now = now or timezone.now()
    if not uploads:
        raise ValidationError("Choisissez au moins un fichier.")
    with transaction.atomic():
        lot = _lot_for_update(lot, actor, now)
        current = dossier(lot.candidature, now=now)
        stager = _Stager(lot, editable_items(current, actor=actor, now=now, section=lot.section))
        try:
            for upload in uploads:
                if is_zip_name(upload.name):
                    stager.archive(upload)
                else:
                    stager.loose(upload)
            DepotLotFichier.objects.bulk_create(stager.rows)
        except BaseException:
            stager.discard()
            raise
    return stager.rows


# Review


@dataclass
class LotRow:
    fichier: DepotLotFichier
    # (item, label, checked, why it does not fit or "") for each candidate.
    choices: list
    other: str = ""
    error: str = ""

    @property
    def reason(self) -> str:
        """What the editor should know about the proposal, in French."""
        row = self.fichier
        if row.match == LotMatch.ILLISIBLE:
            return row.problem
        if row.match == LotMatch.NON_RECONNU:
            return "Aucun identifiant de preuve dans le nom : indiquez la preuve."
        if row.match == LotMatch.AMBIGU:
            return "Plusieurs preuves correspondent : cochez celle(s) à laquelle il répond."
        if row.match == LotMatch.DEJA_DEPOSE:
            return "Ce fichier identique est déjà déposé pour cette preuve."
        if row.match == LotMatch.TYPE_INADAPTE:
            return next((why for _item, _label, _checked, why in self.choices if why), "")
        return ""

    @property
    def type_label(self) -> str:
        return mime_label(self.fichier.sniffed_mime) if self.fichier.sniffed_mime else ""


@dataclass
class LotReview:
    lot: DepotLot
    rows: list[LotRow]
    labels: dict[str, str]

    @property
    def counts(self) -> Counter:
        return Counter(row.fichier.match for row in self.rows)

    @property
    def checked(self) -> int:
        return sum(1 for row in self.rows if any(c[2] for c in row.choices) or row.other)


def lot_review(
    lot: DepotLot, *, now=None, chosen: dict | None = None, errors: dict | None = None
) -> LotReview:
    """The batch's files with their proposals, or, after a refused confirmation, with
    what the editor chose (`chosen`: {row id: (item keys, other text)}) and the errors
    ({row id: message})."""
    now = now or timezone.now()
    current = dossier(lot.candidature, now=now)
    items = current.items
    by_key = {item.key: item for item in items}
    labels = item_labels(items)
    rows = []
    # What needs the editor comes first; the files matched as proposed after.
    ordered = sorted(lot.fichiers.all(), key=lambda r: (r.match == LotMatch.RECONNU, r.position))
    for row in ordered:
        keys, other = (chosen or {}).get(row.pk, (row.proposed, ""))
        choices = [
            (
                by_key[key],
                labels[key],
                key in keys,
                fit_problem(size=row.size, mime=row.sniffed_mime, item=by_key[key]) or "",
            )
            for key in dict.fromkeys([*row.candidates, *keys])
            if key in by_key
        ]
        rows.append(LotRow(row, choices, other, (errors or {}).get(row.pk, "")))
    return LotReview(lot, rows, labels)


# Confirmation


def common_rule(items: list[Item]) -> FileRule | None:
    """What one file must be to answer all of `items`: the formats they all accept, the
    smallest of their size limits; None when no format fits them all."""
    if len(items) == 1:
        return items[0].rule
    allowed = None
    for item in items:
        accepted = item.rule.allowed_mime_types
        if accepted is not None:
            allowed = accepted if allowed is None else allowed & accepted
    if allowed is not None and not allowed:
        return None
    max_bytes = min(item.rule.max_bytes for item in items)
    formats = ", ".join(sorted(mime_label(m) for m in allowed)) if allowed else "tout format"
    return FileRule(allowed, max_bytes, f"{formats} ; {format_mo(max_bytes)} au plus")


class LotErrors(ValidationError):
    """A confirmation refused: {row id: message} for the rows at fault."""

    def __init__(self, errors: dict[int, str]):
        self.by_row = errors
        super().__init__(
            f"{len(errors)} fichier(s) ne peuvent pas être déposés tels quels : rien n’a été "
            "déposé."
        )


def _targets(row: DepotLotFichier, keys, by_key, candidature, actor, now) -> list[Item]:
    targets = []
    for key in keys:
        item = by_key.get(key)
        if item is None:
            raise ValidationError("Cette preuve ne fait pas partie du dossier de la candidature.")
        _check_editable(candidature, item.exigence, actor, now)
        problem = fit_problem(size=row.size, mime=row.sniffed_mime, item=item)
        if problem:
            raise ValidationError(problem)
        targets.append(item)
    return targets


def _staged_file(row: DepotLotFichier, opened: dict):
    """The staged bytes of a row, as a file `fichier_receive` can read. `opened` keeps
    the stored objects opened so far ({storage name: (handle, archive or None)}), for
    the caller to close."""
    if not row.member_name:
        handle = default_storage.open(row.storage_name, "rb")
        opened[f"{row.storage_name}#{row.pk}"] = (handle, None)
        return File(handle, name=row.name)
    if row.storage_name not in opened:
        handle = default_storage.open(row.storage_name, "rb")
        opened[row.storage_name] = (handle, None)
        opened[row.storage_name] = (handle, zip_open(handle))
    _handle, (archive, members) = opened[row.storage_name]
    member = next((m for m in members if m.index == row.member_index), None)
    if member is None or member.raw_name != row.member_name:
        raise ValidationError(f"« {row.name} » n’est plus dans l’archive reçue.")
    return File(MemberFile(archive, member), name=row.name)


def _plan(lot: DepotLot, rows, chosen: dict, *, actor, now) -> tuple[list, dict]:
    """[(row, items, rule)] for the rows mapped to proofs, and {row id: message} for
    those that cannot answer the proofs they were mapped to."""
    candidature = lot.candidature
    by_key = {item.key: item for item in dossier(candidature, now=now).items}
    plan, errors = [], {}
    for row in rows:
        keys = list(dict.fromkeys(chosen.get(row.pk, [])))
        if not keys:
            continue
        try:
            if row.problem:
                raise ValidationError(row.problem)
            targets = _targets(row, keys, by_key, candidature, actor, now)
            rule = common_rule(targets)
            if rule is None:
                raise ValidationError(
                    "Un même fichier ne peut répondre à ces preuves : aucun format n’est "
                    "accepté par toutes."
                )
        except ValidationError as error:
            errors[row.pk] = " ".join(error.messages)
            continue
        plan.append((row, targets, rule))
    return plan, errors


def lot_check(*, lot: DepotLot, chosen: dict, actor, now=None) -> dict[int, str]:
    """What `lot_confirm` would refuse, without writing anything: {row id: message}."""
    now = now or timezone.now()
    return _plan(lot, list(lot.fichiers.order_by("position")), chosen, actor=actor, now=now)[1]


def lot_confirm(*, lot: DepotLot, chosen: dict, actor, now=None) -> list:
    """Deposit the batch as the editor mapped it: `chosen` is {row id: item keys}. Each
    mapped file is received once (fichier_receive: stored, checked by the worker) and
    linked to each of its proofs. LotErrors ({row: message}) when a file cannot answer
    a proof it was mapped to; nothing is deposited then."""
    now = now or timezone.now()
    opened: dict = {}
    try:
        with receiving_files(), transaction.atomic():
            lot = _lot_for_update(lot, actor, now)
            candidature = lot.candidature
            rows = list(lot.fichiers.order_by("position"))
            plan, errors = _plan(lot, rows, chosen, actor=actor, now=now)
            if errors:
                raise LotErrors(errors)
            if not plan:
                raise ValidationError(
                    "Aucun fichier n’est rattaché à une preuve : cochez au moins une preuve."
                )
            depots = []
            for row, targets, rule in plan:
                fichier = fichier_receive(
                    upload=_staged_file(row, opened),
                    rule=rule,
                    editeur=candidature.editeur,
                    actor=actor,
                )
                if fichier.sha256 != row.sha256:
                    raise LotErrors(
                        {row.pk: "Le fichier a changé depuis son envoi : déposez-le de nouveau."}
                    )
                for item in targets:
                    depots.append(
                        depot_attach(
                            candidature=candidature,
                            item=item,
                            fichier=fichier,
                            actor=actor,
                            now=now,
                        )
                    )
                row.fichier = fichier
                row.save(update_fields=["fichier"])
            lot.confirmed_at = now
            lot.save(update_fields=["confirmed_at"])
            staged = {row.storage_name for row in rows if row.storage_name}
            transaction.on_commit(lambda: _delete_objects(staged), robust=True)
    finally:
        for handle, archive in opened.values():
            if archive is not None:
                archive[0].close()
            handle.close()
    return depots


def lot_discard(*, lot: DepotLot, actor) -> None:
    """Abandon an unconfirmed batch: its rows and staged objects are deleted."""
    with transaction.atomic():
        locked = DepotLot.objects.select_for_update().get(pk=lot.pk)
        if not is_company_member(actor, locked.candidature):
            raise PermissionDenied
        if locked.confirmed_at is not None:
            raise ValidationError(
                "Ce dépôt groupé est déjà confirmé : retirez les fichiers un à un."
            )
        staged = set(
            locked.fichiers.exclude(storage_name="").values_list("storage_name", flat=True)
        )
        locked.delete()
        transaction.on_commit(lambda: _delete_objects(staged), robust=True)


def _delete_objects(names) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            logger.exception("objet %s d’un dépôt groupé non supprimé", name)


# Progress after confirmation


@dataclass
class LotProgress:
    total: int
    accepted: int
    refused: list  # DepotLotFichier rows whose file was refused
    pending: int

    @property
    def decided(self) -> int:
        return self.accepted + len(self.refused)

    @property
    def done(self) -> bool:
        return self.pending == 0


def lot_progress(lot: DepotLot) -> LotProgress:
    rows = list(lot.fichiers.filter(fichier__isnull=False).select_related("fichier"))
    refused = [row for row in rows if row.fichier.is_refused]
    accepted = sum(1 for row in rows if row.fichier.is_accepted)
    return LotProgress(len(rows), accepted, refused, len(rows) - accepted - len(refused))


# Sweep


def lots_sweep(*, now: datetime) -> int:
    """Sweep: delete the batches past their expiry with their staged objects, and the
    staged objects a crash left without a batch. Idempotent. Returns the batches
    deleted."""
    expired = list(DepotLot.objects.filter(expires_at__lte=now).values_list("pk", flat=True)[:200])
    for lot_id in expired:
        with transaction.atomic():
            lot = DepotLot.objects.select_for_update(skip_locked=True).filter(pk=lot_id).first()
            if lot is None:
                continue
            lot.delete()
        _delete_folder(lot_folder(lot_id))
    try:
        folders, _ = default_storage.listdir(LOT_PREFIX)
    except (FileNotFoundError, NotADirectoryError):
        return len(expired)
    known = {lot_id.hex for lot_id in DepotLot.objects.values_list("pk", flat=True)}
    for folder in folders:
        if folder in known:
            continue
        _delete_folder(f"{LOT_PREFIX}/{folder}", older_than=now - ORPHAN_MIN_AGE)
    return len(expired)


def _delete_folder(folder: str, *, older_than: datetime | None = None) -> None:
    try:
        _, names = default_storage.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in names:
        path = f"{folder}/{name}"
        if older_than is not None and default_storage.get_modified_time(path) > older_than:
            continue
        _delete_objects([path])
