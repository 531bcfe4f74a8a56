"""The corpus through the real file path: reception, check by libmagic, download.

Each kind of proof accepts its formats and refuses the rest with a reason in French
that names the type read in the content and the accepted ones; sizes are checked to
the byte (1 Mo = 2^20 bytes); hostile names never reach the storage nor a header.
"""

import hashlib
import io
import re

import magic
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from django.urls import reverse

from candidatures.enums import ProofKind
from candidatures.proof_kinds import MO
from preuves import services
from preuves.enums import FichierStatus
from preuves.models import Fichier, storage_name_for
from segur_portal.files import BIDI_CONTROLS
from tests.factories import UserFactory
from tests.preuves import corpus

ELF_TYPES = {"application/x-pie-executable", "application/x-executable", "application/x-sharedlib"}
VIDEO_FORMATS = (
    "image/png (PNG), image/jpeg (JPEG), video/mp4 (MP4), video/quicktime (MOV), "
    "video/x-msvideo (AVI), video/x-flv (FLV)"
)
PDF_FORMATS = "application/pdf (PDF)"
STORAGE_NAME = re.compile(r"fichiers/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{32}")


def _refusal(detected: str, accepted: str) -> str:
    return (
        f"Format refusé : le contenu du fichier est de type {detected} ; formats acceptés : "
        f"{accepted}. Le format est lu dans le contenu du fichier, pas dans son nom."
    )


def _receive(kind, name, upload_or_content, user=None):
    user = user or UserFactory(salarie=True)
    upload = upload_or_content
    if isinstance(upload, bytes):
        # The browser's type is a lie on purpose: only the content may decide.
        upload = SimpleUploadedFile(name, upload, content_type="image/png")
    return services.fichier_receive(
        upload=upload, rule=services.rule_for_kind(kind), editeur=user.editeur, actor=user
    )


def _receive_and_check(capture, kind, name, upload_or_content, user=None):
    # The on_commit hook sends the check, which runs in-process in these tests.
    with capture(execute=True):
        fichier = _receive(kind, name, upload_or_content, user)
    fichier.refresh_from_db()
    return fichier


def _upload_on_disk(settings, tmp_path, name, content, size):
    """The upload Django makes of a large file: a temporary file, here in tmp_path."""
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    upload = TemporaryUploadedFile(name, "application/octet-stream", size, None)
    corpus.write_sized(upload, content, size)
    upload.seek(0)
    return upload


def _stored_files(media_root):
    return [path for path in media_root.rglob("*") if path.is_file()] if media_root.exists() else []


def _download(client, fichier):
    response = client.get(reverse("preuves:download", args=[fichier.pk]))
    # The test client closes the response, and the stored file, once consumed.
    return response, b"".join(response.streaming_content)


# The corpus itself


@pytest.mark.parametrize(
    ("build", "detected"),
    [
        (corpus.png_bytes, {"image/png"}),
        (corpus.jpeg_bytes, {"image/jpeg"}),
        (corpus.pdf_bytes, {"application/pdf"}),
        (corpus.mp4_bytes, {"video/mp4"}),
        (corpus.mov_bytes, {"video/quicktime"}),
        (corpus.avi_bytes, {"video/x-msvideo"}),
        (corpus.flv_bytes, {"video/x-flv"}),
        (corpus.elf_bytes, ELF_TYPES),
        (corpus.pe_bytes, {"application/vnd.microsoft.portable-executable"}),
        (corpus.zip_bytes, {"application/zip"}),
        (corpus.html_bytes, {"text/html"}),
        (corpus.png_with_html_bytes, {"image/png"}),
    ],
    ids=lambda value: getattr(value, "__name__", ""),
)
def test_corpus_file_has_its_libmagic_type(build, detected):
    content = build()
    assert 0 < len(content) <= 64 * 1024
    assert magic.from_buffer(content, mime=True) in detected


