"""Helpers for files received from users: names kept as cleaned metadata, hashes."""

import hashlib
import unicodedata

MAX_NAME_LENGTH = 255
CHUNK_SIZE = 1024 * 1024
# Characters that reorder text on screen and can disguise an extension ("fdp.exe" shown
# as "exe.pdf"): the Unicode bidirectional controls.
BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def clean_filename(name: str, default: str = "fichier") -> str:
    """The user's file name, safe to show and to put in a download header.

    Keeps only the last path component, removes control and bidirectional characters,
    never lets ".." or a leading dot through, and keeps the extension when shortening.
    """
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(
        char for char in name if char not in BIDI_CONTROLS and unicodedata.category(char)[0] != "C"
    )
    while ".." in name:
        name = name.replace("..", ".")
    name = name.strip().lstrip(".").strip()
    if not name:
        return default
    if len(name) > MAX_NAME_LENGTH:
        stem, dot, suffix = name.rpartition(".")
        if dot and 0 < len(suffix) <= 16:
            name = stem[: MAX_NAME_LENGTH - len(suffix) - 1] + "." + suffix
        else:
            name = name[:MAX_NAME_LENGTH]
    return name


def sha256_of(file) -> str:
    """SHA-256 of a file object read in chunks from its start; leaves it rewound."""
    digest = hashlib.sha256()
    file.seek(0)
    for chunk in iter(lambda: file.read(CHUNK_SIZE), b""):
        digest.update(chunk)
    file.seek(0)
    return digest.hexdigest()
