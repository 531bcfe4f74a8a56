"""Small real files, made here so each test states what it feeds libmagic."""

import io
from functools import cache
from pathlib import Path

from PIL import Image
from weasyprint import HTML


@cache
def pdf_bytes() -> bytes:
    return HTML(string="<h1>Compte-rendu de biologie</h1><p>Données fictives.</p>").write_pdf()


def padded_pdf(size: int) -> bytes:
    """A PDF of exactly `size` bytes: trailing bytes after %%EOF are ignored by readers."""
    content = pdf_bytes()
    assert size >= len(content)
    return content + b"\n" * (size - len(content))


@cache
def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (0, 99, 203)).save(buffer, "PNG")
    return buffer.getvalue()


@cache
def jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (225, 0, 15)).save(buffer, "JPEG")
    return buffer.getvalue()


HTML_PAGE = (
    b'<!DOCTYPE html>\n<html lang="fr"><head><title>Capture</title></head>'
    b"<body><script>alert(1)</script></body></html>\n"
)


@cache
def elf_bytes() -> bytes:
    return Path("/bin/true").read_bytes()
