"""The review workspace's rules at the service and selector layer: bulk verdicts, what
changed since a verdict, reuse of one content, the log of a candidature's files, and
what the instruction found for the collège's agenda."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from candidatures.enums import CandidatureState
from candidatures.models import Candidature, Exigence
from preuves import instruction, selectors
from preuves.depot import _applicable
from preuves.enums import Consultation, FichierStatus
from preuves.models import Depot, ExigenceVerdict, Fichier
from preuves.services import fichier_download_record
from segur_portal.enums import JournalKind
from segur_portal.journal import journal_verify
from segur_portal.models import JournalEntry
from tests.factories import UserFactory, company_user
from tests.preuves.dossiers import eligible_candidature
from tests.preuves.factories import FichierFactory
from tests.preuves.reviews import instructing

pytestmark = pytest.mark.django_db
S = CandidatureState


def _exigences(candidature, *identifiers):
    return [
        Exigence.objects.get(rem_version=candidature.rem_version, identifier=identifier)
        for identifier in identifiers
    ]


def test_a_bulk_verdict_records_one_verdict_on_each_requirement():
    candidature, instructeur = instructing()
    exigences = _exigences(candidature, "INS.01", "GAZ.05", "SSI.07")
    recorded = instruction.verdicts_record(
        candidature=candidature, exigences=exigences, verdict="conforme", comment="",
        actor=instructeur,
    )  # fmt: skip
    assert len(recorded) == 3
    assert sorted(candidature.verdicts.values_list("exigence__identifier", "verdict", "by")) == [
        ("GAZ.05", "conforme", instructeur.pk),
        ("INS.01", "conforme", instructeur.pk),
        ("SSI.07", "conforme", instructeur.pk),
    ]


def test_a_bulk_verdict_costs_the_same_queries_for_2_or_9_requirements_and_keeps_the_chain():
    counts = []
    for size in (2, 9):
        candidature, instructeur = instructing()
        exigences = list(
            _applicable(candidature).exclude(identifier="INS.01").order_by("position")[:size]
        )
        # The journal's head exists before the measure, as in a running portal.
        instruction.verdict_record(
            candidature=candidature, exigence=_exigences(candidature, "INS.01")[0],
            verdict="conforme", comment="", actor=instructeur,
        )  # fmt: skip
        with CaptureQueriesContext(connection) as queries:
            instruction.verdicts_record(
                candidature=candidature, exigences=exigences, verdict="non_conforme",
                comment="Capture absente.", actor=instructeur,
            )  # fmt: skip
        counts.append(len(queries))
        entries = JournalEntry.objects.filter(
            candidature=candidature, kind=JournalKind.VERDICT
        ).order_by("seq")
        assert [entry.data["exigence"] for entry in entries][1:] == [
            exigence.identifier for exigence in exigences
        ]
    assert counts[0] == counts[1]
    assert journal_verify(check_timestamps=False).ok


def test_a_bulk_non_conforme_needs_its_comment_and_records_nothing_without_it():
    candidature, instructeur = instructing()
    exigences = _exigences(candidature, "INS.01", "GAZ.05")
    with pytest.raises(ValidationError) as refused:
        instruction.verdicts_record(
            candidature=candidature, exigences=exigences, verdict="non_conforme",
            comment="  ", actor=instructeur,
        )  # fmt: skip
    assert refused.value.message_dict == {
        "comment": ["Dites en quoi l’exigence n’est pas satisfaite."]
    }
    with pytest.raises(ValidationError, match="Cochez au moins une exigence"):
        instruction.verdicts_record(
            candidature=candidature, exigences=[], verdict="conforme", comment="",
            actor=instructeur,
        )  # fmt: skip
    with pytest.raises(ValidationError, match="conforme"):
        instruction.verdicts_record(
            candidature=candidature, exigences=exigences, verdict="", comment="",
            actor=instructeur,
        )  # fmt: skip
    assert not ExigenceVerdict.objects.exists()


def test_a_bulk_verdict_is_all_or_nothing_when_one_requirement_is_outside_the_dossier():
    candidature, instructeur = instructing()
    inside = _exigences(candidature, "INS.01")
    # A préconisation is never part of the dossier.
    outside = _exigences(candidature, "PREC.03")
    with pytest.raises(ValidationError, match="ne fait pas partie du dossier"):
        instruction.verdicts_record(
            candidature=candidature, exigences=inside + outside, verdict="conforme",
            comment="", actor=instructeur,
        )  # fmt: skip
    assert not ExigenceVerdict.objects.exists()


def test_a_bulk_verdict_is_for_instructors_in_instruction_only():
    candidature, instructeur = instructing()
    exigences = _exigences(candidature, "INS.01")
    for intruder in (company_user(candidature.editeur), UserFactory(college=True)):
        with pytest.raises(PermissionDenied):
            instruction.verdicts_record(
                candidature=candidature, exigences=exigences, verdict="conforme",
                comment="", actor=intruder,
            )  # fmt: skip
    Candidature.objects.filter(pk=candidature.pk).update(state=S.PREUVES_VALIDEES)
    with pytest.raises(ValidationError, match="Prenez d’abord la candidature en instruction"):
        instruction.verdicts_record(
            candidature=candidature, exigences=exigences, verdict="conforme", comment="",
            actor=instructeur,
        )  # fmt: skip
    assert not ExigenceVerdict.objects.exists()


def _block(review, identifier):
    return next(block for block in review.blocks if block.exigence.identifier == identifier)


def test_the_review_says_which_files_were_added_replaced_or_removed_since_the_verdict():
    candidature, instructeur = instructing()
    member = company_user(candidature.editeur)
    ins, ssi, gaz = _exigences(candidature, "INS.01", "SSI.07", "GAZ.05")
    verdict_at = timezone.now() - timedelta(hours=2)
    for exigence in (ins, ssi, gaz):
        ExigenceVerdict.objects.create(candidature=candidature, exigence=exigence,
                                       verdict="complement", comment="Précisez.", by=instructeur,
                                       at=verdict_at)  # fmt: skip
    later = verdict_at + timedelta(hours=1)
    # INS.01.01.01: its video replaced; SSI.07: a file added; GAZ.05: its link withdrawn.
    video = Depot.objects.get(candidature=candidature, preuve_attendue__identifier="INS.01.01.01")
    Depot.objects.filter(pk=video.pk).update(removed_at=later, removed_by=member)
    replacement = Depot.objects.create(
        candidature=candidature, exigence=ins, preuve_attendue=video.preuve_attendue,
        fichier=FichierFactory(editeur=candidature.editeur, accepted=True,
                               content=b"%PDF-1.4 nouvelle version\n%%EOF\n"),
        deposited_by=member, deposited_at=later,
    )  # fmt: skip
    added = Depot.objects.create(
        candidature=candidature, exigence=ssi,
        fichier=FichierFactory(editeur=candidature.editeur, accepted=True,
                               content=b"%PDF-1.4 complement\n%%EOF\n"),
        deposited_by=member, deposited_at=later,
    )  # fmt: skip
    Depot.objects.filter(candidature=candidature, exigence=gaz).update(
        removed_at=later, removed_by=member
    )

    review = selectors.review_dossier(candidature, agency=True)

    [change] = _block(review, "INS.01").changes
    assert change.item.identifier == "INS.01.01.01"
    assert change.label == "remplacé"
    assert [d.pk for d in change.before] == [video.pk]
    assert [d.pk for d in change.after] == [replacement.pk]
    [change] = _block(review, "SSI.07").changes
    assert change.label == "ajouté"
    assert [d.pk for d in change.added] == [added.pk]
    assert len(change.before) == 1  # the file already there stays, on both sides
    [change] = _block(review, "GAZ.05").changes
    assert change.label == "retiré" and change.after == []
    assert review.counts()["modifiee"] == 3
    assert {b.exigence.identifier for b in review.filtered(statut="modifiee")} == {
        "INS.01", "SSI.07", "GAZ.05",
    }  # fmt: skip


def test_nothing_changed_before_the_first_verdict_nor_after_an_unchanged_one():
    candidature, instructeur = instructing()
    [ins] = _exigences(candidature, "INS.01")
    review = selectors.review_dossier(candidature, agency=True)
    assert all(not block.changed for block in review.blocks)
    instruction.verdict_record(candidature=candidature, exigence=ins, verdict="conforme",
                               comment="", actor=instructeur)  # fmt: skip
    review = selectors.review_dossier(candidature, agency=True)
    assert all(not block.changed for block in review.blocks)
    assert review.counts()["conforme"] == 1
    assert review.counts()["sans_verdict"] == len(review.blocks) - 1


def _same_content(candidature, content: bytes, identifiers):
    """Give these expected proofs one more file each, all with the same content."""
    member = company_user(candidature.editeur)
    for depot in Depot.objects.filter(
        candidature=candidature, preuve_attendue__identifier__in=identifiers
    ):
        Depot.objects.create(
            candidature=candidature, exigence_id=depot.exigence_id,
            preuve_attendue_id=depot.preuve_attendue_id,
            fichier=FichierFactory(editeur=candidature.editeur, accepted=True, content=content),
            deposited_by=member,
        )  # fmt: skip


def test_one_content_under_several_proofs_is_counted_and_another_companys_copy_flagged():
    candidature, _instructeur = instructing()
    shared = b"%PDF-1.4 capture commune\n%%EOF\n"
    _same_content(candidature, shared, ["INS.01.01.01", "INS.01.01.02", "DMP.02.01.01"])
    review = selectors.review_dossier(candidature, agency=True)
    [(sha, count)] = review.reused_here.items()
    assert count == 2  # DMP.02 is not in a Général-only dossier
    assert review.reused_elsewhere == {}
    assert review.counts()["reutilise"] == 1

    other = eligible_candidature()
    FichierFactory(editeur=other.editeur, accepted=True, content=shared)
    review = selectors.review_dossier(candidature, agency=True)
    assert review.reused_elsewhere == {sha: 1}
    flagged = [
        depot.fichier
        for item in review.dossier.items
        for depot in item.depots
        if depot.fichier and depot.fichier.sha256 == sha
    ]
    assert {(f.reused_here, f.reused_elsewhere) for f in flagged} == {(2, 1)}
    # Read for the collège (agency=False): no look at other companies' files.
    assert selectors.review_dossier(candidature, agency=False).reused_elsewhere == {}


def test_reuse_across_companies_is_one_query_on_the_sha256_index():
    candidature, _instructeur = instructing()
    shas = set(Fichier.objects.values_list("sha256", flat=True))
    with CaptureQueriesContext(connection) as queries:
        selectors.reuse_counts(shas=shas, editeur_id=candidature.editeur_id)
    assert len(queries) == 1
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        # On a few rows the planner prefers a scan anyway: forbid it to see that the
        # index answers the lookup.
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = (
            Fichier.objects.filter(sha256__in=shas).values("sha256").query.sql_with_params()
        )
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "fichier_sha256" in plan, plan


def test_the_log_of_a_candidature_holds_its_files_only_latest_first():
    candidature, instructeur = instructing()
    other, _ = instructing()
    mine = Depot.objects.filter(candidature=candidature, fichier__isnull=False).first().fichier
    theirs = Depot.objects.filter(candidature=other, fichier__isnull=False).first().fichier
    first = fichier_download_record(fichier=mine, user=instructeur, ip_address="10.0.0.1")
    fichier_download_record(fichier=theirs, user=instructeur, ip_address="10.0.0.2")
    second = fichier_download_record(
        fichier=mine, user=instructeur, ip_address="not an ip", kind=Consultation.APERCU
    )
    rows = list(selectors.consultations(candidature))
    assert [row.pk for row in rows] == [second.pk, first.pk]
    assert (rows[0].kind, rows[0].ip_address) == ("apercu", None)
    assert (rows[1].kind, rows[1].ip_address) == ("telechargement", "10.0.0.1")


def test_what_the_instruction_found_for_many_candidatures_in_fixed_queries(
    django_assert_max_num_queries,
):
    from django.db.models import Prefetch

    candidatures = []
    for _ in range(3):
        candidature, instructeur = instructing()
        ins, gaz, ssi = _exigences(candidature, "INS.01", "GAZ.05", "SSI.07")
        instruction.verdict_record(candidature=candidature, exigence=ins, verdict="non_conforme",
                                   comment="Vidéo coupée.", actor=instructeur)  # fmt: skip
        # The latest verdict counts: INS.01 ends non conforme, GAZ.05 conforme.
        instruction.verdict_record(candidature=candidature, exigence=gaz, verdict="non_conforme",
                                   comment="Rapport absent.", actor=instructeur)  # fmt: skip
        instruction.verdict_record(candidature=candidature, exigence=gaz, verdict="conforme",
                                   comment="", actor=instructeur)  # fmt: skip
        instruction.complement_request(candidature=candidature, exigences=[ssi],
                                       text="Chiffrement au repos ?", actor=instructeur)  # fmt: skip
        candidatures.append(candidature)

    def findings(pks):
        rows = Candidature.objects.filter(pk__in=pks).prefetch_related(
            Prefetch(
                "sollicitations",
                queryset=instruction.instruction_sollicitations(),
                to_attr="instruction_sollicitations",
            )
        )
        return selectors.instruction_findings(rows)

    with django_assert_max_num_queries(3):
        found = findings([candidatures[0].pk])
    with django_assert_max_num_queries(3):
        found = findings([c.pk for c in candidatures])
    for candidature in candidatures:
        result = found[candidature.pk]
        assert (result.conforme, result.non_conforme, result.complement) == (1, 1, 1)
        assert [(v.exigence.identifier, v.comment) for v in result.non_conformes] == [
            ("INS.01", "Vidéo coupée.")
        ]
        # Suspended since the request for complements: about 3 days of instruction.
        assert result.time["paused"] is True
        assert 2.9 < result.time["elapsed_days"] < 3.1
        assert result.time["indicative_days"] == 42


def test_an_infected_or_pending_file_is_never_previewable():
    fichier = FichierFactory(accepted=True)
    assert fichier.preview_kind == "pdf"
    for status in (FichierStatus.EN_VERIFICATION, FichierStatus.REFUSEE):
        fichier.status = status
        assert fichier.preview_kind == ""
    fichier.status = FichierStatus.INFECTEE
    assert fichier.preview_kind == ""
    fichier.status, fichier.detected_mime = FichierStatus.ACCEPTEE, "video/x-msvideo"
    assert fichier.preview_kind == ""  # AVI: no player in browsers, it downloads
    fichier.detected_mime = "video/quicktime"
    assert fichier.preview_kind == "video"


def test_the_rule_for_one_requirement_is_the_dossiers_on_every_published_rem():
    """exigence_applies (a verdict's check, without a query) and applicable_exigences
    (the dossier) agree on every requirement of the real REMs, for each profile alone,
    all of them, and with or without the wave-1 périmètre."""
    from candidatures.enums import RemStatus
    from candidatures.models import RemVersion
    from candidatures.selectors.referentiel import applicable_exigences, exigence_applies
    from segur_portal.demo import seed_referentiel

    seed_referentiel()
    versions = list(RemVersion.objects.filter(status=RemStatus.PUBLISHED))
    assert versions
    checked = 0
    for version in versions:
        every = list(Exigence.objects.filter(rem_version__dsr=version.dsr))
        profils = sorted({e.profil_id for e in every if e.profil_id})
        for chosen in [*([p] for p in profils), profils]:
            for vague_1 in (False, True):
                expected = set(
                    applicable_exigences(version, chosen, include_vague_1=vague_1).values_list(
                        "pk", flat=True
                    )
                )
                found = {
                    e.pk
                    for e in every
                    if exigence_applies(e, version.pk, chosen, include_vague_1=vague_1)
                }
                assert found == expected, (version, chosen, vague_1)
                checked += 1
    assert checked >= 4


@pytest.mark.parametrize("why", ["autre_version", "autre_profil", "preconisation"])
def test_a_verdict_on_a_requirement_outside_the_dossier_is_refused(why):
    candidature, instructeur = instructing()
    inside = _exigences(candidature, "INS.01")[0]
    if why == "preconisation":
        outside = _exigences(candidature, "PREC.03")[0]
    elif why == "autre_profil":
        chosen = set(candidature.profils.values_list("pk", flat=True))
        outside = (
            Exigence.objects.filter(rem_version=candidature.rem_version, nature="exigence")
            .exclude(profil_id__in=chosen)
            .first()
        )
    else:
        from segur_portal.demo import seed_referentiel

        seed_referentiel()
        # A requirement of another REM version.
        outside = (
            Exigence.objects.exclude(rem_version=candidature.rem_version)
            .filter(nature="exigence")
            .first()
        )
    assert outside is not None
    with pytest.raises(ValidationError, match="ne fait pas partie du dossier"):
        instruction.verdict_record(
            candidature=candidature, exigence=outside, verdict="conforme", comment="",
            actor=instructeur,
        )  # fmt: skip
    instruction.verdict_record(
        candidature=candidature, exigence=inside, verdict="conforme", comment="",
        actor=instructeur,
    )  # fmt: skip
    assert list(ExigenceVerdict.objects.values_list("exigence_id", flat=True)) == [inside.pk]
