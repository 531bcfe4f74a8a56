"""The journal as people read it: the candidature's history, the published digests and
their feeds, the inclusion proofs a company downloads, the registry's changes."""

import json
import subprocess
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from candidatures.enums import CandidatureState
from candidatures.services import candidature as candidature_services
from candidatures.services.sollicitation import sollicitation_message_send, sollicitation_open
from college import services as college_services
from segur_portal.enums import JournalKind
from segur_portal.journal import journal_append, journal_close_day
from segur_portal.journal_format import entry_canonical, sha256_hex, verify_inclusion
from segur_portal.models import JournalDigest, JournalEntry
from tests.college.phase3 import (
    mandataire,
    on_agenda,
    open_seance_with,
    seance_today,
    signed_candidature,
)
from tests.factories import CandidatureFactory, UserFactory, company_user

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"


def _exchange(candidature, question="Précisez le NIE, s’il vous plaît."):
    """An instructor's sollicitation and the company's answer with its history."""
    instructeur = UserFactory(instructeur=True, first_name="Ivan", last_name="Terrible")
    sollicitation = sollicitation_open(candidature=candidature, actor=instructeur, text=question)
    member = mandataire(candidature)
    sollicitation_message_send(
        sollicitation=sollicitation, actor=member, text="Voici le NIE : NIE-0042."
    )
    return instructeur, member


def _close_today():
    return journal_close_day(now=timezone.now() + timedelta(days=1))


# The candidature's history reads the journal


def test_the_history_shows_transitions_messages_and_hides_agency_names_from_the_company(client):
    candidature = CandidatureFactory(admin_soumise=True)
    instructeur, member = _exchange(candidature)
    candidature_services.candidature_validate_admin(candidature=candidature, actor=instructeur)

    client.force_login(member)
    content = client.get(reverse("historique:page", args=[candidature.pk])).content.decode()
    assert "Sollicitation de l’ANS" in content and "Précisez le NIE" in content
    assert "Message de l’éditeur" in content and "NIE-0042" in content
    assert "Candidature administrative soumise → Candidature administrative validée" in content
    assert "Ivan Terrible" not in content and "Agence du Numérique en Santé" in content
    # The candidature's page shows the same, from the same entries.
    detail = client.get(reverse("candidatures:detail", args=[candidature.pk])).content.decode()
    assert "Sollicitation de l’ANS" in detail
    assert reverse("historique:page", args=[candidature.pk]) in detail

    client.force_login(instructeur)
    content = client.get(reverse("historique:page", args=[candidature.pk])).content.decode()
    assert "Ivan Terrible" in content


def test_the_college_sees_no_exchange_in_the_history(client):
    candidature = signed_candidature()
    # The exchanges of its instruction, as the journal recorded them.
    for text, from_agency in [("Question interne ZX81", True), ("Réponse interne ZX82", False)]:
        journal_append(
            kind=JournalKind.SOLLICITATION_MESSAGE,
            candidature=candidature,
            data={"from_agency": from_agency, "first": from_agency, "text": text},
        )
    on_agenda(seance_today(), candidature)
    college = UserFactory(college=True)
    client.force_login(college)
    for url in (
        reverse("historique:page", args=[candidature.pk]),
        reverse("candidatures:detail", args=[candidature.pk]),
    ):
        content = client.get(url).content.decode()
        assert "Convention signée" in content
        assert "ZX81" not in content and "ZX82" not in content
        assert "Sollicitation de l’ANS" not in content


def test_verdicts_signatures_and_downloads_are_in_the_history(client):
    candidature = signed_candidature()
    convention = candidature.conventions.get()
    member = mandataire(candidature)
    client.force_login(member)
    response = client.get(reverse("preuves:download", args=[convention.signed_document_id]))
    # Consumed, the test client closes the response and the stored file.
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    kinds = set(JournalEntry.objects.filter(candidature=candidature).values_list("kind", flat=True))
    assert {JournalKind.TRANSITION, JournalKind.SIGNATURE, JournalKind.FICHIER_TELECHARGE} <= kinds
    signature = JournalEntry.objects.get(candidature=candidature, kind=JournalKind.SIGNATURE)
    assert signature.data["document_sha256"] == convention.signed_sha256
    assert signature.data["signed_document_sha256"] == convention.signed_document.sha256
    content = client.get(reverse("historique:page", args=[candidature.pk])).content.decode()
    assert "Convention signée" in content and "Fichier téléchargé" in content


