"""ZIP archives for the bulk-deposit tests, hostile ones included, built in memory."""

import io
import os
import struct
import zipfile

CENTRAL = b"PK\x01\x02"


def zip_of(members: dict[str, bytes], *, compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def many_members(count: int) -> bytes:
    return zip_of({f"f{n}.txt": b"x" for n in range(count)}, compression=zipfile.ZIP_STORED)


def deflate_bomb(size: int) -> bytes:
    """One member of `size` zero bytes: about a thousandth of that once deflated."""
    return zip_of({"DMP-UX.08_capture.png": bytes(size)})


def incompressible(size: int) -> bytes:
    return zip_of({"SSI-GEN.01.png": os.urandom(size)}, compression=zipfile.ZIP_STORED)


def overlapping() -> bytes:
    """Two entries of the central directory pointing at the same data (the « better zip
    bomb » does this thousands of times)."""
    data = bytearray(zip_of({"a.png": b"A" * 100, "b.png": b"B" * 100}))
    second = data.index(CENTRAL, data.index(CENTRAL) + 4)
    data[second + 42 : second + 46] = struct.pack("<I", 0)
    return bytes(data)


def encrypted(name: str, content: bytes) -> bytes:
    """A stored member flagged as encrypted (zipfile cannot write real encryption)."""
    data = bytearray(zip_of({name: content}, compression=zipfile.ZIP_STORED))
    data[6] |= 0x1  # the local header's flags
    central = data.index(CENTRAL)
    data[central + 8] |= 0x1
    return bytes(data)


def corrupt(name: str, content: bytes) -> bytes:
    """A stored member whose bytes no longer match its CRC."""
    data = bytearray(zip_of({name: content}, compression=zipfile.ZIP_STORED))
    at = data.index(content)
    data[at] ^= 0xFF
    return bytes(data)
