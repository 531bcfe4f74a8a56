"""Hostile uploads through the file path (reception, then the worker's check with the
real clamd): each sample has its expected verdict. The same corpus through every upload
form, over HTTP: tests/security/test_hostile_forms.py."""

import io
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from candidatures.enums import ProofKind
from candidatures.proof_kinds import MO
from preuves import services
from preuves.enums import FichierStatus
from tests.clamav import EICAR
from tests.factories import UserFactory
from tests.preuves import corpus

pytestmark = pytest.mark.django_db

VIDEO = services.rule_for_kind(ProofKind.VIDEO_CAPTURE)
ANY_FORMAT = services.rule_for_kind(ProofKind.FICHIER)


def _zip_of(name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, content)
    return buffer.getvalue()


def _check(captured, name, content, rule):
    user = UserFactory(salarie=True)
    with captured(execute=True):
        fichier = services.fichier_receive(
            upload=SimpleUploadedFile(name, content), rule=rule, editeur=user.editeur, actor=user
        )
    fichier.refresh_from_db()
    return fichier


@pytest.mark.parametrize(
    ("name", "content", "rule", "status"),
    [
        ("eicar.com", EICAR, ANY_FORMAT, FichierStatus.INFECTEE),
        ("capture.png", EICAR, VIDEO, FichierStatus.INFECTEE),
        ("logs.zip", _zip_of("logs/eicar.txt", EICAR), ANY_FORMAT, FichierStatus.INFECTEE),
        ("capture.png", corpus.pe_bytes(), VIDEO, FichierStatus.REFUSEE),
        ("capture.png", corpus.html_bytes(), VIDEO, FichierStatus.REFUSEE),
        ("capture.png", corpus.png_with_html_bytes(), VIDEO, FichierStatus.ACCEPTEE),
        ("video.mp4", corpus.mp4_bytes()[:24], VIDEO, FichierStatus.REFUSEE),
        ("../../etc/passwd\r\n.png", corpus.png_bytes(), VIDEO, FichierStatus.ACCEPTEE),
        ("logs.zip", _zip_of("zeros.bin", bytes(10 * MO)), ANY_FORMAT, FichierStatus.ACCEPTEE),
    ],
)
def test_hostile_sample_gets_its_verdict(
    django_capture_on_commit_callbacks, name, content, rule, status
):
    fichier = _check(django_capture_on_commit_callbacks, name, content, rule)
    assert fichier.status == status
    assert "/" not in fichier.original_name
    assert "\r" not in fichier.original_name


def test_empty_and_limit_plus_one_are_refused_at_reception():
    user = UserFactory(salarie=True)
    for content in (b"", bytes(ANY_FORMAT.max_bytes + 1)):
        with pytest.raises(ValidationError):
            services.fichier_receive(
                upload=SimpleUploadedFile("x.log", content),
                rule=ANY_FORMAT,
                editeur=user.editeur,
                actor=user,
            )


def test_a_file_at_the_limit_is_accepted(django_capture_on_commit_callbacks):
    content = b"a" * ANY_FORMAT.max_bytes
    fichier = _check(django_capture_on_commit_callbacks, "x.log", content, ANY_FORMAT)
    assert fichier.status == FichierStatus.ACCEPTEE