def _history_queries(client, candidature) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("historique:page", args=[candidature.pk]))
        assert response.status_code == 200
    return len(queries)


def test_the_history_page_runs_a_fixed_number_of_queries(client):
    candidature = CandidatureFactory(admin_soumise=True)
    agents = [UserFactory(instructeur=True) for _ in range(3)]
    client.force_login(agents[0])

    def add(count):
        for n in range(count):
            journal_append(
                kind=JournalKind.TRANSITION,
                actor=agents[n % 3],
                candidature=candidature,
                data={"from": "admin_soumise", "to": "admin_soumise", "reason": f"n° {n}"},
            )

    add(5)
    small = _history_queries(client, candidature)
    add(120)
    assert _history_queries(client, candidature) == small


# Published digests


def _page_queries(client, name: str) -> int:
    """The page's own queries: the rate limiter's counters live in a database table in
    the embedded portal, and their reads and writes vary with its culling."""
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse(name)).status_code == 200
    return sum(
        "segur_ratelimit_cache" not in query["sql"] and "SAVEPOINT" not in query["sql"]
        for query in captured.captured_queries
    )


def test_the_digests_page_json_and_atom_publish_each_closed_day(client):
    journal_append(kind=JournalKind.COMPTE, data={"n": 1})
    digest = _close_today()
    digest.refresh_from_db()

    page = client.get(reverse("registre:journal")).content.decode()
    assert digest.root[:16] in page and digest.digest[:16] in page

    data = client.get(reverse("registre:journal_json")).json()
    record = data["digests"][0]
    assert record["root"] == digest.root and record["digest"] == digest.digest
    assert sha256_hex(record["canonical"].encode()) == record["digest"]
    assert data["pages"] == 1 and data["next"] is None

    feed = ET.fromstring(client.get(reverse("registre:journal_atom")).content)
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 1
    assert digest.digest in entries[0].find(f"{ATOM}id").text


