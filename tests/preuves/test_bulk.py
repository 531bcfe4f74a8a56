import os
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from preuves import bulk, instruction
from preuves import depot as depot_services
from preuves.enums import FichierStatus, LotMatch
from preuves.models import Depot, DepotLot, DepotLotFichier, Fichier
from tests.factories import UserFactory, company_user
from tests.preuves import corpus, samples, zips
from tests.preuves.dossiers import deposit_everything, eligible_candidature, upload

pytestmark = pytest.mark.django_db


def _stored(media_root, folder: str) -> list:
    root = media_root / folder
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _lot(candidature=None, **kwargs):
    candidature = candidature or eligible_candidature()
    member = company_user(candidature.editeur)
    return bulk.lot_create(candidature=candidature, actor=member, **kwargs), member


def _rows(lot) -> dict[str, DepotLotFichier]:
    return {row.name: row for row in lot.fichiers.all()}


def _key(candidature, identifier: str) -> str:
    return next(
        item.key
        for item in depot_services.dossier(candidature).items
        if item.identifier == identifier
    )


def _mixed_batch():
    return [
        upload("INS.01.01.01_saisie-identite.mp4", corpus.mp4_bytes()),
        upload("ssi-07 chiffrement.png", samples.png_bytes()),
        upload("capture du 20 novembre.png", samples.png_bytes()),
        upload("INS.01.02.01 homologation.png", samples.png_bytes()),
        upload("INS.01.pdf", samples.pdf_bytes()),
    ]


def test_a_batch_is_matched_by_name_and_nothing_is_deposited_yet(media_root):
    lot, member = _lot()
    bulk.lot_add_files(lot=lot, uploads=_mixed_batch(), actor=member)
    rows = _rows(lot)
    assert {name: row.match for name, row in rows.items()} == {
        "INS.01.01.01_saisie-identite.mp4": LotMatch.RECONNU,
        "ssi-07 chiffrement.png": LotMatch.RECONNU,
        "capture du 20 novembre.png": LotMatch.NON_RECONNU,
        # A PNG where the REM asks for a PDF justificatif.
        "INS.01.02.01 homologation.png": LotMatch.TYPE_INADAPTE,
        # INS.01 asks for three proofs.
        "INS.01.pdf": LotMatch.AMBIGU,
    }
    assert len(rows["INS.01.pdf"].candidates) == 3
    assert rows["ssi-07 chiffrement.png"].sniffed_mime == "image/png"
    assert rows["INS.01.01.01_saisie-identite.mp4"].proposed == [
        _key(lot.candidature, "INS.01.01.01")
    ]
    assert not Depot.objects.exists() and not Fichier.objects.exists()
    assert len(_stored(media_root, "lots")) == 5
    assert _stored(media_root, "fichiers") == []


def test_confirming_deposits_each_file_through_the_single_upload_path(
    media_root, django_capture_on_commit_callbacks
):
    lot, member = _lot()
    bulk.lot_add_files(lot=lot, uploads=_mixed_batch(), actor=member)
    rows = _rows(lot)
    candidature = lot.candidature
    chosen = {row.pk: row.proposed for row in rows.values()}
    chosen[rows["INS.01.pdf"].pk] = [_key(candidature, "INS.01.02.01")]
    with django_capture_on_commit_callbacks(execute=True):
        depots = bulk.lot_confirm(lot=lot, chosen=chosen, actor=member)
    assert sorted(d.preuve_attendue.identifier if d.preuve_attendue else d.exigence.identifier
                  for d in depots) == ["INS.01.01.01", "INS.01.02.01", "SSI.07"]  # fmt: skip
    # The worker checked them as it checks any upload (eager here, clamd included).
    assert set(Fichier.objects.values_list("status", flat=True)) == {FichierStatus.ACCEPTEE}
    fichier = Fichier.objects.get(original_name="INS.01.pdf")
    assert fichier.allowed_mime_types == ["application/pdf"]
    assert fichier.uploaded_by == member and fichier.editeur == candidature.editeur
    lot.refresh_from_db()
    assert lot.confirmed_at is not None
    assert rows["INS.01.pdf"].sha256 == fichier.sha256
    # The staged copies are gone; the deposited files are where every file is.
    assert _stored(media_root, "lots") == []
    assert len(_stored(media_root, "fichiers")) == 3
    with pytest.raises(ValidationError, match="déjà confirmé"):
        bulk.lot_confirm(lot=lot, chosen=chosen, actor=member)


