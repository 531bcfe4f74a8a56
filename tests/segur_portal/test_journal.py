"""The journal: chained entries, refused rewrites, daily Merkle roots, the check."""

import hashlib
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from segur_portal import journal_format
from segur_portal.enums import JournalKind
from segur_portal.journal import journal_append, journal_close_day, journal_sweep, journal_verify
from segur_portal.journal_format import (
    EMPTY_ROOT,
    GENESIS,
    audit_path,
    day_tree,
    run_audit_path,
    split_subtrees,
    tree_levels,
    verify_inclusion,
)
from segur_portal.models import JournalDigest, JournalEntry
from tests.factories import CandidatureFactory, UserFactory

pytestmark = pytest.mark.django_db

ENTRY = "segur_portal_journalentry"
DIGEST = "segur_portal_journaldigest"


@pytest.fixture
def clock(monkeypatch):
    """Set the portal's clock: `clock(instant)`."""

    def set_now(instant: datetime):
        monkeypatch.setattr(timezone, "now", lambda: instant)

    return set_now


def _sha(document: dict) -> str:
    """The documented format, written out again here: sorted keys, no spaces, UTF-8."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# Appending


def test_each_entry_holds_the_hash_of_the_previous_one_over_the_documented_format(clock):
    clock(datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=UTC))
    actor = UserFactory(instructeur=True)
    candidature = CandidatureFactory()
    first = journal_append(kind=JournalKind.TRANSITION, actor=actor, data={"texte": "Été"})
    second = journal_append(
        kind=JournalKind.VERDICT,
        candidature=candidature,
        at=datetime(2026, 3, 1, 23, 0, tzinfo=UTC),
        data={"b": 2, "a": [1, "deux"], "quand": datetime(2026, 3, 2, 10, 0, tzinfo=UTC)},
    )

    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == GENESIS and second.prev_hash == first.hash
    assert first.hash == _sha(
        {
            "v": 1,
            "seq": 1,
            "prev": GENESIS,
            "recorded_at": "2026-03-02T09:00:00.123456Z",
            "at": "2026-03-02T09:00:00.123456Z",
            "kind": "candidature.transition",
            "actor": actor.pk,
            "candidature": None,
            "editeur": None,
            "data": {"texte": "Été"},
        }
    )
    stored = JournalEntry.objects.get(seq=2)
    assert stored.editeur_id == candidature.editeur_id
    assert stored.data == {"b": 2, "a": [1, "deux"], "quand": "2026-03-02T10:00:00.000000Z"}
    assert stored.hash == _sha(
        {
            "v": 1,
            "seq": 2,
            "prev": first.hash,
            "recorded_at": "2026-03-02T09:00:00.123456Z",
            "at": "2026-03-01T23:00:00.000000Z",
            "kind": "instruction.verdict",
            "actor": None,
            "candidature": candidature.pk,
            "editeur": candidature.editeur_id,
            "data": stored.data,
        }
    )
    assert journal_verify().ok


def test_an_event_rolled_back_leaves_no_entry_and_the_chain_goes_on():
    kept = journal_append(kind=JournalKind.COMPTE, data={"n": 1})
    with pytest.raises(RuntimeError), transaction.atomic():
        journal_append(kind=JournalKind.COMPTE, data={"n": 2})
        raise RuntimeError
    after = journal_append(kind=JournalKind.COMPTE, data={"n": 3})
    assert (after.seq, after.prev_hash) == (2, kept.hash)
    assert journal_verify().ok


def test_recorded_time_never_goes_back_even_if_a_clock_does(clock):
    clock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    journal_append(kind=JournalKind.COMPTE)
    clock(datetime(2026, 3, 2, 8, 59, tzinfo=UTC))
    late = journal_append(kind=JournalKind.COMPTE)
    assert late.recorded_at == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_data_that_would_not_survive_the_database_is_refused():
    with pytest.raises(TypeError):
        journal_append(kind=JournalKind.COMPTE, data={"objet": object()})
    assert not JournalEntry.objects.exists()


# The database refuses rewrites


def _raw(sql: str, params=()):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_the_database_refuses_update_and_delete_of_an_entry():
    entry = journal_append(kind=JournalKind.COMPTE, data={"n": 1})
    with pytest.raises(DatabaseError):
        _raw(f"UPDATE {ENTRY} SET data = %s WHERE seq = %s", ['{"n": 2}', entry.seq])
    with pytest.raises(DatabaseError):
        _raw(f"DELETE FROM {ENTRY} WHERE seq = %s", [entry.seq])
    with pytest.raises(DatabaseError), transaction.atomic():
        JournalEntry.objects.filter(pk=entry.pk).update(kind="autre")
    with pytest.raises(DatabaseError), transaction.atomic():
        JournalEntry.objects.filter(pk=entry.pk).delete()
    assert JournalEntry.objects.get().data == {"n": 1}


def test_a_digest_only_gets_its_timestamp_token_once_and_is_never_deleted():
    journal_append(kind=JournalKind.COMPTE)
    digest = journal_close_day(now=timezone.now() + timedelta(days=1))
    with pytest.raises(DatabaseError), transaction.atomic():
        JournalDigest.objects.filter(pk=digest.pk).update(root="0" * 64)
    with pytest.raises(DatabaseError), transaction.atomic():
        JournalDigest.objects.filter(pk=digest.pk).update(subtrees=b"\x00" * 32)
    JournalDigest.objects.filter(pk=digest.pk).update(timestamp_token=b"jeton", timestamped_at=None)
    with pytest.raises(DatabaseError), transaction.atomic():
        JournalDigest.objects.filter(pk=digest.pk).update(timestamp_token=b"autre")
    with pytest.raises(DatabaseError), transaction.atomic():
        JournalDigest.objects.filter(pk=digest.pk).delete()
    assert bytes(JournalDigest.objects.get().timestamp_token) == b"jeton"


# The Merkle tree (RFC 6962)


def _mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 §2.1 MTH, as the RFC writes it (recursive split at the largest power of
    two smaller than n)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + _mth(leaves[:k]) + _mth(leaves[k:])).digest()


def _path(m: int, leaves: list[bytes]) -> list[bytes]:
    """RFC 6962 §2.1.1 PATH(m, D[n])."""
    if len(leaves) <= 1:
        return []
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    if m < k:
        return [*_path(m, leaves[:k]), _mth(leaves[k:])]
    return [*_path(m - k, leaves[k:]), _mth(leaves[:k])]


@pytest.mark.parametrize(
    "size", [0, 1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 33, 63, 64, 65, 127, 128, 129, 200, 300]
)
def test_roots_and_audit_paths_are_those_of_rfc_6962(size):
    hashes = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(size)]
    raw = [bytes.fromhex(h) for h in hashes]
    root, count, subtrees = day_tree(iter(hashes))
    assert (root, count) == (_mth(raw).hex(), size)
    runs = split_subtrees(subtrees)
    assert len(runs) == -(-size // 64)
    assert all(run == _mth(raw[i * 64 : (i + 1) * 64]) for i, run in enumerate(runs))
    levels = tree_levels(hashes)
    for index in range(size):
        path = audit_path(levels, index)
        assert path == [node.hex() for node in _path(index, raw)]
        start = index - index % 64
        assert run_audit_path(hashes[start : start + 64], runs, index) == path
        assert verify_inclusion(
            entry_hash=hashes[index], leaf_index=index, tree_size=size, path=path, root=root
        )
        # Another leaf, another place or a wrong root: refused.
        other = hashlib.sha256(b"autre").hexdigest()
        assert not verify_inclusion(
            entry_hash=other, leaf_index=index, tree_size=size, path=path, root=root
        )
        if size > 1:
            assert not verify_inclusion(
                entry_hash=hashes[index],
                leaf_index=(index + 1) % size,
                tree_size=size,
                path=path,
                root=root,
            )
    assert size or root == EMPTY_ROOT


# Daily digests


def test_the_sweep_closes_each_past_paris_day_once_and_one_a_run(clock):
    # 23:30 and 00:30 in Paris: two days.
    clock(datetime(2026, 3, 2, 22, 30, tzinfo=UTC))
    first = journal_append(kind=JournalKind.COMPTE, data={"n": 1})
    clock(datetime(2026, 3, 2, 23, 30, tzinfo=UTC))
    second = journal_append(kind=JournalKind.COMPTE, data={"n": 2})
    third = journal_append(kind=JournalKind.COMPTE, data={"n": 3})

    now = datetime(2026, 3, 5, 8, 0, tzinfo=UTC)
    closed = []
    for _run in range(5):
        journal_sweep(now=now)
        closed.append(JournalDigest.objects.count())
    # 4 March has no entry and is closed all the same; 5 March is today.
    assert closed == [1, 2, 3, 3, 3]
    # Each closed day timestamped by the (local, demonstration) authority, and checked.
    assert all(d.timestamp_token for d in JournalDigest.objects.all())

    days = list(JournalDigest.objects.order_by("day"))
    assert [d.day for d in days] == [date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)]
    assert [(d.first_seq, d.last_seq, d.size) for d in days] == [(1, 1, 1), (2, 3, 2), (4, 3, 0)]
    assert days[0].root == day_tree([first.hash])[0]
    assert days[1].root == day_tree([second.hash, third.hash])[0]
    assert days[2].root == EMPTY_ROOT
    assert days[0].prev_digest == GENESIS
    assert days[1].prev_digest == days[0].digest and days[2].prev_digest == days[1].digest
    assert (days[0].chain_head, days[1].chain_head, days[2].chain_head) == (
        first.hash,
        third.hash,
        third.hash,
    )
    assert (
        days[1].digest
        == hashlib.sha256(
            json.dumps(
                {
                    "v": 1,
                    "day": "2026-03-03",
                    "first_seq": 2,
                    "last_seq": 3,
                    "size": 2,
                    "root": days[1].root,
                    "chain_head": third.hash,
                    "prev": days[0].digest,
                },
                sort_keys=True,
                separators=(",", ":"),
            ).encode()
        ).hexdigest()
    )
    assert journal_verify().ok


def test_no_entry_lands_in_a_day_already_closed(clock):
    clock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    journal_append(kind=JournalKind.COMPTE)
    journal_close_day(now=datetime(2026, 3, 3, 0, 0, 1, tzinfo=UTC))
    # A process whose clock lags behind the closer's.
    clock(datetime(2026, 3, 2, 22, 59, tzinfo=UTC))
    late = journal_append(kind=JournalKind.COMPTE)
    assert late.recorded_at == datetime(2026, 3, 2, 23, 0, tzinfo=UTC)  # 3 March, Paris
    assert journal_verify().ok


def test_an_empty_journal_closes_nothing():
    assert journal_sweep(now=timezone.now() + timedelta(days=3)) == 0
    assert not JournalDigest.objects.exists()


def test_the_journal_sweep_is_in_the_sweepers(settings):
    assert settings.SWEEPERS[-1] == "segur_portal.journal.journal_sweep"


# Checking: verifier_journal


def _tamper(sql: str, params):
    """Change a row behind the portal's back: the trigger disabled, then restored."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The foreign keys' deferred checks would forbid the ALTER TABLE.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {ENTRY} DISABLE TRIGGER journal_entry_append_only")
            cursor.execute(sql, params)
            cursor.execute(f"ALTER TABLE {ENTRY} ENABLE TRIGGER journal_entry_append_only")
        else:
            cursor.execute("DROP TRIGGER journal_entry_no_update")
            cursor.execute(sql, params)
            cursor.execute(
                f"CREATE TRIGGER journal_entry_no_update BEFORE UPDATE ON {ENTRY} "
                "BEGIN SELECT RAISE(ABORT, 'journal en ajout seul : UPDATE refusé'); END"
            )


