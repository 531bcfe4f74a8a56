import hashlib
import re
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from django.utils import timezone

from candidatures.enums import ProofKind
from candidatures.proof_kinds import MO
from preuves import services
from preuves.enums import FichierStatus
from preuves.models import Fichier, FichierDownload
from tests.factories import EditeurFactory, UserFactory
from tests.preuves import samples
from tests.preuves.factories import FichierFactory

pytestmark = pytest.mark.django_db

VIDEO_CAPTURE = services.rule_for_kind(ProofKind.VIDEO_CAPTURE)
ANY_FORMAT = services.rule_for_kind(ProofKind.FICHIER)
ELF_TYPES = {"application/x-pie-executable", "application/x-executable", "application/x-sharedlib"}


def _receive(name, content, rule, user=None):
    user = user or UserFactory(salarie=True)
    return services.fichier_receive(
        upload=SimpleUploadedFile(name, content, content_type="image/png"),
        rule=rule,
        editeur=user.editeur,
        actor=user,
    )


def _receive_and_check(django_capture_on_commit_callbacks, name, content, rule):
    # The on_commit hook sends the task, which runs in-process in these tests.
    with django_capture_on_commit_callbacks(execute=True):
        fichier = _receive(name, content, rule)
    fichier.refresh_from_db()
    return fichier


# Rules


def test_rule_for_kind_follows_the_proof_kind_table():
    assert VIDEO_CAPTURE.allowed_mime_types >= {"image/png", "image/jpeg", "video/mp4"}
    assert VIDEO_CAPTURE.max_bytes == 50 * 2**20
    assert (ANY_FORMAT.allowed_mime_types, ANY_FORMAT.max_bytes, ANY_FORMAT.label) == (
        None,
        2**20,
        "tout format ; 1 Mo au plus",
    )


def test_named_rules_for_other_features():
    assert services.PDF_10_MO.allowed_mime_types == {"application/pdf"}
    assert services.PDF_10_MO.max_bytes == 10 * 2**20
    assert services.PDF_OR_IMAGE_10_MO.allowed_mime_types == {
        "application/pdf",
        "image/png",
        "image/jpeg",
    }


def test_file_rule_refuses_an_empty_format_list():
    with pytest.raises(ValueError):
        services.FileRule(allowed_mime_types=frozenset(), max_bytes=MO, label="rien")


# Reception


def test_fichier_receive_stores_under_a_uuid_key_and_queues_the_check(
    django_capture_on_commit_callbacks,
):
    user = UserFactory(salarie=True, first_name="Jeanne", last_name="Durand")
    content = samples.png_bytes()
    with django_capture_on_commit_callbacks() as callbacks:
        fichier = _receive("capture Durand.png", content, VIDEO_CAPTURE, user=user)

    assert len(callbacks) == 1
    assert fichier.status == FichierStatus.EN_VERIFICATION
    assert re.fullmatch(r"fichiers/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{32}", fichier.storage_name)
    assert fichier.storage_name.endswith(fichier.pk.hex)
    for part in ["capture", "Durand", "durand", "Jeanne", ".png"]:
        assert part not in fichier.storage_name
    assert fichier.original_name == "capture Durand.png"
    assert fichier.size == len(content)
    assert fichier.sha256 == hashlib.sha256(content).hexdigest()
    assert fichier.editeur == user.editeur
    assert fichier.uploaded_by == user
    assert fichier.allowed_mime_types == sorted(VIDEO_CAPTURE.allowed_mime_types)
    assert fichier.max_bytes == 50 * MO
    with default_storage.open(fichier.storage_name, "rb") as stored:
        assert stored.read() == content


def test_fichier_receive_cleans_the_original_name():
    fichier = _receive("../../rapport\u202egnp.exe", samples.png_bytes(), VIDEO_CAPTURE)
    assert fichier.original_name == "rapportgnp.exe"


def test_fichier_receive_streams_an_upload_kept_on_disk(django_capture_on_commit_callbacks):
    user = UserFactory(salarie=True)
    content = samples.padded_pdf(3 * MO)
    upload = TemporaryUploadedFile("gros compte-rendu.pdf", "application/pdf", len(content), None)
    with upload:
        upload.write(content)
        upload.seek(0)
        with django_capture_on_commit_callbacks(execute=True):
            fichier = services.fichier_receive(
                upload=upload, rule=services.PDF_10_MO, editeur=user.editeur, actor=user
            )
    fichier.refresh_from_db()
    assert fichier.status == FichierStatus.ACCEPTEE
    assert fichier.size == 3 * MO
    assert fichier.sha256 == hashlib.sha256(content).hexdigest()