def test_one_file_answers_several_proofs_stored_once(django_capture_on_commit_callbacks):
    lot, member = _lot()
    bulk.lot_add_files(lot=lot, uploads=[upload("homologation.pdf", samples.pdf_bytes())],
                       actor=member)  # fmt: skip
    candidature = lot.candidature
    row = lot.fichiers.get()
    targets = [_key(candidature, "INS.01.02.01"), _key(candidature, "SSI.07")]
    with django_capture_on_commit_callbacks(execute=True):
        depots = bulk.lot_confirm(lot=lot, chosen={row.pk: targets}, actor=member)
    assert len(depots) == 2 and Fichier.objects.count() == 1
    assert {depot.fichier_id for depot in depots} == {Fichier.objects.get().pk}
    shared = {
        item.identifier: [d.shared_with for d in item.depots]
        for item in depot_services.dossier(candidature).items
        if item.depots
    }
    assert shared == {"INS.01.02.01": [["SSI.07"]], "SSI.07": [["INS.01.02.01"]]}


def test_a_file_mapped_where_it_does_not_fit_is_refused_and_nothing_is_kept(media_root):
    lot, member = _lot()
    bulk.lot_add_files(lot=lot, uploads=_mixed_batch(), actor=member)
    rows = _rows(lot)
    candidature = lot.candidature
    chosen = {row.pk: row.proposed for row in rows.values()}
    png = rows["INS.01.02.01 homologation.png"]
    chosen[png.pk] = [_key(candidature, "INS.01.02.01")]
    with pytest.raises(bulk.LotErrors) as refused:
        bulk.lot_confirm(lot=lot, chosen=chosen, actor=member)
    assert "INS.01.02.01 attend : PDF ; 10 Mo au plus" in refused.value.by_row[png.pk]
    assert set(refused.value.by_row) == {png.pk}
    assert not Depot.objects.exists() and not Fichier.objects.exists()
    assert _stored(media_root, "fichiers") == []
    lot.refresh_from_db()
    assert lot.confirmed_at is None


def test_formats_that_no_file_can_satisfy_together_are_refused():
    lot, member = _lot()
    bulk.lot_add_files(lot=lot, uploads=[upload("x.pdf", samples.pdf_bytes())], actor=member)
    candidature = lot.candidature
    items = {i.identifier: i for i in depot_services.dossier(candidature).items}
    assert bulk.common_rule([items["INS.01.01.01"], items["INS.01.02.01"]]) is None
    rule = bulk.common_rule([items["INS.01.02.01"], items["SSI.07"], items["INS.01.01.02"]])
    assert rule.allowed_mime_types == {"application/pdf"} and rule.max_bytes == 2**20


