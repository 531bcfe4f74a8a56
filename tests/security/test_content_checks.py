"""Content checks look past the signature: a header alone is not a video or an image."""

import io
import struct

import pytest
from PIL import Image

from candidatures.enums import ProofKind
from preuves import services
from preuves.content import MAX_IMAGE_PIXELS, structure_problem
from preuves.enums import FichierStatus
from tests.preuves import corpus, samples
from tests.preuves.factories import FichierFactory

VIDEO_CAPTURE = services.rule_for_kind(ProofKind.VIDEO_CAPTURE)
JUSTIFICATIF = services.rule_for_kind(ProofKind.JUSTIFICATIF)

FTYP_ONLY = struct.pack(">I4s4sI4s", 24, b"ftyp", b"isom", 0x200, b"isom") + b"isom"


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("1", (width, height)).save(buffer, "PNG")
    return buffer.getvalue()


def _check(content: bytes, rule=VIDEO_CAPTURE):
    fichier = FichierFactory(content=content, allowed_mime_types=sorted(rule.allowed_mime_types))
    return services.fichier_check(fichier_id=fichier.pk)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("mp4 made of its ftyp box alone", FTYP_ONLY[:24], "aucune boîte « moov »"),
        ("mp4 whose movie box is cut", corpus.mp4_bytes()[:60], "taille incohérente"),
        ("mov without its movie", corpus.mov_bytes()[:20], "aucune boîte « moov »"),
        ("avi header alone", corpus.avi_bytes()[:12], "absente"),
        ("flv header alone", corpus.flv_bytes()[:13], "aucune image ni aucun son"),
        ("png cut in its pixels", samples.png_bytes()[:-20], "Image illisible"),
        ("jpeg cut in its pixels", samples.jpeg_bytes()[: len(samples.jpeg_bytes()) // 2],
         "Image illisible"),
    ],
)  # fmt: skip
def test_truncated_containers_are_refused(name, content, reason):
    fichier = _check(content)
    assert fichier.status == FichierStatus.REFUSEE, name
    assert reason in fichier.refusal_reason
    assert fichier.detected_mime in VIDEO_CAPTURE.allowed_mime_types


@pytest.mark.django_db
def test_a_pdf_cut_before_its_end_is_refused():
    fichier = _check(samples.pdf_bytes()[: len(samples.pdf_bytes()) // 2], JUSTIFICATIF)
    assert fichier.status == FichierStatus.REFUSEE
    assert fichier.refusal_reason.startswith("PDF incomplet")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "content",
    [
        corpus.mp4_bytes(),
        corpus.mov_bytes(),
        corpus.avi_bytes(),
        corpus.flv_bytes(),
        samples.png_bytes(),
        samples.jpeg_bytes(),
        corpus.sized(corpus.mp4_bytes(), 3 * 2**20),
    ],
)
def test_whole_files_are_accepted(content):
    assert _check(content).status == FichierStatus.ACCEPTEE


@pytest.mark.django_db
def test_a_padded_pdf_is_accepted():
    assert _check(samples.padded_pdf(2 * 2**20), JUSTIFICATIF).status == FichierStatus.ACCEPTEE


def test_an_image_of_absurd_size_is_refused(tmp_path):
    path = tmp_path / "bombe.png"
    # 8,000 x 8,000 one-bit pixels: a few kilobytes that would decode to 64 million.
    path.write_bytes(_png(8000, 8000))
    assert MAX_IMAGE_PIXELS < 8000 * 8000
    assert structure_problem(str(path), "image/png").startswith("Image trop grande")


def test_a_decompression_bomb_is_refused(tmp_path):
    path = tmp_path / "bombe.png"
    # Past Pillow's own bomb threshold (twice MAX_IMAGE_PIXELS of Pillow): refused too.
    path.write_bytes(_png(14000, 14000))
    problem = structure_problem(str(path), "image/png")
    assert problem.startswith("Image refusée") or problem.startswith("Image trop grande")


def test_other_types_have_no_structure_check(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("texte")
    assert structure_problem(str(path), "text/plain") is None