def test_fichier_receive_refuses_an_empty_file(media_root):
    with pytest.raises(ValidationError) as error:
        _receive("vide.pdf", b"", services.PDF_10_MO)
    assert error.value.messages == ["Fichier vide : il ne contient aucun octet."]
    assert not Fichier.objects.exists()
    assert not media_root.exists() or not any(media_root.rglob("*.*"))


def test_fichier_receive_refuses_a_file_one_byte_over_the_limit(media_root):
    with pytest.raises(ValidationError) as error:
        _receive("logs.txt", b"x" * (MO + 1), ANY_FORMAT)
    assert error.value.messages == [
        "Fichier trop volumineux : 1\u202f048\u202f577 octets ; taille maximale : 1 Mo, "
        "soit 1\u202f048\u202f576 octets (1 Mo = 2^20 octets)."
    ]
    assert not Fichier.objects.exists()
    assert not media_root.exists() or not [p for p in media_root.rglob("*") if p.is_file()]


def test_fichier_receive_accepts_a_file_of_exactly_the_limit(django_capture_on_commit_callbacks):
    fichier = _receive_and_check(
        django_capture_on_commit_callbacks, "logs.txt", b"x" * MO, ANY_FORMAT
    )
    assert fichier.status == FichierStatus.ACCEPTEE
    assert fichier.detected_mime == "text/plain"


def test_fichier_receive_refuses_a_user_of_another_company():
    user = UserFactory(salarie=True)
    with pytest.raises(PermissionDenied):
        services.fichier_receive(
            upload=SimpleUploadedFile("a.png", samples.png_bytes()),
            rule=VIDEO_CAPTURE,
            editeur=EditeurFactory(),
            actor=user,
        )
    assert not Fichier.objects.exists()


def test_fichier_receive_lets_an_agent_store_an_agency_file():
    agent = UserFactory(instructeur=True)
    fichier = services.fichier_receive(
        upload=SimpleUploadedFile("courrier.pdf", samples.pdf_bytes()),
        rule=services.PDF_10_MO,
        editeur=None,
        actor=agent,
    )
    assert fichier.editeur is None
    assert fichier.uploaded_by == agent


def test_fichier_receive_refuses_an_editor_storing_an_agency_file():
    with pytest.raises(PermissionDenied):
        _receive("a.pdf", samples.pdf_bytes(), services.PDF_10_MO, user=UserFactory())


# Check: the content decides


@pytest.mark.parametrize(
    ("name", "content", "rule", "detected"),
    [
        ("compte-rendu.pdf", samples.pdf_bytes, services.PDF_10_MO, {"application/pdf"}),
        ("capture.png", samples.png_bytes, VIDEO_CAPTURE, {"image/png"}),
        ("photo.jpg", samples.jpeg_bytes, VIDEO_CAPTURE, {"image/jpeg"}),
        ("scan.jpeg", samples.jpeg_bytes, services.PDF_OR_IMAGE_10_MO, {"image/jpeg"}),
        ("dump.bin", samples.elf_bytes, ANY_FORMAT, ELF_TYPES),
    ],
    ids=["pdf", "png", "jpeg", "jpeg-pdf-or-image", "executable-any-format"],
)
def test_fichier_check_accepts_a_file_whose_content_is_allowed(
    django_capture_on_commit_callbacks, name, content, rule, detected
):
    fichier = _receive_and_check(django_capture_on_commit_callbacks, name, content(), rule)
    assert fichier.status == FichierStatus.ACCEPTEE
    assert fichier.refusal_reason == ""
    assert fichier.checked_at is not None
    assert fichier.check_attempts == 1
    assert fichier.detected_mime in detected


@pytest.mark.parametrize(
    ("name", "content", "detected"),
    [
        ("capture.png", lambda: samples.HTML_PAGE, {"text/html"}),
        ("capture.png", samples.elf_bytes, ELF_TYPES),
        ("capture.png", samples.pdf_bytes, {"application/pdf"}),
    ],
    ids=["html-named-png", "executable-named-png", "pdf-named-png"],
)
def test_fichier_check_refuses_a_png_name_on_other_content(
    django_capture_on_commit_callbacks, name, content, detected
):
    fichier = _receive_and_check(django_capture_on_commit_callbacks, name, content(), VIDEO_CAPTURE)
    assert fichier.status == FichierStatus.REFUSEE
    assert fichier.detected_mime in detected
    assert f"le contenu du fichier est de type {fichier.detected_mime}" in fichier.refusal_reason
    assert "image/png (PNG), image/jpeg (JPEG), video/mp4 (MP4)" in fichier.refusal_reason