def _entries(count: int):
    return [journal_append(kind=JournalKind.COMPTE, data={"n": n}) for n in range(count)]


def test_verifier_journal_passes_on_an_intact_journal(clock, capsys):
    clock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    _entries(5)
    journal_close_day(now=datetime(2026, 3, 3, 8, 0, tzinfo=UTC))
    call_command("verifier_journal")
    assert "Journal intact : 5 entrée(s) chaînée(s), 1 jour(s) clos" in capsys.readouterr().out


def test_verifier_journal_names_the_first_entry_altered_behind_the_portal(clock):
    entries = _entries(6)
    _tamper(f"UPDATE {ENTRY} SET data = %s WHERE seq = %s", ['{"n": 99}', entries[3].seq])
    assert JournalEntry.objects.get(seq=4).data == {"n": 99}
    with pytest.raises(CommandError, match=r"^Entrée n°4 : son contenu ne correspond plus"):
        call_command("verifier_journal")


def test_verifier_journal_catches_an_entry_taken_out(clock):
    entries = _entries(4)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {ENTRY} DISABLE TRIGGER journal_entry_append_only")
            cursor.execute(f"DELETE FROM {ENTRY} WHERE seq = %s", [entries[1].seq])
            cursor.execute(f"ALTER TABLE {ENTRY} ENABLE TRIGGER journal_entry_append_only")
        else:
            cursor.execute("DROP TRIGGER journal_entry_no_delete")
            cursor.execute(f"DELETE FROM {ENTRY} WHERE seq = %s", [entries[1].seq])
    with pytest.raises(CommandError, match=r"^Entrée n°2 : entrée manquante"):
        call_command("verifier_journal")