@pytest.mark.parametrize("name", sorted(corpus.DATA_FILES))
def test_corpus_data_files_are_the_built_ones(name):
    assert corpus.data_file(name).read_bytes() == corpus.DATA_FILES[name]()


@pytest.mark.parametrize(
    ("build", "detected", "extra"),
    [
        (build, detected, extra)
        for build, detected in [
            (corpus.mp4_bytes, "video/mp4"),
            (corpus.mov_bytes, "video/quicktime"),
            (corpus.pdf_bytes, "application/pdf"),
        ]
        for extra in [0, 1, 7, 8, 9, 4096, MO]
    ]
    + [(corpus.avi_bytes, "video/x-msvideo", extra) for extra in [0, 8, 10, 4096, MO]],
    ids=lambda value: getattr(value, "__name__", str(value)),
)
def test_sized_pads_to_the_exact_size_and_keeps_the_type(build, detected, extra):
    size = len(build()) + extra
    content = corpus.sized(build(), size)
    assert len(content) == size
    assert content.startswith(build()[:4])
    assert magic.from_buffer(content, mime=True) == detected


@pytest.mark.parametrize(
    ("build", "size"),
    [
        (corpus.mp4_bytes, 100),
        (corpus.pdf_bytes, 10),
        (corpus.avi_bytes, len(corpus.avi_bytes()) + 7),
        (corpus.avi_bytes, len(corpus.avi_bytes()) + 9),
        (corpus.flv_bytes, MO),
        (corpus.png_bytes, MO),
        (corpus.zip_bytes, MO),
    ],
    ids=["smaller-than-content", "pdf-smaller", "avi-7", "avi-odd", "flv", "png", "zip"],
)
def test_sized_refuses_a_padding_that_would_change_the_file(build, size):
    with pytest.raises(ValueError):
        corpus.sized(build(), size)


@pytest.mark.parametrize("build", [corpus.mp4_bytes, corpus.pdf_bytes], ids=["mp4", "pdf"])
def test_write_sized_writes_the_same_bytes_as_sized(build):
    target = io.BytesIO()
    corpus.write_sized(target, build(), 3 * MO + 5)
    assert target.getvalue() == corpus.sized(build(), 3 * MO + 5)


# Accepted: the content is one of the kind's formats


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "name", "build", "detected"),
    [
        (ProofKind.VIDEO_CAPTURE, "capture.png", corpus.png_bytes, {"image/png"}),
        (ProofKind.VIDEO_CAPTURE, "photo.jpg", corpus.jpeg_bytes, {"image/jpeg"}),
        (ProofKind.VIDEO_CAPTURE, "photo.jpeg", corpus.jpeg_bytes, {"image/jpeg"}),
        (ProofKind.VIDEO_CAPTURE, "démonstration.mp4", corpus.mp4_bytes, {"video/mp4"}),
        (ProofKind.VIDEO_CAPTURE, "démonstration.mov", corpus.mov_bytes, {"video/quicktime"}),
        (ProofKind.VIDEO_CAPTURE, "démonstration.avi", corpus.avi_bytes, {"video/x-msvideo"}),
        (ProofKind.VIDEO_CAPTURE, "démonstration.flv", corpus.flv_bytes, {"video/x-flv"}),
        (ProofKind.VIDEO_CAPTURE, "capture.png", corpus.png_with_html_bytes, {"image/png"}),
        (ProofKind.COMPTE_RENDU, "compte-rendu.pdf", corpus.pdf_bytes, {"application/pdf"}),
        (ProofKind.JUSTIFICATIF, "homologation.pdf", corpus.pdf_bytes, {"application/pdf"}),
        (ProofKind.FICHIER, "dump.bin", corpus.elf_bytes, ELF_TYPES),
        (
            ProofKind.FICHIER,
            "outil.exe",
            corpus.pe_bytes,
            {"application/vnd.microsoft.portable-executable"},
        ),
        (ProofKind.FICHIER, "logs.zip", corpus.zip_bytes, {"application/zip"}),
        (ProofKind.FICHIER, "capture.mov", corpus.mp4_bytes, {"video/mp4"}),
        (ProofKind.LIEN_RAPPORT, "rapport.html", corpus.html_bytes, {"text/html"}),
        (ProofKind.LIEN_RAPPORT, "rapport.pdf", corpus.pdf_bytes, {"application/pdf"}),
        (ProofKind.LIEN_RAPPORT, "rapport.png", corpus.zip_bytes, {"application/zip"}),
    ],
    ids=[
        "png",
        "jpg",
        "jpeg",
        "mp4",
        "mov",
        "avi",
        "flv",
        "png-with-html",
        "pdf-compte_rendu",
        "pdf-justificatif",
        "elf-fichier",
        "pe-fichier",
        "zip-fichier",
        "mp4-named-mov-fichier",
        "html-lien_rapport",
        "pdf-lien_rapport",
        "zip-named-png-lien_rapport",
    ],
)
def test_fichier_check_accepts_a_format_of_its_kind(
    django_capture_on_commit_callbacks, kind, name, build, detected
):
    content = build()
    fichier = _receive_and_check(django_capture_on_commit_callbacks, kind, name, content)
    assert fichier.status == FichierStatus.ACCEPTEE
    assert fichier.refusal_reason == ""
    assert fichier.detected_mime in detected
    assert (fichier.size, fichier.sha256) == (len(content), hashlib.sha256(content).hexdigest())


