"""The journal's format: canonical serialisation, hashes, and the Merkle tree of a day.

Pure functions, no database: the same code checks the chain in `verifier_journal`,
builds the daily roots, and is what docs/JOURNAL.md describes so that anyone can check
an entry or an inclusion proof without the portal. Changing anything here breaks every
published hash: a new format gets a new FORMAT_VERSION, never an edit.

Entry (format 1): SHA-256 over the UTF-8 bytes of a JSON object with sorted keys, no
spaces, non-ASCII characters as they are:
    {"actor": id|null, "at": "…Z", "candidature": id|null, "data": {…},
     "editeur": id|null, "kind": "…", "prev": "<hex>", "recorded_at": "…Z",
     "seq": n, "v": 1}
Times are UTC, `YYYY-MM-DDTHH:MM:SS.ffffffZ`. The first entry's `prev` is 64 zeros.

Day tree (RFC 6962 §2.1): leaf = SHA-256(0x00 || entry hash), node = SHA-256(0x01 ||
left || right), over the day's entries in `seq` order; an empty day's root is SHA-256 of
nothing. Where a level has an odd node, it goes up unchanged: that is the RFC's tree.
"""

import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum

FORMAT_VERSION = 1
GENESIS = "0" * 64
EMPTY_ROOT = hashlib.sha256(b"").hexdigest()