def test_a_rewritten_chain_is_caught_by_the_published_root(clock):
    """Someone rewrites an entry and recomputes every hash after it: the chain holds,
    but the day's published root no longer matches."""
    clock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    _entries(4)
    journal_close_day(now=datetime(2026, 3, 3, 8, 0, tzinfo=UTC))
    rows = list(JournalEntry.objects.order_by("seq").values())
    prev = GENESIS
    for row in rows:
        data = {"n": 42} if row["seq"] == 2 else row["data"]
        new_hash = journal_format.sha256_hex(
            journal_format.entry_canonical(
                seq=row["seq"],
                prev_hash=prev,
                recorded_at=row["recorded_at"],
                at=row["at"],
                kind=row["kind"],
                actor_id=row["actor_id"],
                candidature_id=row["candidature_id"],
                editeur_id=row["editeur_id"],
                data=data,
            )
        )
        _tamper(
            f"UPDATE {ENTRY} SET data = %s, prev_hash = %s, hash = %s WHERE seq = %s",
            [json.dumps(data), prev, new_hash, row["seq"]],
        )
        prev = new_hash
    check = journal_verify()
    assert (check.ok, check.seq, check.day) == (False, 1, date(2026, 3, 2))
    assert "la racine publiée ne correspond plus aux entrées n°1 à 4" in check.problem
    with pytest.raises(CommandError, match="jour du 02/03/2026"):
        call_command("verifier_journal")