def test_fichier_check_names_the_detected_and_allowed_types():
    fichier = FichierFactory(
        content=samples.pdf_bytes(),
        original_name="capture.png",
        allowed_mime_types=sorted(VIDEO_CAPTURE.allowed_mime_types),
    )
    fichier = services.fichier_check(fichier_id=fichier.pk)
    assert fichier.refusal_reason == (
        "Format refusé : le contenu du fichier est de type application/pdf (PDF) ; "
        "formats acceptés : image/png (PNG), image/jpeg (JPEG), video/mp4 (MP4), "
        "video/quicktime (MOV), video/x-msvideo (AVI), video/x-flv (FLV). "
        "Le format est lu dans le contenu du fichier, pas dans son nom."
    )


def test_fichier_check_refuses_a_stored_file_one_byte_over_its_limit():
    fichier = FichierFactory(content=samples.padded_pdf(MO + 1), max_bytes=MO)
    fichier = services.fichier_check(fichier_id=fichier.pk)
    assert fichier.status == FichierStatus.REFUSEE
    assert fichier.refusal_reason.startswith("Fichier trop volumineux : 1\u202f048\u202f577 octets")
    assert fichier.detected_mime == "application/pdf"


def test_fichier_check_accepts_a_stored_file_of_exactly_its_limit():
    fichier = FichierFactory(content=samples.padded_pdf(MO), max_bytes=MO)
    assert services.fichier_check(fichier_id=fichier.pk).status == FichierStatus.ACCEPTEE


def test_fichier_check_refuses_an_empty_stored_file():
    fichier = FichierFactory(content=b"", allowed_mime_types=[])
    fichier = services.fichier_check(fichier_id=fichier.pk)
    assert fichier.status == FichierStatus.REFUSEE
    assert fichier.refusal_reason == "Fichier vide : il ne contient aucun octet."


def test_fichier_check_computes_the_sha256_of_the_stored_bytes():
    content = samples.jpeg_bytes()
    fichier = FichierFactory(content=content, sha256="", allowed_mime_types=["image/jpeg"])
    fichier = services.fichier_check(fichier_id=fichier.pk)
    assert fichier.status == FichierStatus.ACCEPTEE
    assert fichier.sha256 == hashlib.sha256(content).hexdigest()


def test_fichier_check_refuses_a_stored_file_that_changed_since_reception():
    fichier = FichierFactory(content=samples.pdf_bytes())
    default_storage.delete(fichier.storage_name)
    default_storage.save(fichier.storage_name, ContentFile(samples.pdf_bytes()[:-1] + b"X"))
    fichier = services.fichier_check(fichier_id=fichier.pk)
    assert fichier.status == FichierStatus.REFUSEE
    assert fichier.refusal_reason == services.INTEGRITY_REASON


def test_fichier_check_is_idempotent():
    fichier = FichierFactory()
    first = services.fichier_check(fichier_id=fichier.pk)
    second = services.fichier_check(fichier_id=fichier.pk)
    assert first.status == second.status == FichierStatus.ACCEPTEE
    assert second.checked_at == first.checked_at
    fichier.refresh_from_db()
    assert fichier.check_attempts == 1


def test_fichier_check_leaves_a_decided_file_alone():
    fichier = FichierFactory(refused=True)
    reason = fichier.refusal_reason
    fichier = services.fichier_check(fichier_id=fichier.pk)
    assert fichier.status == FichierStatus.REFUSEE
    assert fichier.refusal_reason == reason
    assert fichier.check_attempts == 0


def test_fichier_check_raises_a_storage_error_for_the_task_to_retry():
    fichier = FichierFactory()
    default_storage.delete(fichier.storage_name)
    with pytest.raises(OSError):
        services.fichier_check(fichier_id=fichier.pk)
    fichier.refresh_from_db()
    assert fichier.status == FichierStatus.EN_VERIFICATION
    assert fichier.check_attempts == 1


def test_fichier_check_refuses_a_file_still_unreadable_after_the_last_attempt():
    fichier = FichierFactory(check_attempts=services.FICHIER_MAX_CHECK_ATTEMPTS - 1)
    default_storage.delete(fichier.storage_name)
    fichier = services.fichier_check(fichier_id=fichier.pk)
    assert fichier.status == FichierStatus.REFUSEE
    assert fichier.refusal_reason == services.UNREADABLE_REASON
    assert fichier.check_attempts == services.FICHIER_MAX_CHECK_ATTEMPTS


