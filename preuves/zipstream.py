"""A ZIP archive received from a user, read without trusting it.

Nothing is ever extracted to disk: the central directory is checked before anything is
decompressed, then each member is read as a stream, one at a time, and never beyond the
size its entry declares (zipfile stops there, then checks the CRC). Refused before a byte
is decompressed:

- more than ZIP_MAX_MEMBERS entries, or a central directory larger than ZIP_MAX_DIRECTORY
  (read from the end record, before zipfile builds an object per entry);
- more than ZIP_MAX_TOTAL_BYTES once decompressed, in all;
- a member that would grow more than ZIP_MAX_RATIO times (a zip bomb), or entries whose
  data overlap (the "better zip bomb" reuses one deflate stream under many names);
- anything zipfile cannot read as a ZIP.

Names are only shown, never used as paths (files are stored under a UUID): they are
cleaned of control and bidirectional characters, `..`, drive letters and leading
slashes. Folders, links and the litter of archivers (`__MACOSX/`, `.DS_Store`,
`Thumbs.db`) are skipped.
"""

import stat
import struct
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

from django.core.exceptions import ValidationError

from candidatures.proof_kinds import MO
from segur_portal.files import BIDI_CONTROLS, CHUNK_SIZE, clean_filename

ZIP_MAX_MEMBERS = 1000
ZIP_MAX_DIRECTORY = 4 * MO
ZIP_MAX_TOTAL_BYTES = 1024 * MO
ZIP_MAX_RATIO = 100
# A small member may compress far better than that (a text of spaces): harmless.
RATIO_FROM_BYTES = 1 * MO
LITTER = {"thumbs.db", "desktop.ini"}

_END = b"PK\x05\x06"
_END_SIZE = 22
_END64_LOCATOR = b"PK\x06\x07"
_END64 = b"PK\x06\x06"
_LOCAL_HEADER_SIZE = 30


def _refuse(message: str) -> ValidationError:
    return ValidationError(f"Archive ZIP refusée : {message} Rien n’a été enregistré.", code="zip")


def _declared(fileobj) -> tuple[int, int]:
    """Entries and central-directory size, read from the end records."""
    fileobj.seek(0, 2)
    size = fileobj.tell()
    tail_size = min(size, _END_SIZE + 0xFFFF)
    fileobj.seek(size - tail_size)
    tail = fileobj.read(tail_size)
    at = tail.rfind(_END)
    if at < 0 or len(tail) - at < _END_SIZE:
        raise _refuse("ce fichier n’est pas une archive ZIP lisible.")
    entries, directory = struct.unpack("<HI", tail[at + 10 : at + 16])
    locator = tail[at - 20 : at] if at >= 20 else b""
    if locator[:4] == _END64_LOCATOR:
        (offset,) = struct.unpack("<Q", locator[8:16])
        fileobj.seek(offset)
        record = fileobj.read(56)
        if record[:4] != _END64:
            raise _refuse("ce fichier n’est pas une archive ZIP lisible.")
        entries, directory = struct.unpack("<QQ", record[32:48])
    return entries, directory


def display_path(raw: str) -> str:
    """The member's path as shown: no control character, no `..`, no root."""
    text = unicodedata.normalize("NFC", raw).replace("\\", "/")
    text = "".join(
        char for char in text if char not in BIDI_CONTROLS and unicodedata.category(char)[0] != "C"
    )
    parts = [part.strip() for part in text.split("/")]
    parts = [part for part in parts if part not in {"", ".", ".."} and not part.endswith(":")]
    return "/".join(parts)[:500]


@dataclass(frozen=True)
class Member:
    index: int
    # As stored in the archive (to read it again), as shown, and its cleaned base name.
    raw_name: str
    path: str
    name: str
    size: int

    @property
    def renamed(self) -> bool:
        return self.raw_name != self.path


def _skipped(info: zipfile.ZipInfo) -> bool:
    if info.is_dir() or stat.S_ISLNK(info.external_attr >> 16):
        return True
    path = display_path(info.filename)
    base = path.rsplit("/", 1)[-1]
    return path.startswith("__MACOSX/") or base.startswith(".") or base.lower() in LITTER