# Refused: a name that lies about the content


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "name", "build", "labels", "accepted"),
    [
        (
            ProofKind.VIDEO_CAPTURE,
            "capture.png",
            corpus.elf_bytes,
            {
                "application/x-sharedlib": (
                    "application/x-sharedlib (programme ou bibliothèque exécutable)"
                ),
                "application/x-pie-executable": (
                    "application/x-pie-executable (programme exécutable)"
                ),
                "application/x-executable": "application/x-executable (programme exécutable)",
            },
            VIDEO_FORMATS,
        ),
        (
            ProofKind.VIDEO_CAPTURE,
            "capture.png",
            corpus.pe_bytes,
            {
                "application/vnd.microsoft.portable-executable": (
                    "application/vnd.microsoft.portable-executable (programme exécutable Windows)"
                )
            },
            VIDEO_FORMATS,
        ),
        (
            ProofKind.COMPTE_RENDU,
            "compte-rendu.pdf",
            corpus.html_bytes,
            {"text/html": "text/html (page HTML)"},
            PDF_FORMATS,
        ),
        (
            ProofKind.JUSTIFICATIF,
            "homologation.pdf",
            corpus.png_bytes,
            {"image/png": "image/png (PNG)"},
            PDF_FORMATS,
        ),
        (
            ProofKind.VIDEO_CAPTURE,
            "démonstration.mp4",
            corpus.pdf_bytes,
            {"application/pdf": "application/pdf (PDF)"},
            VIDEO_FORMATS,
        ),
        (
            ProofKind.VIDEO_CAPTURE,
            "démonstration.mov",
            corpus.zip_bytes,
            {"application/zip": "application/zip (archive ZIP)"},
            VIDEO_FORMATS,
        ),
        (
            ProofKind.VIDEO_CAPTURE,
            "capture.png",
            corpus.html_bytes,
            {"text/html": "text/html (page HTML)"},
            VIDEO_FORMATS,
        ),
        (
            ProofKind.COMPTE_RENDU,
            "compte-rendu.pdf",
            corpus.mp4_bytes,
            {"video/mp4": "video/mp4 (MP4)"},
            PDF_FORMATS,
        ),
    ],
    ids=[
        "elf-named-png",
        "pe-named-png",
        "html-named-pdf",
        "png-named-pdf",
        "pdf-named-mp4",
        "zip-named-mov",
        "html-named-png",
        "mp4-named-pdf",
    ],
)
def test_fichier_check_refuses_a_content_outside_its_kind(
    django_capture_on_commit_callbacks, kind, name, build, labels, accepted
):
    fichier = _receive_and_check(django_capture_on_commit_callbacks, kind, name, build())
    assert fichier.status == FichierStatus.REFUSEE
    assert fichier.detected_mime in labels
    assert fichier.refusal_reason == _refusal(labels[fichier.detected_mime], accepted)
    assert fichier.checked_at is not None


