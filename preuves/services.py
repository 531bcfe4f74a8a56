"""Writes on stored files: reception, background check, sweep, deletion, download log.

Every upload of the portal goes through `fichier_receive`. The request refuses only
what is certain without reading the content (an empty file, a file over the size
limit); the format is decided later by a worker, from the content (libmagic), never
from the name or the browser's content type. Sizes are in bytes; 1 Mo = 2^20 bytes.
"""

import hashlib
import ipaddress
import logging
import os
import tempfile
import uuid
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta

import magic
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, ProtectedError, RestrictedError
from django.utils import timezone

from candidatures.enums import ProofKind
from candidatures.proof_kinds import MO, PDF_MIME_TYPES, PROOF_KINDS
from preuves import antivirus
from preuves.content import structure_problem
from preuves.enums import Consultation, FichierStatus
from preuves.models import Fichier, FichierDownload, storage_name_for
from preuves.permissions import can_delete_fichier, can_upload_for
from segur_portal.files import CHUNK_SIZE, clean_filename
from segur_portal.journal_events import (
    journal_fichier_checked,
    journal_fichier_deleted,
    journal_fichier_downloaded,
    journal_fichier_received,
)
from segur_portal.webhooks import webhook_fichier_checked

logger = logging.getLogger(__name__)

# A check still undecided this long after it was queued is queued again by the sweep
# (the worker died, or the broker was down when the upload was committed).
FICHIER_REQUEUE_AFTER = timedelta(minutes=10)
# At most this many a sweep, oldest first (partial index fichier_pending): a backlog
# after a worker outage drains over a few runs.
FICHIER_REQUEUE_BATCH = 1000
# Past this many attempts, a file that cannot be read is refused instead of staying
# "en cours de vérification" for ever.
FICHIER_MAX_CHECK_ATTEMPTS = 20

# Human names for the types users meet most; the order is the one used in messages.
MIME_LABELS = {
    "application/pdf": "PDF",
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "video/mp4": "MP4",
    "video/quicktime": "MOV",
    "video/x-msvideo": "AVI",
    "video/x-flv": "FLV",
    "text/html": "page HTML",
    "text/plain": "texte",
    "application/zip": "archive ZIP",
    "application/x-executable": "programme exécutable",
    "application/x-pie-executable": "programme exécutable",
    "application/x-sharedlib": "programme ou bibliothèque exécutable",
    "application/vnd.microsoft.portable-executable": "programme exécutable Windows",
    "application/x-dosexec": "programme exécutable DOS ou Windows",
    "application/x-empty": "fichier vide",
    "application/octet-stream": "données binaires",
}

UNREADABLE_REASON = (
    "Le fichier n’a pas pu être relu pour être vérifié. Déposez-le de nouveau ; si le "
    "problème persiste, contactez l’assistance."
)
INTEGRITY_REASON = (
    "Le fichier enregistré ne correspond pas au fichier reçu (taille ou empreinte SHA-256 "
    "différente). Déposez-le de nouveau."
)
INFECTED_REASON = (
    "L’antivirus a détecté un virus dans ce fichier : il est conservé pour l’instruction "
    "mais ne peut pas être téléchargé. Vérifiez votre poste et déposez un fichier sain."
)
PROTECTED_MESSAGE = (
    "Ce fichier ne peut pas être supprimé : il est rattaché à un dossier ou a déjà été "
    "téléchargé, et il est conservé comme pièce originale."
)


@dataclass(frozen=True)
class FileRule:
    """What a feature accepts: formats by MIME type (None: any format) and a size limit."""

    allowed_mime_types: frozenset[str] | None
    max_bytes: int
    # Shown to users next to the upload field, e.g. "PDF ; 10 Mo au plus".
    label: str

    def __post_init__(self):
        if self.allowed_mime_types is not None and not self.allowed_mime_types:
            raise ValueError("allowed_mime_types vide : utilisez None pour tout format.")
        if self.max_bytes <= 0:
            raise ValueError("max_bytes doit être positif.")


