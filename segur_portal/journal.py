"""The journal: one append-only, hash-chained record of every event that matters.

`journal_append` is its only writer. Each entry holds the SHA-256 of the previous one
over a canonical serialisation (segur_portal.journal_format, docs/JOURNAL.md); appends
lock one head row, so the chain never forks under concurrency, and happen inside the
transaction of the event they record: an event rolled back leaves no entry, an entry
never lacks its event. The database refuses UPDATE and DELETE on the entries.

Each Paris day is closed by the sweep (`journal_sweep`): a Merkle root over the day's
entries, chained to the previous day's digest, timestamped by an RFC 3161 authority
(segur_portal.timestamping), published at /registre/journal/. `journal_verify`
recomputes everything and names the first entry that does not match.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from segur_portal.clocks import paris_date, start_of_paris_day
from segur_portal.journal_format import (
    GENESIS,
    chain_check,
    day_tree,
    digest_canonical,
    entry_canonical,
    plain,
    sha256_hex,
)
from segur_portal.models import JournalDigest, JournalEntry, JournalHead

logger = logging.getLogger(__name__)

CHUNK = 5000
ENTRY_COLUMNS = (
    "seq",
    "prev_hash",
    "hash",
    "recorded_at",
    "at",
    "kind",
    "actor_id",
    "candidature_id",
    "editeur_id",
    "data",
)


def _lock_head() -> JournalHead:
    """The head row, locked until the transaction ends. Made again from the last entry
    when it is missing (a flushed test database, a restored dump without it)."""
    try:
        return JournalHead.objects.select_for_update().get(pk=1)
    except JournalHead.DoesNotExist:
        last = JournalEntry.objects.order_by("-seq").values("seq", "hash", "recorded_at").first()
        JournalHead.objects.bulk_create([JournalHead(pk=1, **(last or {}))], ignore_conflicts=True)
        return JournalHead.objects.select_for_update().get(pk=1)


def _actor_id(actor) -> int | None:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None
    return actor.pk


def journal_append(
    *,
    kind: str,
    actor=None,
    candidature=None,
    editeur=None,
    data: dict | None = None,
    at: datetime | None = None,
) -> JournalEntry:
    """Append one event. `actor` None (or anonymous) is the portal itself; `editeur`
    defaults to the candidature's company; `at` is when the event happened (default:
    now), `recorded_at` when it was written, never earlier than the previous entry's."""
    return journal_append_many(
        [
            {
                "kind": kind,
                "actor": actor,
                "candidature": candidature,
                "editeur": editeur,
                "data": data,
                "at": at,
            }
        ]
    )[0]


def journal_append_many(events: list[dict]) -> list[JournalEntry]:
    """Append events in their order, each taking `journal_append`'s arguments, under one
    lock of the head and in one insert: the same chain as appending them one by one."""
    if not events:
        return []
    # Refused before the lock: data that would not survive the database fails the event.
    data = [plain(event.get("data") or {}) for event in events]
    # No savepoint inside the event's transaction: an append that fails fails the event.
    with transaction.atomic(savepoint=False):
        head = _lock_head()
        recorded_at = max(
            instant for instant in (timezone.now(), head.recorded_at, head.floor_at) if instant
        )
        seq, prev_hash, entries = head.seq, head.hash, []
        for event, event_data in zip(events, data, strict=True):
            candidature, editeur = event.get("candidature"), event.get("editeur")
            seq += 1
            fields = {
                "seq": seq,
                "prev_hash": prev_hash,
                "recorded_at": recorded_at,
                "at": event.get("at") or recorded_at,
                "kind": str(event["kind"]),
                "actor_id": _actor_id(event.get("actor")),
                "candidature_id": candidature.pk if candidature is not None else None,
                "editeur_id": editeur.pk
                if editeur is not None
                else getattr(candidature, "editeur_id", None),
                "data": event_data,
            }
            prev_hash = sha256_hex(entry_canonical(**fields))
            entries.append(JournalEntry(hash=prev_hash, **fields))
        JournalEntry.objects.bulk_create(entries)
        JournalHead.objects.filter(pk=1).update(seq=seq, hash=prev_hash, recorded_at=recorded_at)
    return entries


# Daily digests