@pytest.mark.django_db
def test_fichier_check_names_a_windows_program_in_words(django_capture_on_commit_callbacks):
    fichier = _receive_and_check(
        django_capture_on_commit_callbacks,
        ProofKind.VIDEO_CAPTURE,
        "capture.png",
        corpus.pe_bytes(),
    )
    assert fichier.status == FichierStatus.REFUSEE
    assert "programme exécutable Windows" in fichier.refusal_reason


# Refused at reception: sizes


@pytest.mark.django_db
@pytest.mark.parametrize("kind", list(ProofKind))
def test_fichier_receive_refuses_an_empty_file(media_root, kind):
    with pytest.raises(ValidationError) as error:
        _receive(kind, "capture.png", b"")
    assert error.value.code == "size"
    assert error.value.messages == ["Fichier vide : il ne contient aucun octet."]
    assert not Fichier.objects.exists()
    assert _stored_files(media_root) == []


LIMITS = [
    (ProofKind.FICHIER, "logs.pdf", corpus.pdf_bytes, MO, "1 Mo", "1\u202f048\u202f576"),
    (ProofKind.LIEN_RAPPORT, "rapport.pdf", corpus.pdf_bytes, MO, "1 Mo", "1\u202f048\u202f576"),
    (
        ProofKind.COMPTE_RENDU,
        "compte-rendu.pdf",
        corpus.pdf_bytes,
        10 * MO,
        "10 Mo",
        "10\u202f485\u202f760",
    ),
    (
        ProofKind.JUSTIFICATIF,
        "homologation.pdf",
        corpus.pdf_bytes,
        10 * MO,
        "10 Mo",
        "10\u202f485\u202f760",
    ),
    (
        ProofKind.VIDEO_CAPTURE,
        "démonstration.mp4",
        corpus.mp4_bytes,
        50 * MO,
        "50 Mo",
        "52\u202f428\u202f800",
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "name", "build", "limit", "limit_mo", "limit_bytes"),
    LIMITS,
    ids=[kind.value for kind, *_ in LIMITS],
)
def test_fichier_receive_refuses_a_file_one_byte_over_its_kind_limit(
    settings, tmp_path, media_root, kind, name, build, limit, limit_mo, limit_bytes
):
    assert services.rule_for_kind(kind).max_bytes == limit
    upload = _upload_on_disk(settings, tmp_path, name, build(), limit + 1)
    with upload, pytest.raises(ValidationError) as error:
        _receive(kind, name, upload)
    over = f"{limit + 1:,}".replace(",", "\u202f")
    assert error.value.messages == [
        f"Fichier trop volumineux : {over} octets ; taille maximale : {limit_mo}, "
        f"soit {limit_bytes} octets (1 Mo = 2^20 octets)."
    ]
    assert not Fichier.objects.exists()
    assert _stored_files(media_root) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "name", "build", "limit"),
    [limit[:4] for limit in LIMITS],
    ids=[kind.value for kind, *_ in LIMITS],
)
def test_fichier_check_accepts_a_file_of_exactly_its_kind_limit(
    settings, tmp_path, django_capture_on_commit_callbacks, kind, name, build, limit
):
    with _upload_on_disk(settings, tmp_path, name, build(), limit) as upload:
        fichier = _receive_and_check(django_capture_on_commit_callbacks, kind, name, upload)
    assert fichier.status == FichierStatus.ACCEPTEE
    assert fichier.size == limit
    assert fichier.detected_mime == magic.from_buffer(build(), mime=True)