def test_the_timestamp_token_is_published_and_vouches_for_the_digest(client, tmp_path):
    from segur_portal import timestamping
    from segur_portal.journal import digest_bytes, journal_sweep

    journal_append(kind=JournalKind.COMPTE)
    journal_sweep(now=timezone.now() + timedelta(days=1))
    digest = JournalDigest.objects.get()
    assert digest.timestamped_at is not None
    response = client.get(reverse("registre:journal_token", args=[digest.day.isoformat()]))
    assert response.status_code == 200
    token = response.content
    assert timestamping.timestamp_verify(token, digest_bytes(digest)) == digest.timestamped_at
    record = client.get(reverse("registre:journal_json")).json()["digests"][0]
    assert record["timestamp_token_url"].endswith(
        reverse("registre:journal_token", args=[digest.day.isoformat()])
    )
    # Checked as docs/JOURNAL.md tells anyone to, with OpenSSL and the published roots.
    (tmp_path / "journal.tsr").write_bytes(token)
    (tmp_path / "digest.json").write_bytes(record["canonical"].encode("utf-8"))
    (tmp_path / "ac.pem").write_bytes(client.get(reverse("verifier:certificat_racines")).content)
    command = ["openssl", "ts", "-verify", "-token_in", "-in", "journal.tsr"]
    checked = subprocess.run(
        [*command, "-data", "digest.json", "-CAfile", "ac.pem"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert checked.stdout.strip() == "Verification: OK", checked.stderr
    (tmp_path / "digest.json").write_bytes(record["canonical"].replace("1", "2").encode())
    forged = subprocess.run(
        [*command, "-data", "digest.json", "-CAfile", "ac.pem"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert forged.returncode != 0


def test_the_digests_page_is_paged_in_a_fixed_number_of_queries(client):
    def close(days):
        start = JournalDigest.objects.count()
        for n in range(days):
            day = datetime(2026, 1, 1, 12, tzinfo=UTC) + timedelta(days=start + n)
            JournalDigest.objects.create(
                day=day.date(),
                first_seq=1,
                last_seq=0,
                size=0,
                root="0" * 64,
                chain_head="0" * 64,
                prev_digest=f"{start + n:064x}",
                digest=f"{start + n + 1:064x}",
                closed_at=day,
            )

    def queries(name):
        return _page_queries(client, name)

    close(3)
    counts = {name: queries(name) for name in ("registre:journal", "registre:journal_json")}
    close(80)
    assert {name: queries(name) for name in counts} == counts
    assert client.get(reverse("registre:journal_json")).json()["pages"] == 3


# Inclusion proofs


def _company_history(candidature):
    """A few events of the candidature, and of another company, on a closed day."""
    instructeur, member = _exchange(candidature)
    candidature_services.candidature_validate_admin(candidature=candidature, actor=instructeur)
    other = CandidatureFactory(admin_soumise=True, nom_commercial="Concurrent")
    _exchange(other, question="Question confidentielle à un concurrent.")
    _close_today()
    return member, other


def test_a_company_downloads_proofs_that_check_against_the_published_roots(client):
    candidature = CandidatureFactory(admin_soumise=True)
    member, other = _company_history(candidature)
    later = journal_append(kind=JournalKind.COMPTE, candidature=candidature)  # not yet closed

    client.force_login(member)
    response = client.get(reverse("historique:preuves", args=[candidature.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    proofs = response.json()
    published = {
        d["day"]: d for d in client.get(reverse("registre:journal_json")).json()["digests"]
    }

    mine = list(
        JournalEntry.objects.filter(candidature=candidature).exclude(pk=later.pk).order_by("seq")
    )
    assert [p["seq"] for p in proofs["proofs"]] == [e.seq for e in mine]
    assert proofs["pending"] == [{"seq": later.seq, "kind": later.kind, "hash": later.hash}]
    for proof in proofs["proofs"]:
        root = published[proof["day"]]["root"]
        assert proof["root"] == root
        # The content given hashes to the entry's hash, which the path puts in the root.
        if "entry" in proof:
            assert sha256_hex(proof["entry"].encode()) == proof["hash"]
        assert verify_inclusion(
            entry_hash=proof["hash"],
            leaf_index=proof["leaf_index"],
            tree_size=proof["tree_size"],
            path=proof["audit_path"],
            root=root,
        )
    body = response.content.decode()
    assert "Concurrent" not in body
    other_entry = JournalEntry.objects.filter(candidature=other).first()
    assert other_entry.hash not in body
    assert other_entry.data["text"] not in body


def test_the_company_gets_no_content_of_the_agents_downloads():
    candidature = CandidatureFactory(admin_soumise=True)
    agent = UserFactory(instructeur=True)
    journal_append(
        kind=JournalKind.FICHIER_TELECHARGE,
        actor=agent,
        candidature=candidature,
        data={"ip": "203.0.113.9", "name": "preuve.pdf"},
    )
    _close_today()
    from segur_portal.journal_selectors import inclusion_proofs

    company = inclusion_proofs(candidature, full_content=False)
    assert "entry" not in company["proofs"][0]
    assert "203.0.113.9" not in json.dumps(company)
    agency = inclusion_proofs(candidature, full_content=True)
    assert "203.0.113.9" in agency["proofs"][0]["entry"]


@pytest.mark.parametrize("who", ["anonymous", "other_company", "college"])
def test_no_one_else_gets_a_candidature_s_proofs(client, who):
    candidature = signed_candidature()
    _close_today()
    url = reverse("historique:preuves", args=[candidature.pk])
    if who == "anonymous":
        response = client.get(url)
        assert response.status_code == 302 and "/connexion/" in response["Location"]
        return
    if who == "other_company":
        client.force_login(mandataire(CandidatureFactory()))
    else:
        on_agenda(seance_today(), candidature)
        college = UserFactory(college=True)
        client.force_login(college)
        # The collège reads the candidature on its agenda, not its proofs.
        assert client.get(reverse("historique:page", args=[candidature.pk])).status_code == 200
    response = client.get(url)
    assert response.status_code == 404
    assert candidature.reference.encode() not in response.content


def test_the_history_of_another_company_is_not_found(client):
    candidature = CandidatureFactory(admin_soumise=True)
    client.force_login(mandataire(CandidatureFactory()))
    assert client.get(reverse("historique:page", args=[candidature.pk])).status_code == 404


def test_an_editor_reads_the_history_once_the_cgu_in_force_are_accepted(client):
    candidature = CandidatureFactory(admin_soumise=True)
    client.force_login(company_user(candidature.editeur))
    for name in ("historique:page", "historique:preuves"):
        response = client.get(reverse(name, args=[candidature.pk]))
        assert response.status_code == 302 and response["Location"].startswith("/cgu/")


# The registry's history


def test_dereferenced_software_stays_in_the_registry_with_its_date_and_reason(client):
    candidature = signed_candidature()
    seance, members = open_seance_with(candidature)
    college_services.decision_record(
        inscription=candidature.inscriptions.get(),
        actor=members[0],
        kind="sans_reserve",
        text="Référencé.",
        reserves=[],
    )
    college_services.seance_close(seance=seance, actor=members[0])
    candidature.refresh_from_db()
    assert candidature.state == CandidatureState.REFERENCEE
    numero = candidature.attestation.numero
    admin = UserFactory(admin=True)
    college_services.candidature_dereference(
        candidature=candidature, actor=admin, reason="Exigence INS non respectée au contrôle."
    )

    page = client.get(reverse("registre:referencees")).content.decode()
    assert numero in page and "Déréférencé" in page
    assert "Exigence INS non respectée au contrôle." in page
    response = client.get(reverse("registre:referencees_json"))
    row = json.loads(b"".join(response.streaming_content))["logiciels"][0]
    assert (row["numero"], row["statut"]) == (numero, "déréférencé")
    assert row["motif_dereferencement"] == "Exigence INS non respectée au contrôle."
    assert row["date_dereferencement"] == timezone.localdate().isoformat()

    feed = ET.fromstring(client.get(reverse("registre:evolutions_atom")).content)
    titles = [entry.find(f"{ATOM}title").text for entry in feed.findall(f"{ATOM}entry")]
    assert titles[0].startswith("Logiciel déréférencé")
    assert titles[1].startswith("Logiciel référencé")
    assert any(title.startswith("Candidature publiée") for title in titles) is False
    changes = client.get(reverse("registre:evolutions")).content.decode()
    assert "Exigence INS non respectée au contrôle." in changes and numero in changes


def test_a_withdrawn_candidature_stays_in_the_list_in_progress_with_its_reason(client):
    candidature = CandidatureFactory(admin_soumise=True, nom_commercial="RetiréLog")
    instructeur = UserFactory(instructeur=True)
    candidature_services.candidature_validate_admin(candidature=candidature, actor=instructeur)
    assert "RetiréLog" in client.get(reverse("registre:en_cours")).content.decode()
    member = company_user(candidature.editeur)
    candidature_services.candidature_withdraw(
        candidature=candidature, actor=member, reason="Version abandonnée au profit de la 5."
    )

    page = client.get(reverse("registre:en_cours")).content.decode()
    assert "RetiréLog" in page and "Retirée" in page
    assert "Version abandonnée au profit de la 5." in page
    data = json.loads(b"".join(client.get(reverse("registre:en_cours_json")).streaming_content))
    assert data["candidatures"] == []
    assert data["retirees"][0]["nom_commercial"] == "RetiréLog"
    assert data["retirees"][0]["motif"] == "Version abandonnée au profit de la 5."
    feed = ET.fromstring(client.get(reverse("registre:evolutions_atom")).content)
    titles = [entry.find(f"{ATOM}title").text for entry in feed.findall(f"{ATOM}entry")]
    assert titles == [
        f"Candidature sortie de la liste des candidatures en cours : RetiréLog "
        f"({candidature.editeur.raison_sociale})",
        f"Candidature publiée en cours de référencement : RetiréLog "
        f"({candidature.editeur.raison_sociale})",
    ]


def test_a_draft_withdrawn_before_publication_is_not_published(client):
    candidature = CandidatureFactory(admin_soumise=True, nom_commercial="JamaisPublié")
    candidature_services.candidature_withdraw(
        candidature=candidature, actor=company_user(candidature.editeur), reason="Erreur."
    )
    assert "JamaisPublié" not in client.get(reverse("registre:en_cours")).content.decode()
    assert "JamaisPublié" not in client.get(reverse("registre:evolutions_atom")).content.decode()


def test_the_registry_changes_page_is_paged_in_a_fixed_number_of_queries(client):
    candidature = CandidatureFactory(admin_validee=True)

    def add(count):
        for _ in range(count):
            journal_append(
                kind=JournalKind.REGISTRE,
                candidature=candidature,
                data={
                    "event": "publiee",
                    "state": "admin_validee",
                    "dsr": "MDV-LGC-Va2",
                    "editeur": "Éditeur",
                    "nom_commercial": "Log",
                    "version_technique": "1",
                    "reason": "",
                },
            )

    def queries(name):
        return _page_queries(client, name)

    add(3)
    counts = {name: queries(name) for name in ("registre:evolutions", "registre:evolutions_atom")}
    add(120)
    assert {name: queries(name) for name in counts} == counts


def test_entry_canonical_is_what_the_proofs_give():
    entry = journal_append(kind=JournalKind.COMPTE, data={"n": "é"})
    stored = JournalEntry.objects.get(pk=entry.pk)
    canonical = entry_canonical(
        seq=stored.seq,
        prev_hash=stored.prev_hash,
        recorded_at=stored.recorded_at,
        at=stored.at,
        kind=stored.kind,
        actor_id=stored.actor_id,
        candidature_id=stored.candidature_id,
        editeur_id=stored.editeur_id,
        data=stored.data,
    )
    assert sha256_hex(canonical) == stored.hash
    assert "é".encode() in canonical


def test_proofs_of_entries_spread_over_a_large_day_read_only_their_runs():
    from segur_portal.journal_selectors import _subtrees, inclusion_proofs

    candidature = CandidatureFactory(admin_soumise=True)
    mine = []
    for n in range(300):
        own = n in {0, 63, 64, 65, 150, 299}
        entry = journal_append(
            kind=JournalKind.TRANSITION,
            candidature=candidature if own else None,
            data={"from": "admin_soumise", "to": "admin_soumise", "reason": str(n)},
        )
        if own:
            mine.append(entry)
    digest = _close_today()
    assert digest.size == 300 and len(bytes(digest.subtrees)) == 5 * 32

    with CaptureQueriesContext(connection) as queries:
        proofs = inclusion_proofs(candidature, full_content=False)
    # Entries, digests, then the hashes of the runs holding them: never the day.
    assert len(queries) == 3
    assert [p["seq"] for p in proofs["proofs"]] == [e.seq for e in mine]
    for proof in proofs["proofs"]:
        assert verify_inclusion(
            entry_hash=proof["hash"],
            leaf_index=proof["leaf_index"],
            tree_size=300,
            path=proof["audit_path"],
            root=digest.root,
        )
    # A day closed before the runs' roots were kept: computed from the day's hashes.
    legacy = JournalDigest(first_seq=digest.first_seq, last_seq=digest.last_seq, subtrees=None)
    assert _subtrees(legacy) == bytes(digest.subtrees)