def rule_for_kind(kind: ProofKind | str) -> FileRule:
    spec = PROOF_KINDS[ProofKind(kind)]
    return FileRule(
        allowed_mime_types=spec.mime_types,
        max_bytes=spec.max_bytes,
        label=f"{spec.formats_label} ; {spec.max_size_label} au plus",
    )


PDF_10_MO = FileRule(PDF_MIME_TYPES, 10 * MO, "PDF ; 10 Mo au plus")
PDF_OR_IMAGE_10_MO = FileRule(
    frozenset({"application/pdf", "image/png", "image/jpeg"}),
    10 * MO,
    "PDF, PNG ou JPEG ; 10 Mo au plus",
)


# Messages


def format_bytes(count: int) -> str:
    digits = f"{count:,}".replace(",", "\u202f")
    return f"{digits} octet" if count <= 1 else f"{digits} octets"


def format_mo(count: int) -> str:
    if count % MO == 0:
        return f"{count // MO} Mo"
    return f"{count / MO:.1f} Mo".replace(".", ",")


def mime_label(mime: str) -> str:
    label = MIME_LABELS.get(mime)
    return f"{mime} ({label})" if label else mime


def _in_display_order(mime_types) -> list[str]:
    order = list(MIME_LABELS)
    return sorted(mime_types, key=lambda m: (order.index(m) if m in order else len(order), m))


def _size_problem(size: int, max_bytes: int) -> str | None:
    if size == 0:
        return "Fichier vide : il ne contient aucun octet."
    if size > max_bytes:
        return (
            f"Fichier trop volumineux : {format_bytes(size)} ; taille maximale : "
            f"{format_mo(max_bytes)}, soit {format_bytes(max_bytes)} (1 Mo = 2^20 octets)."
        )
    return None


def _format_problem(detected_mime: str, allowed_mime_types: list[str]) -> str | None:
    if not allowed_mime_types or detected_mime in allowed_mime_types:
        return None
    accepted = ", ".join(mime_label(m) for m in _in_display_order(allowed_mime_types))
    return (
        f"Format refusé : le contenu du fichier est de type {mime_label(detected_mime)} ; "
        f"formats acceptés : {accepted}. Le format est lu dans le contenu du fichier, "
        "pas dans son nom."
    )


# Reception

# Stored objects written by fichier_receive inside the current `receiving_files()` block.
_written: ContextVar[list[str] | None] = ContextVar("segur_written_objects", default=None)


@contextmanager
def receiving_files():
    """Around a write that stores several files in one transaction: if it fails, the
    objects already written for it are deleted, since their rows are rolled back.

    Storage is not transactional: without this, a batch whose third file is refused
    leaves the first two objects on storage with no row. The orphan sweep
    (`storage_orphans_sweep`) removes whatever a crash leaves behind all the same.
    """
    outer = _written.get()
    written: list[str] = []
    token = _written.set(written)
    try:
        yield
    except BaseException:
        for name in written:
            try:
                default_storage.delete(name)
            except OSError:
                logger.exception("objet %s non supprimé après l’échec de l’envoi", name)
        raise
    else:
        if outer is not None:
            # A nested block: the enclosing write may still fail.
            outer.extend(written)
    finally:
        _written.reset(token)


def _digest(file) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    for chunk in file.chunks(CHUNK_SIZE):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def fichier_receive(*, upload, rule: FileRule, editeur, actor) -> Fichier:
    """Store an uploaded file privately and queue its check.

    `upload` is a Django UploadedFile (on disk past FILE_UPLOAD_MAX_MEMORY_SIZE); it is
    streamed, never read whole. `editeur` owns the file (None: an agency file). Raises
    ValidationError for an empty or oversized file, PermissionDenied if `actor` may
    not store a file for `editeur`.
    """
    from preuves import tasks

    if not can_upload_for(actor, editeur):
        raise PermissionDenied
    # Refused before reading a byte when the declared size already says so; the size
    # counted while hashing is the one recorded and checked again.
    if upload.size is not None and (problem := _size_problem(upload.size, rule.max_bytes)):
        raise ValidationError(problem, code="size")
    sha256, size = _digest(upload)
    problem = _size_problem(size, rule.max_bytes)
    if problem:
        raise ValidationError(problem, code="size")

    fichier_id = uuid.uuid4()
    stored_name = default_storage.save(storage_name_for(fichier_id), upload)
    if (written := _written.get()) is not None:
        written.append(stored_name)
    try:
        with transaction.atomic():
            now = timezone.now()
            fichier = Fichier.objects.create(
                id=fichier_id,
                storage_name=stored_name,
                original_name=clean_filename(upload.name or ""),
                size=size,
                sha256=sha256,
                allowed_mime_types=sorted(rule.allowed_mime_types or []),
                max_bytes=rule.max_bytes,
                editeur=editeur,
                uploaded_by=actor,
                uploaded_at=now,
                queued_at=now,
            )
            journal_fichier_received(fichier)
            # robust: a broker outage must not fail the upload; the sweep queues it again.
            transaction.on_commit(lambda: tasks.fichier_check.delay(str(fichier_id)), robust=True)
    except Exception:
        # No stored object without its row.
        default_storage.delete(stored_name)
        raise
    return fichier