# Download: never rendered by the browser


@pytest.mark.django_db
def test_download_of_a_png_with_html_appended_is_an_attachment_never_sniffed(
    client, django_capture_on_commit_callbacks
):
    user = UserFactory(salarie=True)
    content = corpus.png_with_html_bytes()
    fichier = _receive_and_check(
        django_capture_on_commit_callbacks, ProofKind.VIDEO_CAPTURE, "capture.png", content, user
    )
    assert (fichier.status, fichier.detected_mime) == (FichierStatus.ACCEPTEE, "image/png")
    client.force_login(user)

    response, body = _download(client, fichier)

    assert response.status_code == 200
    assert body == content
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'attachment; filename="capture.png"'
    assert response["X-Content-Type-Options"] == "nosniff"


# Names: kept as cleaned metadata, never in the storage


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "original_name", "disposition"),
    [
        ("../../etc/passwd.png", "passwd.png", 'attachment; filename="passwd.png"'),
        (
            "..\\..\\Windows\\System32\\capture.png",
            "capture.png",
            'attachment; filename="capture.png"',
        ),
        ("capture\x00.exe.png", "capture.exe.png", 'attachment; filename="capture.exe.png"'),
        (
            "capture\r\nSet-Cookie: a=b.png",
            "captureSet-Cookie: a=b.png",
            'attachment; filename="captureSet-Cookie: a=b.png"',
        ),
        ("facture\u202egnp.exe", "facturegnp.exe", 'attachment; filename="facturegnp.exe"'),
        (
            "Compte-rendu d’échographie\u202egnp.exe",
            "Compte-rendu d’échographiegnp.exe",
            "attachment; filename*=utf-8''Compte-rendu%20d%E2%80%99%C3%A9chographiegnp.exe",
        ),
        (
            'capture"; filename="page.html',
            'capture"; filename="page.html',
            'attachment; filename="capture\\"; filename=\\"page.html"',
        ),
        ("a" * 296 + ".png", "a" * 251 + ".png", f'attachment; filename="{"a" * 251}.png"'),
        (
            "é" * 296 + ".png",
            "é" * 251 + ".png",
            "attachment; filename*=utf-8''" + "%C3%A9" * 251 + ".png",
        ),
        ("\u202e\x00..", "fichier", 'attachment; filename="fichier"'),
    ],
    ids=[
        "dot-dot-slash",
        "dot-dot-backslash",
        "nul",
        "crlf",
        "right-to-left-override",
        "right-to-left-override-non-ascii",
        "quotes",
        "300-ascii",
        "300-non-ascii",
        "nothing-left",
    ],
)
def test_fichier_receive_keeps_a_hostile_name_only_cleaned(
    client, django_capture_on_commit_callbacks, name, original_name, disposition
):
    user = UserFactory(salarie=True)
    fichier = _receive_and_check(
        django_capture_on_commit_callbacks,
        ProofKind.VIDEO_CAPTURE,
        name,
        corpus.png_bytes(),
        user,
    )
    assert fichier.status == FichierStatus.ACCEPTEE

    assert fichier.storage_name == storage_name_for(fichier.pk)
    assert STORAGE_NAME.fullmatch(fichier.storage_name)
    for part in ["passwd", "etc", "Windows", "capture", "facture", "gnp", "exe", "png"]:
        assert part not in fichier.storage_name
    assert fichier.original_name == original_name
    assert len(fichier.original_name) <= 255
    assert ".." not in fichier.original_name
    assert not any(char in BIDI_CONTROLS or ord(char) < 32 for char in fichier.original_name)

    client.force_login(user)
    response, _ = _download(client, fichier)
    assert response["Content-Disposition"] == disposition
