"""Checks that look past a file's signature: a container must hold what it announces.

libmagic names a type from the first bytes; a 24-byte `ftyp` box alone is "video/mp4"
to it. Each check here reads the structure the type promises (a movie box, the
chunks of an AVI, an FLV tag, an image that decodes at its declared size, a PDF's
end-of-file marker), streaming from a local path, and returns a French reason to
refuse the file, or None.
"""

import os
import struct
import warnings

from PIL import Image, UnidentifiedImageError

# An image larger than this many pixels is refused: decoding it would cost more memory
# than any screenshot needs (an 8K capture is 33 million).
MAX_IMAGE_PIXELS = 40_000_000
# How far from the (trimmed) end a PDF's %%EOF may sit.
PDF_EOF_WINDOW = 2048
# Boxes of an ISO media file read before giving up on finding the movie box.
MAX_ISO_BOXES = 10_000

TRUNCATED_VIDEO = (
    "Vidéo illisible : le fichier n’a que l’en-tête d’une vidéo, sans les données du "
    "film ({detail}). Exportez la vidéo de nouveau et déposez le fichier complet."
)


def _iso_media_problem(path: str) -> str | None:
    """MP4 / MOV: a list of boxes covering the file, one of them the movie (moov, or
    moof for a fragmented file)."""
    size = os.path.getsize(path)
    offset = 0
    kinds = set()
    with open(path, "rb") as stream:
        for _ in range(MAX_ISO_BOXES):
            if offset >= size:
                break
            stream.seek(offset)
            header = stream.read(8)
            if len(header) < 8:
                return TRUNCATED_VIDEO.format(detail="boîte tronquée")
            box_size, kind = struct.unpack(">I4s", header)
            if box_size == 1:
                large = stream.read(8)
                if len(large) < 8:
                    return TRUNCATED_VIDEO.format(detail="boîte tronquée")
                box_size = struct.unpack(">Q", large)[0]
            elif box_size == 0:
                box_size = size - offset
            if box_size < 8 or offset + box_size > size:
                return TRUNCATED_VIDEO.format(detail="boîte de taille incohérente")
            kinds.add(kind)
            offset += box_size
    if not kinds & {b"moov", b"moof"}:
        return TRUNCATED_VIDEO.format(detail="aucune boîte « moov »")
    return None


def _avi_problem(path: str) -> str | None:
    """AVI: a RIFF file whose chunks include the header list and the movie list."""
    size = os.path.getsize(path)
    lists = set()
    with open(path, "rb") as stream:
        head = stream.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"AVI ":
            return TRUNCATED_VIDEO.format(detail="en-tête RIFF incomplet")
        offset = 12
        while offset + 8 <= size and len(lists) < 2:
            stream.seek(offset)
            chunk_id, chunk_size = struct.unpack("<4sI", stream.read(8))
            if chunk_id == b"LIST":
                lists.add(stream.read(4))
            offset += 8 + chunk_size + (chunk_size & 1)
    missing = {b"hdrl", b"movi"} - lists
    if missing:
        names = " et ".join(f"« {m.decode()} »" for m in sorted(missing))
        return TRUNCATED_VIDEO.format(detail=f"liste {names} absente")
    return None


def _flv_problem(path: str) -> str | None:
    """FLV: the 9-byte header, then at least one audio, video or script tag that fits."""
    size = os.path.getsize(path)
    with open(path, "rb") as stream:
        header = stream.read(9)
        if len(header) < 9 or header[:3] != b"FLV":
            return TRUNCATED_VIDEO.format(detail="en-tête FLV incomplet")
        data_offset = struct.unpack(">I", header[5:9])[0]
        stream.seek(data_offset + 4)
        tag = stream.read(11)
        if len(tag) < 11 or tag[0] & 0x1F not in (8, 9, 18):
            return TRUNCATED_VIDEO.format(detail="aucune image ni aucun son")
        data_size = int.from_bytes(tag[1:4], "big")
        if data_offset + 4 + 11 + data_size > size:
            return TRUNCATED_VIDEO.format(detail="première trame tronquée")
    return None


def _image_problem(path: str) -> str | None:
    """PNG / JPEG: opens, declares a sane size, and decodes to its last pixel."""
    unreadable = (
        "Image illisible : le fichier est tronqué ou abîmé ({detail}). Enregistrez la "
        "capture de nouveau et déposez-la."
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    return (
                        f"Image trop grande : {width} × {height} pixels ; une capture d’écran "
                        f"en compte {MAX_IMAGE_PIXELS:,} au plus.".replace(",", "\u202f")
                    )
                image.verify()
            # verify() leaves the pixels alone; a cut image fails to decode them
            # (ImageFile.LOAD_TRUNCATED_IMAGES stays at its default, False).
            with Image.open(path) as image:
                image.load()
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        return "Image refusée : sa taille déclarée est démesurée (bombe de décompression)."
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        return unreadable.format(detail=str(error)[:120] or type(error).__name__)
    return None


def _pdf_problem(path: str) -> str | None:
    """PDF: an end-of-file marker near the end (trailing blank bytes ignored, as
    readers do); a PDF cut during its upload or its export has none."""
    size = os.path.getsize(path)
    with open(path, "rb") as stream:
        end = size
        block = 64 * 1024
        # Skip the blank bytes after %%EOF (a padded or re-saved PDF may have many).
        while end > 0:
            start = max(0, end - block)
            stream.seek(start)
            chunk = stream.read(end - start).rstrip(b" \t\r\n\0\x0c")
            if chunk:
                end = start + len(chunk)
                break
            end = start
        stream.seek(max(0, end - PDF_EOF_WINDOW))
        tail = stream.read(min(end, PDF_EOF_WINDOW))
    if b"%%EOF" not in tail:
        return (
            "PDF incomplet : la fin du document (%%EOF) manque, le fichier a sans doute été "
            "coupé. Exportez-le de nouveau et déposez le fichier complet."
        )
    return None


CHECKS = {
    "video/mp4": _iso_media_problem,
    "video/quicktime": _iso_media_problem,
    "video/x-msvideo": _avi_problem,
    "video/x-flv": _flv_problem,
    "image/png": _image_problem,
    "image/jpeg": _image_problem,
    "application/pdf": _pdf_problem,
}


def structure_problem(path: str, mime: str) -> str | None:
    """Why a file of type `mime` (as libmagic read it) is not what it claims, or None."""
    check = CHECKS.get(mime)
    return check(path) if check else None