def _stream(first_seq: int, last_seq: int | None = None, *, before: datetime | None = None):
    """(seq, hash) of the entries from `first_seq`, in order, read by chunks."""
    entries = JournalEntry.objects.filter(seq__gte=first_seq)
    if last_seq is not None:
        entries = entries.filter(seq__lte=last_seq)
    if before is not None:
        entries = entries.filter(recorded_at__lt=before)
    return entries.order_by("seq").values_list("seq", "hash").iterator(chunk_size=CHUNK)


@dataclass(frozen=True)
class DayTree:
    first_seq: int
    last_seq: int
    size: int
    root: str
    chain_head: str
    subtrees: bytes


def _day_tree(rows, *, first_seq: int, chain_head: str) -> DayTree:
    """The root over streamed (seq, hash) rows, checking they follow each other."""
    state = {"next": first_seq, "head": chain_head}

    def hashes():
        for seq, entry_hash in rows:
            if seq != state["next"]:
                raise ValueError(f"entrée n°{state['next']} manquante")
            state["next"] = seq + 1
            state["head"] = entry_hash
            yield entry_hash

    root, size, subtrees = day_tree(hashes())
    return DayTree(first_seq, first_seq + size - 1, size, root, state["head"], subtrees)


def _next_day_to_close(today) -> tuple | None:
    last = JournalDigest.objects.defer("timestamp_token", "subtrees").order_by("-day").first()
    if last is not None:
        start = (last.day + timedelta(days=1), last.last_seq + 1, last.digest, last.chain_head)
    else:
        first = JournalEntry.objects.order_by("seq").values("recorded_at").first()
        if first is None:
            return None
        start = (paris_date(first["recorded_at"]), 1, GENESIS, GENESIS)
    return start if start[0] < today else None


def journal_close_day(*, now: datetime) -> JournalDigest | None:
    """Close the oldest Paris day not yet closed, if it is over; at most one a run.

    The head lock is held only to raise the floor past the day (no entry can land in it
    afterwards); the root is then computed by streaming the day's hashes, and a second
    closer racing on the same day loses on the unique day."""
    found = _next_day_to_close(paris_date(now))
    if found is None:
        return None
    day, first_seq, prev_digest, prev_head = found
    end = start_of_paris_day(day + timedelta(days=1))
    with transaction.atomic():
        head = _lock_head()
        if head.floor_at is None or head.floor_at < end:
            JournalHead.objects.filter(pk=1).update(floor_at=end)
    tree = _day_tree(_stream(first_seq, before=end), first_seq=first_seq, chain_head=prev_head)
    canonical = digest_canonical(
        day=day,
        first_seq=tree.first_seq,
        last_seq=tree.last_seq,
        size=tree.size,
        root=tree.root,
        chain_head=tree.chain_head,
        prev_digest=prev_digest,
    )
    try:
        with transaction.atomic():
            return JournalDigest.objects.create(
                day=day,
                first_seq=tree.first_seq,
                last_seq=tree.last_seq,
                size=tree.size,
                root=tree.root,
                chain_head=tree.chain_head,
                prev_digest=prev_digest,
                digest=sha256_hex(canonical),
                closed_at=now,
                subtrees=tree.subtrees,
            )
    except IntegrityError:
        return None


def digest_bytes(digest: JournalDigest) -> bytes:
    """What a digest's hash and its timestamp cover."""
    return digest_canonical(
        day=digest.day,
        first_seq=digest.first_seq,
        last_seq=digest.last_seq,
        size=digest.size,
        root=digest.root,
        chain_head=digest.chain_head,
        prev_digest=digest.prev_digest,
    )


def journal_timestamp(*, digest: JournalDigest) -> bool:
    """Ask the timestamping authority for the digest's token; False while it does not
    answer (the sweep asks again next run)."""
    # Imported here: pyHanko is heavy, and every service that appends imports this module.
    from segur_portal import timestamping

    try:
        token = timestamping.timestamp_token(digest_bytes(digest))
        stamped_at = timestamping.timestamp_verify(token, digest_bytes(digest))
    except timestamping.TimestampError as error:
        # Asked again at each sweep until the authority answers: one line each time.
        logger.warning("horodatage de l’empreinte du %s impossible : %s", digest.day, error)
        return False
    # The trigger lets a token be set once, on a digest that had none.
    return bool(
        JournalDigest.objects.filter(pk=digest.pk, timestamp_token__isnull=True).update(
            timestamp_token=token, timestamped_at=stamped_at
        )
    )