# Background check


@dataclass(frozen=True)
class StoredContent:
    size: int
    sha256: str
    mime: str
    # Why the content is not what its type promises (preuves.content), or None.
    structure_problem: str | None = None


def _read_stored(name: str) -> StoredContent:
    """Size, SHA-256, libmagic type and structure of a stored object, read once in
    chunks. A storage without local files (S3) is copied to a temporary file on disk
    for the structure checks, which seek through the whole file (a movie box may come
    last)."""
    try:
        local_path = default_storage.path(name)
    except NotImplementedError:
        local_path = None
    # Some storages (InMemoryStorage) answer path() with a name that is no real file.
    if local_path is not None and not os.path.isfile(local_path):
        local_path = None
    digest = hashlib.sha256()
    size = 0
    with ExitStack() as stack:
        stored = stack.enter_context(default_storage.open(name, "rb"))
        copy = None
        if local_path is None:
            copy = stack.enter_context(tempfile.NamedTemporaryFile(prefix="segur-fichier-"))
        for chunk in stored.chunks(CHUNK_SIZE):
            digest.update(chunk)
            if copy is not None:
                copy.write(chunk)
            size += len(chunk)
        if copy is not None:
            copy.flush()
        path = local_path or copy.name
        mime = magic.from_file(path, mime=True)
        problem = structure_problem(path, mime)
    return StoredContent(size=size, sha256=digest.hexdigest(), mime=mime, structure_problem=problem)


def _refusal_reason(fichier: Fichier, stored: StoredContent) -> str | None:
    if stored.size != fichier.size or (fichier.sha256 and stored.sha256 != fichier.sha256):
        return INTEGRITY_REASON
    return (
        _size_problem(stored.size, fichier.max_bytes)
        or _format_problem(stored.mime, fichier.allowed_mime_types)
        or stored.structure_problem
    )


def _fichier_decide(
    *, fichier_id, stored: StoredContent | None, reason: str | None, signature: str = ""
) -> Fichier:
    with transaction.atomic():
        fichier = Fichier.objects.select_for_update().get(pk=fichier_id)
        if not fichier.is_pending:
            return fichier
        if stored is not None:
            fichier.detected_mime = stored.mime[:255]
            fichier.sha256 = fichier.sha256 or stored.sha256
        if signature:
            fichier.status = FichierStatus.INFECTEE
        else:
            fichier.status = FichierStatus.REFUSEE if reason else FichierStatus.ACCEPTEE
        fichier.refusal_reason = reason or ""
        fichier.virus_signature = signature
        fichier.checked_at = timezone.now()
        fichier.save(
            update_fields=[
                "detected_mime",
                "sha256",
                "status",
                "refusal_reason",
                "virus_signature",
                "checked_at",
            ]
        )
        journal_fichier_checked(fichier)
        webhook_fichier_checked(fichier)
        if signature:
            transaction.on_commit(lambda: _infected_alert(fichier), robust=True)
        if fichier.status != FichierStatus.ACCEPTEE:
            # A refused attachment does not answer a sollicitation: it opens again.
            from candidatures.services.sollicitation import sollicitation_attachment_refused

            sollicitation_attachment_refused(fichier=fichier, now=fichier.checked_at)
    return fichier