def test_a_failure_midway_leaves_no_file_behind(media_root, monkeypatch):
    lot, member = _lot()
    bulk.lot_add_files(lot=lot, uploads=_mixed_batch(), actor=member)
    chosen = {row.pk: row.proposed for row in lot.fichiers.all()}
    receive = bulk.fichier_receive
    calls = []

    def second_fails(**kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise ValidationError("Fichier vide : il ne contient aucun octet.")
        return receive(**kwargs)

    monkeypatch.setattr(bulk, "fichier_receive", second_fails)
    with pytest.raises(ValidationError):
        bulk.lot_confirm(lot=lot, chosen=chosen, actor=member)
    assert not Fichier.objects.exists() and not Depot.objects.exists()
    assert _stored(media_root, "fichiers") == []
    # The batch is still there to be confirmed again.
    assert len(_stored(media_root, "lots")) == 5


def test_a_zip_is_read_member_by_member(media_root, django_capture_on_commit_callbacks):
    lot, member = _lot()
    archive = zips.zip_of(
        {
            "preuves/INS.01.01.01/saisie.mp4": corpus.mp4_bytes(),
            "preuves/SSI.07.png": samples.png_bytes(),
            "../../etc/INS.01.02.01.pdf": samples.pdf_bytes(),
            "__MACOSX/preuves/._SSI.07.png": b"x",
            "vide-INS.01.01.02.log": b"",
        }
    )
    bulk.lot_add_files(lot=lot, uploads=[upload("dossier.zip", archive)], actor=member)
    rows = {row.path or row.name: row for row in lot.fichiers.all()}
    assert {path: row.match for path, row in rows.items()} == {
        # Matched by its folder.
        "preuves/INS.01.01.01/saisie.mp4": LotMatch.RECONNU,
        "preuves/SSI.07.png": LotMatch.RECONNU,
        "etc/INS.01.02.01.pdf": LotMatch.RECONNU,
        "vide-INS.01.01.02.log": LotMatch.ILLISIBLE,
    }
    assert rows["vide-INS.01.01.02.log"].problem == "Fichier vide : il ne contient aucun octet."
    # The archive is stored once, as received; nothing is extracted.
    assert len(_stored(media_root, "lots")) == 1
    chosen = {row.pk: row.proposed for row in rows.values()}
    with django_capture_on_commit_callbacks(execute=True):
        bulk.lot_confirm(lot=lot, chosen=chosen, actor=member)
    fichier = Fichier.objects.get(original_name="INS.01.02.01.pdf")
    assert fichier.status == FichierStatus.ACCEPTEE
    with default_storage.open(fichier.storage_name) as stored:
        assert stored.read() == samples.pdf_bytes()
    assert Depot.objects.count() == 3


@pytest.mark.parametrize(
    ("archive", "message"),
    [
        (lambda: zips.deflate_bomb(20 * 2**20), "bombe de décompression"),
        (zips.overlapping, "chevauchent"),
        (lambda: zips.many_members(1001), "plus de 1000 éléments"),
        (lambda: b"PK\x03\x04 pas une archive", "pas une archive ZIP lisible"),
    ],
)
def test_a_hostile_zip_is_refused_whole_and_leaves_nothing(media_root, archive, message):
    lot, member = _lot()
    uploads = [upload("SSI.07.png", samples.png_bytes()), upload("preuves.zip", archive())]
    with pytest.raises(ValidationError, match=message):
        bulk.lot_add_files(lot=lot, uploads=uploads, actor=member)
    assert not lot.fichiers.exists()
    assert _stored(media_root, "lots") == []


def test_a_batch_has_a_cap_on_its_files(monkeypatch, media_root):
    monkeypatch.setattr(bulk, "LOT_MAX_FILES", 3)
    lot, member = _lot()
    bulk.lot_add_files(lot=lot, uploads=_mixed_batch()[:2], actor=member)
    with pytest.raises(ValidationError, match="3 fichiers au plus"):
        bulk.lot_add_files(lot=lot, uploads=_mixed_batch()[2:], actor=member)
    assert lot.fichiers.count() == 2
    assert len(_stored(media_root, "lots")) == 2


def test_a_file_already_deposited_for_that_proof_is_not_proposed_again():
    candidature = eligible_candidature()
    lot, member = _lot(candidature)
    bulk.lot_add_files(lot=lot, uploads=[upload("SSI.07.pdf", samples.pdf_bytes())], actor=member)
    bulk.lot_confirm(lot=lot, chosen={r.pk: r.proposed for r in lot.fichiers.all()}, actor=member)
    again, _ = _lot(candidature)
    bulk.lot_add_files(lot=again, uploads=[upload("SSI.07-bis.pdf", samples.pdf_bytes())],
                       actor=member)  # fmt: skip
    row = again.fichiers.get()
    assert (row.match, row.proposed) == (LotMatch.DEJA_DEPOSE, [])


def test_a_section_batch_proposes_that_section_only():
    lot, member = _lot(section="SSI")
    bulk.lot_add_files(lot=lot, uploads=_mixed_batch(), actor=member)
    matched = {row.name for row in lot.fichiers.all() if row.match == LotMatch.RECONNU}
    assert matched == {"ssi-07 chiffrement.png"}
    with pytest.raises(ValidationError, match="section"):
        bulk.lot_create(candidature=lot.candidature, actor=member, section="NOPE")


def test_batches_are_for_the_company_only():
    candidature = eligible_candidature()
    intruder = UserFactory(mandataire=True)
    with pytest.raises(PermissionDenied):
        bulk.lot_create(candidature=candidature, actor=intruder)
    lot, member = _lot(candidature)
    bulk.lot_add_files(lot=lot, uploads=_mixed_batch(), actor=member)
    chosen = {row.pk: row.proposed for row in lot.fichiers.all()}
    for actor in (intruder, UserFactory(instructeur=True), UserFactory(college=True)):
        with pytest.raises(PermissionDenied):
            bulk.lot_add_files(lot=lot, uploads=_mixed_batch(), actor=actor)
        with pytest.raises(PermissionDenied):
            bulk.lot_confirm(lot=lot, chosen=chosen, actor=actor)
        with pytest.raises(PermissionDenied):
            bulk.lot_discard(lot=lot, actor=actor)
    assert not Depot.objects.exists()


def test_the_deposit_rules_apply_at_j6_and_under_instruction():
    candidature = eligible_candidature()
    member = company_user(candidature.editeur)
    with pytest.raises(ValidationError, match="J6"):
        bulk.lot_create(candidature=candidature, actor=member, now=candidature.campagne.j6)
    # The files were sent the day before J6, and are confirmed at J6.
    j6 = candidature.campagne.j6
    lot = bulk.lot_create(candidature=candidature, actor=member, now=j6 - timedelta(hours=20))
    bulk.lot_add_files(lot=lot, uploads=_mixed_batch(), actor=member, now=j6 - timedelta(hours=20))
    chosen = {row.pk: row.proposed for row in lot.fichiers.all()}
    with pytest.raises(bulk.LotErrors) as refused:
        bulk.lot_confirm(lot=lot, chosen=chosen, actor=member, now=j6)
    assert "J6" in next(iter(refused.value.by_row.values()))
    assert not Depot.objects.exists()


def test_under_instruction_only_the_complement_proofs_take_files(
    django_capture_on_commit_callbacks,
):
    candidature = eligible_candidature()
    member = company_user(candidature.editeur)
    deposit_everything(candidature, member)
    with django_capture_on_commit_callbacks(execute=True):
        depot_services.dossier_submit(candidature=candidature, actor=member)
    candidature.refresh_from_db()
    instructeur = UserFactory(instructeur=True)
    instruction.instruction_take(candidature=candidature, actor=instructeur)
    candidature.refresh_from_db()
    with pytest.raises(ValidationError, match="demande de complément"):
        bulk.lot_create(candidature=candidature, actor=member)
    ssi = candidature.rem_version.exigences.get(identifier="SSI.07")
    instruction.complement_request(candidature=candidature, exigences=[ssi],
                                   text="La capture du chiffrement.", actor=instructeur)  # fmt: skip
    lot = bulk.lot_create(candidature=candidature, actor=member)
    bulk.lot_add_files(lot=lot, uploads=_mixed_batch(), actor=member)
    rows = _rows(lot)
    assert rows["ssi-07 chiffrement.png"].match == LotMatch.RECONNU
    assert rows["INS.01.01.01_saisie-identite.mp4"].match == LotMatch.NON_RECONNU
    forced = {rows["INS.01.01.01_saisie-identite.mp4"].pk: [_key(candidature, "INS.01.01.01")]}
    with pytest.raises(bulk.LotErrors) as refused:
        bulk.lot_confirm(lot=lot, chosen=forced, actor=member)
    assert "demande de complément" in next(iter(refused.value.by_row.values()))
    # After J7 nothing changes, a complément open or not.
    with pytest.raises(ValidationError, match="J7"):
        bulk.lot_create(candidature=candidature, actor=member, now=candidature.campagne.j7)


def test_an_expired_batch_cannot_be_confirmed_and_the_sweep_deletes_it(media_root):
    lot, member = _lot()
    bulk.lot_add_files(lot=lot, uploads=_mixed_batch(), actor=member)
    later = lot.expires_at + timedelta(seconds=1)
    with pytest.raises(ValidationError, match="expiré"):
        bulk.lot_confirm(lot=lot, chosen={}, actor=member, now=later)
    # A crash between an object and its batch leaves a folder with no batch behind.
    orphan = default_storage.save("lots/" + "0" * 32 + "/x", ContentFile(b"x"))
    an_hour_before = (later - timedelta(hours=1)).timestamp()
    os.utime(default_storage.path(orphan), (an_hour_before, an_hour_before))
    assert bulk.lots_sweep(now=later) == 1
    assert not DepotLot.objects.exists() and not DepotLotFichier.objects.exists()
    assert [p.name for p in _stored(media_root, "lots")] == ["x"]  # too young to go
    assert bulk.lots_sweep(now=timezone.now() + timedelta(days=2)) == 0
    assert not default_storage.exists(orphan)


def test_discarding_a_batch_deletes_its_staged_files(
    media_root, django_capture_on_commit_callbacks
):
    lot, member = _lot()
    bulk.lot_add_files(lot=lot, uploads=_mixed_batch(), actor=member)
    with django_capture_on_commit_callbacks(execute=True):
        bulk.lot_discard(lot=lot, actor=member)
    assert not DepotLot.objects.exists()
    assert _stored(media_root, "lots") == []


def test_labels_tell_apart_proofs_that_share_an_identifier():
    from tests.preuves.dossiers import drimbox_candidature

    items = depot_services.dossier(drimbox_candidature()).items
    labels = bulk.item_labels(items)
    shared = sorted(label for label in labels.values() if label.startswith("DMP/UX.15.01.01"))
    assert shared == [
        "DMP/UX.15.01.01 (scénario DMP/UX.15.01)",
        "DMP/UX.15.01.01 (scénario DMP/UX.15.02)",
    ]
    assert (
        bulk.resolve_label(
            "dmp-ux-15-01-01 (scenario dmp-ux-15-02)", items
        ).preuve.scenario.identifier
        == "DMP/UX.15.02"
    )
    assert bulk.resolve_label("DMP/UX.15.01.01", items) is None  # ambiguous
    assert bulk.resolve_label("dmp ux 08 01 01", items).identifier == "DMP/UX.08.01.01"


def test_the_periodic_sweep_runs_the_batch_sweep(settings):
    assert "preuves.bulk.lots_sweep" in settings.SWEEPERS
