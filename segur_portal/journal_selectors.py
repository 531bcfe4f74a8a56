"""Reads of the journal: the published daily digests, the registry's changes, and the
inclusion proofs a company downloads for its candidature (docs/JOURNAL.md)."""

from collections import defaultdict

from django.core.paginator import Paginator

from segur_portal.enums import JournalKind
from segur_portal.journal import digest_bytes
from segur_portal.journal_format import (
    SUBTREE_LEAVES,
    day_tree,
    entry_canonical,
    run_audit_path,
    split_subtrees,
)
from segur_portal.models import JournalDigest, JournalEntry

DIGESTS_PER_PAGE = 30
CHANGES_PER_PAGE = 50
PROOF_FORMAT = "segur-journal-inclusion-proof/1"
K = JournalKind
# Entries whose content a company reads in its proofs; of the others (a download by an
# agent and the address it came from, a reminder of the portal) it gets the hash only,
# which the proof still shows to be in the published root.
COMPANY_CONTENT_KINDS = frozenset(
    {
        K.CANDIDATURE_CREEE,
        K.TRANSITION,
        K.REM_MOVE,
        K.SOLLICITATION_MESSAGE,
        K.SOLLICITATION_CLOSE,
        K.SOLLICITATION_EXPIREE,
        K.FICHIER_VERIFIE,
        K.PREUVE_DEPOSEE,
        K.PREUVE_RETIREE,
        K.VERDICT,
        K.SIGNATURE,
        K.DECISION,
        K.ATTESTATION,
        K.REGISTRE,
    }
)


def _digests():
    # Neither the tokens (timestamped_at says whether there is one) nor the runs' roots.
    return JournalDigest.objects.defer("timestamp_token", "subtrees").order_by("-day")


def digests_page(page_number):
    """One page of closed days, newest first."""
    return Paginator(_digests(), DIGESTS_PER_PAGE).get_page(page_number)


def digests_recent(count: int) -> list[JournalDigest]:
    return list(_digests()[:count])


def digest_record(digest: JournalDigest, *, token_url: str = "") -> dict:
    """A digest as the JSON feed publishes it: enough to recompute its hash."""
    return {
        "day": digest.day.isoformat(),
        "first_seq": digest.first_seq,
        "last_seq": digest.last_seq,
        "size": digest.size,
        "root": digest.root,
        "chain_head": digest.chain_head,
        "prev_digest": digest.prev_digest,
        "digest": digest.digest,
        "canonical": digest_bytes(digest).decode("utf-8"),
        "closed_at": digest.closed_at.isoformat(),
        "timestamped_at": digest.timestamped_at.isoformat() if digest.timestamped_at else None,
        "timestamp_token_url": token_url or None,
    }


def registre_changes_page(page_number):
    """Every change of the public registry, newest first (the journal's own entries)."""
    changes = JournalEntry.objects.filter(kind=K.REGISTRE).order_by("-seq")
    return Paginator(changes, CHANGES_PER_PAGE).get_page(page_number)


def registre_changes_recent(count: int = CHANGES_PER_PAGE):
    return list(JournalEntry.objects.filter(kind=K.REGISTRE).order_by("-seq")[:count])


RUNS_PER_QUERY = 200