def fichier_check(*, fichier_id) -> Fichier:
    """Decide a file from its stored bytes: size, type (libmagic), SHA-256.

    Idempotent: a file already decided is returned unchanged. A storage error (OSError)
    propagates so the task retries, until FICHIER_MAX_CHECK_ATTEMPTS where the file is
    refused as unreadable.
    """
    fichier = Fichier.objects.get(pk=fichier_id)
    if not fichier.is_pending:
        return fichier
    Fichier.objects.filter(pk=fichier.pk).update(check_attempts=F("check_attempts") + 1)
    try:
        stored = _read_stored(fichier.storage_name)
    except (OSError, magic.MagicException):
        fichier.refresh_from_db(fields=["check_attempts"])
        if fichier.check_attempts < FICHIER_MAX_CHECK_ATTEMPTS:
            raise
        logger.exception(
            "fichier %s illisible après %s tentatives", fichier.pk, fichier.check_attempts
        )
        return _fichier_decide(fichier_id=fichier.pk, stored=None, reason=UNREADABLE_REASON)
    # Outside the attempts count: an unreachable scanner makes the file wait (the task
    # retries, then the sweep), it never accepts it nor refuses it as unreadable.
    with default_storage.open(fichier.storage_name, "rb") as content:
        scan = antivirus.scan_chunks(content.chunks(CHUNK_SIZE))
    if scan.infected:
        return _fichier_decide(
            fichier_id=fichier.pk, stored=stored, reason=INFECTED_REASON, signature=scan.signature
        )
    return _fichier_decide(
        fichier_id=fichier.pk, stored=stored, reason=_refusal_reason(fichier, stored)
    )


def fichier_requeue_stale(*, now: datetime) -> int:
    """Sweep: queue again the checks still undecided FICHIER_REQUEUE_AFTER after they
    were queued. Safe to run any number of times: each file is queued once a delay."""
    from preuves import tasks

    with transaction.atomic():
        stale = list(
            Fichier.objects.select_for_update(skip_locked=True)
            .filter(status=FichierStatus.EN_VERIFICATION, queued_at__lt=now - FICHIER_REQUEUE_AFTER)
            .order_by("queued_at")
            .values_list("pk", flat=True)[:FICHIER_REQUEUE_BATCH]
        )
        Fichier.objects.filter(pk__in=stale).update(queued_at=now)
        for pk in stale:
            transaction.on_commit(lambda pk=pk: tasks.fichier_check.delay(str(pk)), robust=True)
    return len(stale)


# Storage orphans

# An object with no row is removed once it is this old: younger, its row may still be
# on its way (fichier_receive writes the object, then the row).
ORPHAN_MIN_AGE = timedelta(days=1)
# fichiers/<2 hex>/<2 hex>/<uuid>: the sweep visits one of the 256 first-level folders
# per run, in turn, so each run lists about 1/256 of the objects.
ORPHAN_SHARDS = 256


# Names matched against the rows per query: a shard of 1,000,000 files holds about
# 4,000 objects, two queries.
ORPHAN_QUERY_NAMES = 2000


def _orphan_shard(now: datetime) -> str:
    return f"{int(now.timestamp() // 60) % ORPHAN_SHARDS:02x}"


def storage_orphans_sweep(*, now: datetime, shard: str | None = None) -> int:
    """Sweep: delete stored objects that no Fichier row refers to, older than a day.

    A crash between the object and its row, or a rolled-back batch outside
    `receiving_files`, leaves such objects; each one removed is logged. Returns how many.
    The shard's objects are matched against the rows by 2,000 names a query (the unique
    index on storage_name), however many folders they sit in.
    """
    shard = shard or _orphan_shard(now)
    base = f"fichiers/{shard}"
    try:
        folders, _ = default_storage.listdir(base)
    except (FileNotFoundError, NotADirectoryError):
        return 0
    stored = set()
    for folder in folders:
        _, names = default_storage.listdir(f"{base}/{folder}")
        stored |= {f"{base}/{folder}/{name}" for name in names}
    if not stored:
        return 0
    listed = sorted(stored)
    known = set()
    for start in range(0, len(listed), ORPHAN_QUERY_NAMES):
        known |= set(
            Fichier.objects.filter(
                storage_name__in=listed[start : start + ORPHAN_QUERY_NAMES]
            ).values_list("storage_name", flat=True)
        )
    removed = 0
    for name in sorted(stored - known):
        if now - default_storage.get_modified_time(name) < ORPHAN_MIN_AGE:
            continue
        # The row may have been written since the listing: check again, then delete.
        if Fichier.objects.filter(storage_name=name).exists():
            continue
        default_storage.delete(name)
        logger.warning("objet orphelin supprimé du stockage : %s", name)
        removed += 1
    return removed