def journal_sweep(*, now: datetime) -> int:
    """Sweep: close at most one day, then timestamp at most one closed day still without
    its token. Idempotent: a closed day is never closed again."""
    done = 0
    if journal_close_day(now=now) is not None:
        done += 1
    pending = JournalDigest.objects.filter(timestamp_token__isnull=True).order_by("day").first()
    if pending is not None and journal_timestamp(digest=pending):
        done += 1
    return done


# Checking


@dataclass(frozen=True)
class JournalCheck:
    entries: int
    days: int
    # The first entry (or day) that does not match, and why; None when all match.
    seq: int | None = None
    day: object = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem


def _entries(first_seq: int = 1):
    return (
        JournalEntry.objects.filter(seq__gte=first_seq)
        .order_by("seq")
        .values(*ENTRY_COLUMNS)
        .iterator(chunk_size=CHUNK)
    )


def journal_verify(*, check_timestamps: bool = True) -> JournalCheck:
    """Recompute the chain from its first entry, then each closed day's root and digest,
    against what is stored and published. Reads by chunks."""
    count = 0

    def counted():
        nonlocal count
        for entry in _entries():
            count += 1
            yield entry

    for seq, problem in chain_check(counted()):
        return JournalCheck(entries=count, days=0, seq=seq, problem=problem)
    days = 0
    prev_digest, prev_head, next_seq = GENESIS, GENESIS, 1
    for digest in JournalDigest.objects.order_by("day").iterator():
        where = f"jour du {digest.day:%d/%m/%Y}"
        if digest.prev_digest != prev_digest or digest.first_seq != next_seq:
            return JournalCheck(
                count,
                days,
                digest.first_seq,
                digest.day,
                f"{where} : ne suit pas le jour précédent",
            )
        end = start_of_paris_day(digest.day + timedelta(days=1))
        try:
            tree = _day_tree(
                _stream(digest.first_seq, digest.last_seq), first_seq=next_seq, chain_head=prev_head
            )
        except ValueError as error:
            return JournalCheck(count, days, digest.first_seq, digest.day, f"{where} : {error}")
        recorded = (
            JournalEntry.objects.filter(seq__range=(digest.first_seq, digest.last_seq))
            .exclude(recorded_at__lt=end, recorded_at__gte=start_of_paris_day(digest.day))
            .values_list("seq", flat=True)
            .first()
        )
        if (
            tree.root != digest.root
            or tree.size != digest.size
            or tree.chain_head != digest.chain_head
        ):
            return JournalCheck(
                count,
                days,
                digest.first_seq,
                digest.day,
                f"{where} : la racine publiée ne correspond plus aux entrées "
                f"n°{digest.first_seq} à {digest.last_seq}",
            )
        if recorded is not None:
            return JournalCheck(count, days, recorded, digest.day, f"{where} : entrée hors du jour")
        if digest.subtrees is not None and bytes(digest.subtrees) != tree.subtrees:
            return JournalCheck(
                count, days, None, digest.day, f"{where} : racines des tranches altérées"
            )
        if sha256_hex(digest_bytes(digest)) != digest.digest:
            return JournalCheck(
                count, days, None, digest.day, f"{where} : empreinte du jour altérée"
            )
        if check_timestamps and digest.timestamp_token is not None:
            problem = _timestamp_problem(digest)
            if problem:
                return JournalCheck(count, days, None, digest.day, f"{where} : {problem}")
        prev_digest, prev_head, next_seq = digest.digest, digest.chain_head, digest.last_seq + 1
        days += 1
    return JournalCheck(entries=count, days=days)


def _timestamp_problem(digest: JournalDigest) -> str:
    from segur_portal import timestamping

    try:
        timestamping.timestamp_verify(bytes(digest.timestamp_token), digest_bytes(digest))
    except timestamping.TimestampError as error:
        return f"jeton d’horodatage invalide ({error})"
    return ""
