import io

import pytest
from django.core.exceptions import ValidationError

from preuves import zipstream
from preuves.zipstream import MemberFile, display_path, member_chunks, zip_open
from tests.preuves import samples, zips


def _open(data: bytes):
    return zip_open(io.BytesIO(data))


def test_members_are_listed_without_folders_links_and_archiver_litter():
    archive, members = _open(
        zips.zip_of(
            {
                "preuves/": b"",
                "preuves/DMP-UX.08.png": samples.png_bytes(),
                "__MACOSX/preuves/._DMP-UX.08.png": b"x",
                "preuves/.DS_Store": b"x",
                "Thumbs.db": b"x",
                "compte-rendu.pdf": samples.pdf_bytes(),
            }
        )
    )
    assert [(m.path, m.name) for m in members] == [
        ("preuves/DMP-UX.08.png", "DMP-UX.08.png"),
        ("compte-rendu.pdf", "compte-rendu.pdf"),
    ]
    assert b"".join(member_chunks(archive, members[0])) == samples.png_bytes()


@pytest.mark.parametrize(
    ("raw", "path", "name"),
    [
        ("../../etc/cron.d/DMP-UX.08.png", "etc/cron.d/DMP-UX.08.png", "DMP-UX.08.png"),
        ("/root/.ssh/authorized_keys", "root/.ssh/authorized_keys", "authorized_keys"),
        ("C:\\Windows\\System32\\evil.png", "Windows/System32/evil.png", "evil.png"),
        ("a/\x1b[31mrouge\x07.png", "a/[31mrouge.png", "[31mrouge.png"),
        ("facture\u202egnp.exe", "facturegnp.exe", "facturegnp.exe"),
    ],
)
def test_names_are_cleaned_and_never_leave_the_archive(raw, path, name):
    assert display_path(raw) == path
    _archive, members = _open(zips.zip_of({raw: b"contenu"}))
    assert (members[0].path, members[0].name) == (path, name)
    assert members[0].renamed


def test_too_many_members_are_refused_before_reading_them(monkeypatch):
    with pytest.raises(ValidationError, match="plus de 1000 éléments"):
        _open(zips.many_members(zipstream.ZIP_MAX_MEMBERS + 1))


def test_a_deflate_bomb_is_refused_by_its_ratio():
    with pytest.raises(ValidationError, match="grossirait plus de 100 fois"):
        _open(zips.deflate_bomb(20 * 2**20))


def test_the_total_uncompressed_size_is_capped(monkeypatch):
    monkeypatch.setattr(zipstream, "ZIP_MAX_TOTAL_BYTES", 2**20)
    with pytest.raises(ValidationError, match="décompressée, elle occuperait plus de 1 Mo"):
        _open(zips.incompressible(2**20 + 1))


def test_overlapping_entries_are_refused():
    with pytest.raises(ValidationError, match="chevauchent"):
        _open(zips.overlapping())


def test_what_is_not_a_zip_is_refused():
    with pytest.raises(ValidationError, match="pas une archive ZIP lisible"):
        _open(samples.pdf_bytes())
    with pytest.raises(ValidationError, match="pas une archive ZIP lisible"):
        _open(zips.zip_of({"a.png": b"x" * 1000})[:-30])


def test_an_encrypted_or_corrupt_member_fails_alone():
    archive, members = _open(zips.encrypted("DMP-UX.08.png", samples.png_bytes()))
    with pytest.raises(ValidationError, match="chiffré"):
        b"".join(member_chunks(archive, members[0]))
    archive, members = _open(zips.corrupt("DMP-UX.08.png", b"x" * 5000))
    with pytest.raises(ValidationError, match="corrompu"):
        b"".join(member_chunks(archive, members[0]))


def test_a_member_reads_as_a_file_and_rewinds():
    archive, members = _open(zips.zip_of({"a.pdf": samples.pdf_bytes()}))
    member = MemberFile(archive, members[0])
    first = member.read(10)
    assert member.tell() == 10
    assert first + member.read() == samples.pdf_bytes()
    member.seek(0)
    assert member.read() == samples.pdf_bytes()
    with pytest.raises(OSError):
        member.seek(5)


def test_a_nul_character_is_dropped_from_a_shown_path():
    assert display_path("a/b\x00c.png") == "a/bc.png"