def utc_iso(instant: datetime) -> str:
    if instant.tzinfo is None:
        raise ValueError("Le journal n’inscrit que des instants avec fuseau horaire.")
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def plain(value):
    """`value` as JSON-native data that survives a round trip through the database
    unchanged (JSONB reorders keys, and floats may not come back identical)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, datetime):
        return utc_iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (uuid.UUID, Decimal, float)):
        return str(value)
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    raise TypeError(f"Valeur non inscriptible au journal : {type(value).__name__}")


def canonical_json(document: dict) -> bytes:
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def entry_canonical(
    *,
    seq: int,
    prev_hash: str,
    recorded_at: datetime,
    at: datetime,
    kind: str,
    actor_id: int | None,
    candidature_id: int | None,
    editeur_id: int | None,
    data: dict,
) -> bytes:
    return canonical_json(
        {
            "v": FORMAT_VERSION,
            "seq": seq,
            "prev": prev_hash,
            "recorded_at": utc_iso(recorded_at),
            "at": utc_iso(at),
            "kind": kind,
            "actor": actor_id,
            "candidature": candidature_id,
            "editeur": editeur_id,
            "data": data,
        }
    )


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def digest_canonical(
    *,
    day: date,
    first_seq: int,
    last_seq: int,
    size: int,
    root: str,
    chain_head: str,
    prev_digest: str,
) -> bytes:
    """What a day's digest hashes, and what the timestamping authority signs: the day's
    root, the chain's last hash that day, and the previous day's digest."""
    return canonical_json(
        {
            "v": FORMAT_VERSION,
            "day": day.isoformat(),
            "first_seq": first_seq,
            "last_seq": last_seq,
            "size": size,
            "root": root,
            "chain_head": chain_head,
            "prev": prev_digest,
        }
    )


# Merkle tree (RFC 6962)


def leaf_hash(entry_hash_hex: str) -> bytes:
    return hashlib.sha256(b"\x00" + bytes.fromhex(entry_hash_hex)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def tree_levels(entry_hashes: list[str]) -> list[list[bytes]]:
    """Every level of the tree, leaves first (for inclusion proofs)."""
    return node_levels([leaf_hash(entry_hash) for entry_hash in entry_hashes])


def node_levels(level: list[bytes]) -> list[list[bytes]]:
    """Every level above `level` (nodes already hashed), `level` first."""
    levels = [level]
    while len(level) > 1:
        level = [
            node_hash(level[i], level[i + 1]) if i + 1 < len(level) else level[i]
            for i in range(0, len(level), 2)
        ]
        levels.append(level)
    return levels


# The tree's nodes over each run of SUBTREE_LEAVES entries (the last run may be shorter)
# are kept with the day's digest: a proof then reads the entries of one run, not the day.
# Runs start at multiples of a power of two, so each is a subtree of the RFC 6962 tree.
SUBTREE_LEAVES = 64


def day_tree(entry_hashes: Iterable[str]) -> tuple[str, int, bytes]:
    """The day's root, its number of entries and the roots of its runs of SUBTREE_LEAVES
    entries (32 bytes each, in order), from hashes streamed in order."""
    subtrees, run, count = [], [], 0
    for entry_hash in entry_hashes:
        run.append(entry_hash)
        count += 1
        if len(run) == SUBTREE_LEAVES:
            subtrees.append(tree_levels(run)[-1][0])
            run = []
    if run:
        subtrees.append(tree_levels(run)[-1][0])
    if not subtrees:
        return EMPTY_ROOT, 0, b""
    return node_levels(subtrees)[-1][0].hex(), count, b"".join(subtrees)


def split_subtrees(subtrees: bytes) -> list[bytes]:
    return [subtrees[i : i + 32] for i in range(0, len(subtrees), 32)]


def run_audit_path(run_hashes: list[str], subtrees: list[bytes], index: int) -> list[str]:
    """The audit path of entry `index` of the day, from the hashes of its run of
    SUBTREE_LEAVES entries and the roots of every run: the path inside its run, then
    the path of its run's root among the runs' roots."""
    inside = audit_path(tree_levels(run_hashes), index % SUBTREE_LEAVES)
    return inside + audit_path(node_levels(subtrees), index // SUBTREE_LEAVES)


def audit_path(levels: list[list[bytes]], index: int) -> list[str]:
    """RFC 6962 §2.1.1 PATH(index): the sibling at each level, from the leaf up; a node
    without a sibling goes up as it is and adds nothing."""
    path = []
    for level in levels[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            path.append(level[sibling].hex())
        index //= 2
    return path


def verify_inclusion(
    *, entry_hash: str, leaf_index: int, tree_size: int, path: list[str], root: str
) -> bool:
    """RFC 9162 §2.1.3.2: whether `path` proves that the entry is leaf `leaf_index` of
    the tree of `tree_size` leaves whose root is `root`."""
    if not 0 <= leaf_index < tree_size:
        return False
    fn, sn = leaf_index, tree_size - 1
    node = leaf_hash(entry_hash)
    for sibling_hex in path:
        sibling = bytes.fromhex(sibling_hex)
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            node = node_hash(sibling, node)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            node = node_hash(node, sibling)
        fn >>= 1
        sn >>= 1
    return sn == 0 and node.hex() == root


def chain_check(entries: Iterator[dict], *, prev_hash: str = GENESIS, first_seq: int = 1):
    """Yield (seq, problem) for the first entries that break the chain: a hash that is
    not the hash of its content, a `prev` that is not the previous hash, a missing seq.
    `entries` are dicts of the stored columns, in seq order."""
    expected_seq = first_seq
    for entry in entries:
        if entry["seq"] != expected_seq:
            yield expected_seq, f"entrée manquante (suivante trouvée : {entry['seq']})"
            return
        if entry["prev_hash"] != prev_hash:
            yield entry["seq"], "ne renvoie pas à l’empreinte de l’entrée précédente"
            return
        recomputed = sha256_hex(
            entry_canonical(
                seq=entry["seq"],
                prev_hash=entry["prev_hash"],
                recorded_at=entry["recorded_at"],
                at=entry["at"],
                kind=entry["kind"],
                actor_id=entry["actor_id"],
                candidature_id=entry["candidature_id"],
                editeur_id=entry["editeur_id"],
                data=entry["data"],
            )
        )
        if recomputed != entry["hash"]:
            yield entry["seq"], "son contenu ne correspond plus à son empreinte"
            return
        prev_hash = entry["hash"]
        expected_seq += 1
