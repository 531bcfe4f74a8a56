"""The test corpus: small real files of every format the portal meets, good and bad.

The video containers and the Windows program are written here header by header, as
libmagic 5.44 reads them (there is no ffmpeg on the machines); `tests/data/` holds the
same bytes as files, to open by hand or to upload from a browser test, and
`test_corpus_data_files_are_the_built_ones` keeps both equal. Images and PDFs come
from Pillow and WeasyPrint (`samples`); the Linux program is the system's /bin/true.

`sized` and `write_sized` pad a container to an exact byte count without changing
what libmagic reads in it, e.g. a 50 Mo video (1 Mo = 2^20 bytes) for a limit test.
"""

import io
import struct
import zipfile
from functools import cache
from pathlib import Path
from typing import BinaryIO

from tests.preuves import samples

DATA_DIR = Path(__file__).resolve().parent.parent / "data"

elf_bytes = samples.elf_bytes
jpeg_bytes = samples.jpeg_bytes
pdf_bytes = samples.pdf_bytes
png_bytes = samples.png_bytes


# ISO base media (MP4, MOV): a file is a list of boxes, each a 32-bit big-endian size
# (header included), a four-letter type, then its payload.


def _box(kind: bytes, payload: bytes = b"") -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _movie_header() -> bytes:
    unity_matrix = struct.pack(">9i", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    return _box(
        b"mvhd",
        # version 0 and flags, creation and modification times, timescale (1/1000 s),
        # duration, rate 1.0, volume 1.0, reserved, matrix, pre-defined, next track id.
        struct.pack(">IIIIIiH10x", 0, 0, 0, 1000, 0, 0x10000, 0x100)
        + unity_matrix
        + bytes(24)
        + struct.pack(">I", 1),
    )


def _iso_media(major_brand: bytes, compatible_brands: list[bytes]) -> bytes:
    file_type = _box(b"ftyp", major_brand + struct.pack(">I", 0x200) + b"".join(compatible_brands))
    # The media data comes last, so that `sized` can grow it.
    return file_type + _box(b"moov", _movie_header()) + _box(b"mdat", bytes(16))


@cache
def mp4_bytes() -> bytes:
    """video/mp4: an ISO base media file of brand isom."""
    return _iso_media(b"isom", [b"isom", b"iso2", b"avc1", b"mp41"])


@cache
def mov_bytes() -> bytes:
    """video/quicktime: an ISO base media file of brand "qt  "."""
    return _iso_media(b"qt  ", [b"qt  "])


# RIFF (AVI): chunks of a four-letter id, a 32-bit little-endian size (header excluded),
# the data, and one pad byte after odd-sized data.


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack("<4sI", kind, len(data)) + data + b"\0" * (len(data) % 2)


def _list(kind: bytes, *chunks: bytes) -> bytes:
    return _chunk(b"LIST", kind + b"".join(chunks))


@cache
def avi_bytes() -> bytes:
    """video/x-msvideo: an AVI main header (16 x 16, 25 fps, no frame) and an empty movi."""
    main_header = struct.pack(
        "<14I",
        40_000,  # microseconds per frame
        0,  # max bytes per second
        0,  # padding granularity
        0x10,  # flags: AVIF_HASINDEX
        0,  # total frames
        0,  # initial frames
        1,  # streams
        0,  # suggested buffer size
        16,  # width
        16,  # height
        0,
        0,
        0,
        0,
    )
    riff_data = b"AVI " + _list(b"hdrl", _chunk(b"avih", main_header)) + _list(b"movi")
    return _chunk(b"RIFF", riff_data)


@cache
def flv_bytes() -> bytes:
    """video/x-flv: an FLV header (version 1, audio and video) and one video tag."""
    header = b"FLV" + struct.pack(">BBI", 1, 0x05, 9) + struct.pack(">I", 0)
    # One video tag: a key frame of AVC, its sequence header (5 bytes of data).
    data = b"\x17\x00\x00\x00\x00"
    tag = struct.pack(">B", 9) + len(data).to_bytes(3, "big") + bytes(4) + bytes(3) + data
    return header + tag + struct.pack(">I", len(tag))


@cache
def pe_bytes() -> bytes:
    """A Windows program (PE32, i386, console) with no section: it cannot run, but
    libmagic reads the same headers as in a real one."""
    pe_offset = 0x80
    dos_header = bytearray(0x40)
    dos_header[0:2] = b"MZ"
    struct.pack_into("<H", dos_header, 0x18, 0x40)  # e_lfarlc: a "new" executable
    struct.pack_into("<I", dos_header, 0x3C, pe_offset)  # e_lfanew
    dos_stub = b"This program cannot be run in DOS mode.\r\r\n$"
    head = bytes(dos_header) + dos_stub
    head += bytes(pe_offset - len(head))
    optional_header = bytearray(0xE0)
    struct.pack_into("<H", optional_header, 0, 0x10B)  # PE32
    struct.pack_into("<I", optional_header, 28, 0x400000)  # image base
    struct.pack_into("<II", optional_header, 32, 0x1000, 0x200)  # section, file alignment
    struct.pack_into("<H", optional_header, 48, 4)  # major subsystem version
    struct.pack_into("<H", optional_header, 68, 3)  # subsystem: Windows console
    struct.pack_into("<I", optional_header, 92, 16)  # number of data directories
    file_header = struct.pack(
        "<HHIIIHH",
        0x14C,  # machine: i386
        0,  # sections
        0,  # time stamp
        0,  # symbol table
        0,  # symbols
        len(optional_header),
        0x0102,  # executable image, 32-bit machine
    )
    return head + b"PE\0\0" + file_header + bytes(optional_header)


@cache
def zip_bytes() -> bytes:
    """application/zip, with a fixed date so that the bytes never change."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        entry = zipfile.ZipInfo("rapport.txt", date_time=(2026, 1, 5, 9, 0, 0))
        archive.writestr(entry, "Rapport d’exécution fictif.\n")
    return buffer.getvalue()


def html_bytes() -> bytes:
    return samples.HTML_PAGE


def png_with_html_bytes() -> bytes:
    """A PNG with an HTML page after its end: libmagic reads the PNG signature and calls
    it image/png, a browser that sniffed it might render the page."""
    return png_bytes() + samples.HTML_PAGE


# The committed copies, by file name.
DATA_FILES = {
    "video.mp4": mp4_bytes,
    "video.mov": mov_bytes,
    "video.avi": avi_bytes,
    "video.flv": flv_bytes,
    "programme-windows.exe": pe_bytes,
    "archive.zip": zip_bytes,
    "page.html": html_bytes,
}


def data_file(name: str) -> Path:
    return DATA_DIR / name


def write_data_files(folder: Path = DATA_DIR) -> None:
    """Write the committed copies again, after a change of a builder above."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, build in DATA_FILES.items():
        (folder / name).write_bytes(build())


# Padding to an exact size


def _iso_media_boxes(content: bytes) -> list[tuple[int, int, bytes]]:
    """(offset, size, type) of the top-level boxes; ValueError if they do not tile."""
    boxes = []
    offset = 0
    while offset < len(content):
        if len(content) - offset < 8:
            raise ValueError("boîte ISO tronquée")
        size, kind = struct.unpack_from(">I4s", content, offset)
        if size < 8:
            # 0 (to the end) and 1 (64-bit size) are not written by this corpus.
            raise ValueError(f"taille de boîte non gérée : {size}")
        boxes.append((offset, size, kind))
        offset += size
    if offset != len(content):
        raise ValueError("boîtes ISO incohérentes")
    return boxes


def _padding_plan(content: bytes, size: int) -> tuple[bytes, int, bytes]:
    """What to write for `content` to take exactly `size` bytes: a head (the content,
    its size fields updated), then a count of one filler byte."""
    padding = size - len(content)
    if padding < 0:
        raise ValueError(f"{size} octets : moins que le contenu ({len(content)} octets)")
    if padding == 0:
        return content, 0, b"\0"
    if content.startswith(b"%PDF-"):
        # Readers ignore what follows the last %%EOF.
        return content, padding, b"\n"
    if content[4:8] == b"ftyp":
        offset, box_size, kind = _iso_media_boxes(content)[-1]
        if kind in {b"mdat", b"free", b"skip"} and box_size + padding < 2**32:
            # The last box grows: the file stays a well-formed list of boxes.
            head = bytearray(content)
            struct.pack_into(">I", head, offset, box_size + padding)
            return bytes(head), padding, b"\0"
        if padding < 8:
            raise ValueError("il faut au moins 8 octets pour une boîte free")
        return content + struct.pack(">I4s", padding, b"free"), padding - 8, b"\0"
    if content[:4] == b"RIFF" and content[8:12] == b"AVI ":
        # A JUNK chunk, which readers skip. RIFF chunks keep even sizes.
        if padding < 8 or padding % 2:
            raise ValueError("un bloc JUNK prend un nombre pair d’octets, 8 au moins")
        head = bytearray(content)
        struct.pack_into("<I", head, 4, len(content) - 8 + padding)
        return bytes(head) + struct.pack("<4sI", b"JUNK", padding - 8), padding - 8, b"\0"
    raise ValueError("format sans remplissage sûr : seuls PDF, MP4, MOV et AVI le permettent")


def sized(content: bytes, size: int) -> bytes:
    """`content` (a PDF, MP4, MOV or AVI) padded to exactly `size` bytes, of the same
    type for libmagic. ValueError for another format or a padding it cannot take."""
    head, count, filler = _padding_plan(content, size)
    return head + filler * count


def write_sized(target: BinaryIO, content: bytes, size: int) -> None:
    """Write `sized(content, size)` to a binary file without building it in memory."""
    head, count, filler = _padding_plan(content, size)
    target.write(head)
    block = filler * (1024 * 1024)
    while count:
        written = target.write(block[:count])
        count -= written