def _run_hashes(digest: JournalDigest, runs: set[int]) -> dict[int, list[str]]:
    """The entry hashes of some runs of SUBTREE_LEAVES entries of a day, by run: primary
    key lookups by lists of numbers, whatever the size of the day (a list of ranges
    would make PostgreSQL test each range on every row of a scan)."""
    found: dict[int, list[str]] = defaultdict(list)
    ordered = sorted(runs)
    for start in range(0, len(ordered), RUNS_PER_QUERY):
        seqs = [
            seq
            for run in ordered[start : start + RUNS_PER_QUERY]
            for seq in range(
                digest.first_seq + run * SUBTREE_LEAVES,
                min(digest.first_seq + (run + 1) * SUBTREE_LEAVES, digest.last_seq + 1),
            )
        ]
        for seq, entry_hash in (
            JournalEntry.objects.filter(seq__in=seqs).order_by("seq").values_list("seq", "hash")
        ):
            found[(seq - digest.first_seq) // SUBTREE_LEAVES].append(entry_hash)
    return found


def _subtrees(digest: JournalDigest) -> bytes:
    """The roots of the day's runs, as kept when it closed; computed from the day's
    hashes for a day closed before they were kept."""
    if digest.subtrees is not None:
        return bytes(digest.subtrees)
    hashes = (
        JournalEntry.objects.filter(seq__range=(digest.first_seq, digest.last_seq))
        .order_by("seq")
        .values_list("hash", flat=True)
        .iterator(chunk_size=5000)
    )
    return day_tree(hashes)[2]


def _canonical(entry: JournalEntry) -> str:
    return entry_canonical(
        seq=entry.seq,
        prev_hash=entry.prev_hash,
        recorded_at=entry.recorded_at,
        at=entry.at,
        kind=entry.kind,
        actor_id=entry.actor_id,
        candidature_id=entry.candidature_id,
        editeur_id=entry.editeur_id,
        data=entry.data,
    ).decode("utf-8")


def inclusion_proofs(candidature, *, full_content: bool) -> dict:
    """For each journal entry of the candidature, the proof that it is in its day's
    published root (RFC 6962 audit path). Entries of a day not yet closed are listed as
    pending. Only this candidature's entries are read, plus the hashes (nothing else) of
    the days they fall in, to build the paths."""
    entries = list(
        JournalEntry.objects.filter(candidature=candidature)
        .only(
            "seq",
            "recorded_at",
            "at",
            "kind",
            "actor_id",
            "candidature_id",
            "editeur_id",
            "data",
            "prev_hash",
            "hash",
        )
        .order_by("seq")
    )
    result = {
        "format": PROOF_FORMAT,
        "candidature": candidature.reference,
        "leaf": "SHA-256(0x00 || empreinte de l’entrée)",
        "node": "SHA-256(0x01 || gauche || droite)",
        "proofs": [],
        "pending": [],
    }
    if not entries:
        return result
    digests = list(
        JournalDigest.objects.filter(
            last_seq__gte=entries[0].seq, first_seq__lte=entries[-1].seq, size__gt=0
        )
        .defer("timestamp_token")
        .order_by("day")
    )
    by_digest = defaultdict(list)
    pending = []
    for entry in entries:
        digest = next((d for d in digests if d.first_seq <= entry.seq <= d.last_seq), None)
        if digest is None:
            pending.append(entry)
        else:
            by_digest[digest].append(entry)
    for digest, day_entries in by_digest.items():
        runs = _run_hashes(
            digest, {(e.seq - digest.first_seq) // SUBTREE_LEAVES for e in day_entries}
        )
        subtrees = split_subtrees(_subtrees(digest))
        for entry in day_entries:
            index = entry.seq - digest.first_seq
            proof = {
                "seq": entry.seq,
                "kind": entry.kind,
                "hash": entry.hash,
                "day": digest.day.isoformat(),
                "leaf_index": index,
                "tree_size": digest.size,
                "audit_path": run_audit_path(runs[index // SUBTREE_LEAVES], subtrees, index),
                "root": digest.root,
                "digest": digest.digest,
            }
            if full_content or entry.kind in COMPANY_CONTENT_KINDS:
                proof["entry"] = _canonical(entry)
            result["proofs"].append(proof)
    result["proofs"].sort(key=lambda proof: proof["seq"])
    result["pending"] = [{"seq": e.seq, "kind": e.kind, "hash": e.hash} for e in pending]
    result["days"] = [
        {**digest_record(digest), "timestamped": digest.timestamped_at is not None}
        for digest in by_digest
    ]
    return result