@pytest.mark.parametrize(
    ("content", "status", "detected"),
    [
        (samples.png_bytes, FichierStatus.ACCEPTEE, "image/png"),
        (lambda: samples.HTML_PAGE, FichierStatus.REFUSEE, "text/html"),
    ],
    ids=["png", "html"],
)
def test_fichier_check_reads_a_storage_without_local_path(
    settings, django_capture_on_commit_callbacks, content, status, detected
):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    fichier = _receive_and_check(
        django_capture_on_commit_callbacks, "capture.png", content(), VIDEO_CAPTURE
    )
    assert fichier.status == status
    assert fichier.detected_mime == detected
    assert fichier.sha256 == hashlib.sha256(content()).hexdigest()


# Sweep


def test_fichier_requeue_stale_checks_again_an_old_pending_file(
    django_capture_on_commit_callbacks,
):
    now = timezone.now()
    old = FichierFactory(
        uploaded_at=now - timedelta(minutes=11), queued_at=now - timedelta(minutes=11)
    )
    recent = FichierFactory(
        uploaded_at=now - timedelta(minutes=9), queued_at=now - timedelta(minutes=9)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert services.fichier_requeue_stale(now=now) == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.status == FichierStatus.ACCEPTEE
    assert recent.status == FichierStatus.EN_VERIFICATION
    assert recent.check_attempts == 0


def test_fichier_requeue_stale_queues_each_file_once_per_delay(django_capture_on_commit_callbacks):
    now = timezone.now()
    fichier = FichierFactory(queued_at=now - timedelta(minutes=30))
    with django_capture_on_commit_callbacks() as first:
        first_count = services.fichier_requeue_stale(now=now)
    with django_capture_on_commit_callbacks() as second:
        second_count = services.fichier_requeue_stale(now=now + timedelta(minutes=1))
    assert (first_count, len(first), second_count, len(second)) == (1, 1, 0, 0)
    fichier.refresh_from_db()
    assert fichier.queued_at == now
    assert services.fichier_requeue_stale(now=now + timedelta(minutes=11)) == 1


def test_fichier_requeue_stale_skips_decided_files():
    old = timezone.now() - timedelta(hours=1)
    FichierFactory(accepted=True, queued_at=old)
    FichierFactory(refused=True, queued_at=old)
    assert services.fichier_requeue_stale(now=timezone.now()) == 0


# Deletion and downloads


def test_fichier_delete_removes_the_row_and_then_the_stored_object(
    django_capture_on_commit_callbacks,
):
    fichier = FichierFactory()
    member = UserFactory(salarie=True, editeur=fichier.editeur)
    name = fichier.storage_name
    with django_capture_on_commit_callbacks(execute=True):
        services.fichier_delete(fichier=Fichier.objects.get(pk=fichier.pk), actor=member)
    assert not Fichier.objects.filter(pk=fichier.pk).exists()
    assert not default_storage.exists(name)


def test_fichier_delete_keeps_the_stored_object_until_the_commit(
    django_capture_on_commit_callbacks,
):
    fichier = FichierFactory()
    with django_capture_on_commit_callbacks() as callbacks:
        services.fichier_delete(fichier=fichier, actor=fichier.uploaded_by)
    assert len(callbacks) == 1
    assert default_storage.exists(fichier.storage_name)


def test_fichier_delete_refuses_another_company():
    fichier = FichierFactory()
    with pytest.raises(PermissionDenied):
        services.fichier_delete(fichier=fichier, actor=UserFactory(salarie=True))
    assert Fichier.objects.filter(pk=fichier.pk).exists()


def test_fichier_delete_refuses_a_file_already_downloaded():
    fichier = FichierFactory(accepted=True)
    services.fichier_download_record(
        fichier=fichier, user=UserFactory(instructeur=True), ip_address="192.0.2.1"
    )
    with pytest.raises(ValidationError) as error:
        services.fichier_delete(fichier=fichier, actor=fichier.uploaded_by)
    assert error.value.messages == [services.PROTECTED_MESSAGE]
    assert Fichier.objects.filter(pk=fichier.pk).exists()
    assert default_storage.exists(fichier.storage_name)


def test_fichier_delete_lets_the_agency_delete_its_own_files_only():
    agent = UserFactory(instructeur=True)
    services.fichier_delete(fichier=FichierFactory(agency=True), actor=agent)
    with pytest.raises(PermissionDenied):
        services.fichier_delete(fichier=FichierFactory(), actor=agent)


def test_fichier_download_record_drops_an_address_that_is_not_one():
    fichier = FichierFactory()
    download = services.fichier_download_record(
        fichier=fichier, user=fichier.uploaded_by, ip_address="unknown"
    )
    assert download.ip_address is None
    assert FichierDownload.objects.get().fichier == fichier