def test_the_triggers_exist_on_both_tables():
    """A later migration that remakes these tables on SQLite would drop them."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid IN (%s::regclass, %s::regclass) "
                "AND NOT tgisinternal",
                [ENTRY, DIGEST],
            )
            expected = {
                "journal_entry_append_only",
                "journal_digest_guard",
                "journal_digest_no_delete",
            }
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            expected = {
                "journal_entry_no_update",
                "journal_entry_no_delete",
                "journal_digest_guard",
                "journal_digest_no_delete",
            }
        assert expected <= {row[0] for row in cursor.fetchall()}


# Timestamps


def test_a_day_waits_for_its_token_while_the_authority_is_down_then_gets_it(monkeypatch):
    from segur_portal import timestamping

    journal_append(kind=JournalKind.COMPTE)
    tomorrow = timezone.now() + timedelta(days=1)
    real = timestamping.timestamp_token

    def down(data):
        raise timestamping.TimestampError("Le service d’horodatage n’a pas répondu : test")

    monkeypatch.setattr(timestamping, "timestamp_token", down)
    assert journal_sweep(now=tomorrow) == 1  # closed, not timestamped
    digest = JournalDigest.objects.get()
    assert digest.timestamp_token is None and digest.timestamped_at is None
    assert journal_verify().ok

    monkeypatch.setattr(timestamping, "timestamp_token", real)
    assert journal_sweep(now=tomorrow) == 1  # nothing to close; the token comes
    digest.refresh_from_db()
    assert digest.timestamp_token is not None and digest.timestamped_at is not None
    assert journal_sweep(now=tomorrow) == 0


def test_verifier_journal_refuses_a_token_that_does_not_vouch_for_the_day(clock):
    journal_append(kind=JournalKind.COMPTE, data={"n": 1})
    journal_sweep(now=timezone.now() + timedelta(days=1))
    other_day_token = JournalDigest.objects.get().timestamp_token
    journal_append(kind=JournalKind.COMPTE, data={"n": 2})
    second = journal_close_day(now=timezone.now() + timedelta(days=2))
    # The token of another day's digest, set on this one (as the trigger allows once).
    JournalDigest.objects.filter(pk=second.pk).update(
        timestamp_token=bytes(other_day_token), timestamped_at=timezone.now()
    )
    check = journal_verify()
    assert not check.ok and check.day == second.day
    assert "jeton d’horodatage invalide" in check.problem
    assert journal_verify(check_timestamps=False).ok
    call_command("verifier_journal", "--sans-horodatage")


def test_journal_append_is_the_only_writer():
    """No code of the portal writes an entry but segur_portal/journal.py (the backfill
    migration wrote the history before it, once)."""
    import re
    from pathlib import Path

    from django.conf import settings

    root = Path(settings.BASE_DIR)
    writes = re.compile(
        r"JournalEntry\.objects\.(create|bulk_create|update|get_or_create)"
        r"|(?<!class )JournalEntry\(|JournalHead\.objects\.filter\(pk=1\)\.update"
    )
    writers = sorted(
        str(path.relative_to(root))
        for app in ("candidatures", "college", "preuves", "segur_portal")
        for path in (root / app).rglob("*.py")
        if "migrations" not in path.parts and writes.search(path.read_text())
    )
    assert writers == ["segur_portal/journal.py"]