def _infected_alert(fichier: Fichier) -> None:
    """Tell the agency's instructors that a deposited file carries a virus."""
    from segur_portal.enums import Role
    from segur_portal.models import User
    from segur_portal.services import notification_send

    company = fichier.editeur.raison_sociale if fichier.editeur else "l’ANS"
    notification_send(
        recipients=User.objects.filter(role=Role.INSTRUCTEUR, is_active=True),
        title="Fichier infecté détecté",
        body=(
            f"Le fichier « {fichier.original_name} » déposé par {company} contient le virus "
            f"{fichier.virus_signature}. Il ne peut pas être téléchargé."
        ),
    )


# Deletion and downloads


def fichier_delete(*, fichier: Fichier, actor) -> None:
    """Delete a file nobody refers to, then its stored object once the deletion commits.

    Raises PermissionDenied if `actor` is not on the side that uploaded it, and
    ValidationError if something still refers to it (PROTECT foreign keys, downloads).
    """
    if not can_delete_fichier(actor, fichier):
        raise PermissionDenied
    storage_name = fichier.storage_name
    try:
        with transaction.atomic():
            journal_fichier_deleted(fichier, actor=actor)
            fichier.delete()
    except (ProtectedError, RestrictedError) as error:
        raise ValidationError(PROTECTED_MESSAGE, code="protected") from error
    # After the commit: a rolled-back deletion must find its bytes still there.
    transaction.on_commit(lambda: default_storage.delete(storage_name), robust=True)


def _clean_ip(ip_address: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address(ip_address)) if ip_address else None
    except ValueError:
        # A forged X-Forwarded-For must not fail the download or the database write.
        return None


def fichier_download_record(
    *, fichier: Fichier, user, ip_address: str | None, kind: str = Consultation.TELECHARGEMENT
) -> FichierDownload:
    return fichier_downloads_record(
        fichiers=[fichier], user=user, ip_address=ip_address, kind=kind
    )[0]


def fichier_downloads_record(
    *, fichiers, user, ip_address: str | None, kind: str
) -> list[FichierDownload]:
    """One log row per file that leaves the portal (several for a dossier's archive)."""
    ip_address = _clean_ip(ip_address)
    now = timezone.now()
    with transaction.atomic():
        downloads = FichierDownload.objects.bulk_create(
            FichierDownload(fichier=fichier, user=user, ip_address=ip_address, kind=kind, at=now)
            for fichier in fichiers
        )
        for download in downloads:
            journal_fichier_downloaded(download)
    return downloads


def fichier_store_generated(*, content: bytes, name: str, mime: str, editeur, actor) -> Fichier:
    """Store a document the portal made itself (a receipt, a PDF it rendered): it is
    accepted as it is, with its hash, and needs no check."""
    fichier_id = uuid.uuid4()
    stored_name = default_storage.save(storage_name_for(fichier_id), ContentFile(content))
    now = timezone.now()
    fichier = Fichier.objects.create(
        id=fichier_id,
        storage_name=stored_name,
        original_name=clean_filename(name),
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        detected_mime=mime,
        allowed_mime_types=[mime],
        max_bytes=len(content),
        status=FichierStatus.ACCEPTEE,
        editeur=editeur,
        uploaded_by=actor,
        uploaded_at=now,
        queued_at=now,
        checked_at=now,
    )
    journal_fichier_received(fichier, generated=True)
    return fichier