def zip_open(fileobj) -> tuple[zipfile.ZipFile, list[Member]]:
    """The archive and the members to read, or ValidationError (in French) for an
    archive refused whole. Encrypted members stay in the list: reading one fails with
    its own message (`member_chunks`)."""
    entries, directory = _declared(fileobj)
    if entries > ZIP_MAX_MEMBERS or directory > ZIP_MAX_DIRECTORY:
        raise _refuse(f"elle contient plus de {ZIP_MAX_MEMBERS} éléments.")
    fileobj.seek(0, 2)
    archive_size = fileobj.tell()
    fileobj.seek(0)
    try:
        archive = zipfile.ZipFile(fileobj)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise _refuse("ce fichier n’est pas une archive ZIP lisible.") from error
    infos = archive.infolist()
    if len(infos) > ZIP_MAX_MEMBERS:
        raise _refuse(f"elle contient plus de {ZIP_MAX_MEMBERS} éléments.")
    total = sum(info.file_size for info in infos)
    if total > ZIP_MAX_TOTAL_BYTES:
        raise _refuse(f"décompressée, elle occuperait plus de {ZIP_MAX_TOTAL_BYTES // MO} Mo.")
    for info in infos:
        if info.file_size > RATIO_FROM_BYTES and (
            info.file_size > ZIP_MAX_RATIO * max(info.compress_size, 1)
        ):
            raise _refuse(
                f"« {display_path(info.filename)} » grossirait plus de {ZIP_MAX_RATIO} fois à "
                "la décompression (bombe de décompression)."
            )
    ordered = sorted(infos, key=lambda info: info.header_offset)
    for current, following in zip(ordered, ordered[1:], strict=False):
        end = current.header_offset + _LOCAL_HEADER_SIZE + current.compress_size
        if end > following.header_offset:
            raise _refuse("des éléments s’y chevauchent (bombe de décompression).")
    if ordered and ordered[-1].header_offset + ordered[-1].compress_size > archive_size:
        raise _refuse("elle est tronquée.")
    members = [
        Member(
            index=index,
            raw_name=info.filename,
            path=display_path(info.filename),
            name=clean_filename(display_path(info.filename)),
            size=info.file_size,
        )
        for index, info in enumerate(infos)
        if not _skipped(info)
    ]
    return archive, members


def member_chunks(archive: zipfile.ZipFile, member: Member) -> Iterator[bytes]:
    """The member's bytes, decompressed as they are read. ValidationError (in French)
    for an encrypted member, an unknown compression method or a corrupt one."""
    info = archive.infolist()[member.index]
    if info.filename != member.raw_name:
        raise ValidationError("L’archive a changé depuis son envoi.", code="zip")
    if info.flag_bits & 0x1:
        raise ValidationError(
            f"« {member.name} » est chiffré dans l’archive : il ne peut pas être lu.", code="zip"
        )
    read = 0
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(CHUNK_SIZE):
                read += len(chunk)
                # zipfile stops at the declared size; this keeps that promise explicit.
                if read > info.file_size:
                    raise ValidationError(f"« {member.name} » est corrompu.", code="zip")
                yield chunk
    except NotImplementedError as error:
        raise ValidationError(
            f"« {member.name} » est compressé d’une façon que le portail ne lit pas : "
            "recréez l’archive avec la compression ZIP standard (Deflate).",
            code="zip",
        ) from error
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        raise ValidationError(
            f"« {member.name} » est corrompu dans l’archive : il ne peut pas être lu.", code="zip"
        ) from error


class MemberFile:
    """A member as a file object for `fichier_receive`: read as a stream, rewound by
    reading it again from the archive (django.core.files.File calls seek(0))."""

    def __init__(self, archive: zipfile.ZipFile, member: Member):
        self._archive = archive
        self._member = member
        self._chunks = None
        self._pending = b""
        self._position = 0
        self.name = member.name
        self.size = member.size

    def seek(self, offset: int, whence: int = 0) -> int:
        if offset != 0 or whence != 0:
            raise OSError("un élément d’archive ne se relit que depuis son début")
        self._chunks = None
        self._pending = b""
        self._position = 0
        return 0

    def tell(self) -> int:
        return self._position

    def read(self, size: int = -1) -> bytes:
        if self._chunks is None:
            self._chunks = member_chunks(self._archive, self._member)
        data = self._pending
        while size < 0 or len(data) < size:
            chunk = next(self._chunks, b"")
            if not chunk:
                break
            data += chunk
        if size >= 0:
            data, self._pending = data[:size], data[size:]
        else:
            self._pending = b""
        self._position += len(data)
        return data
