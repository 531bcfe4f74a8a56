"""Antivirus: every stored file is scanned by a real clamd (tests/clamav.py) before it
can be accepted; an unreachable scanner makes files wait, never accepted unscanned."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from candidatures.enums import ProofKind
from preuves import antivirus, services
from preuves.enums import FichierStatus
from preuves.models import Fichier
from segur_portal.models import Notification
from tests.clamav import EICAR
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ANY_FORMAT = services.rule_for_kind(ProofKind.FICHIER)


def _receive_and_check(captured, content, name="rapport.txt", user=None):
    user = user or UserFactory(salarie=True)
    with captured(execute=True):
        fichier = services.fichier_receive(
            upload=SimpleUploadedFile(name, content, content_type="text/plain"),
            rule=ANY_FORMAT,
            editeur=user.editeur,
            actor=user,
        )
    fichier.refresh_from_db()
    return fichier


def test_clamd_answers_the_ping():
    assert antivirus.ping() is True


def test_scan_finds_eicar_and_names_its_signature():
    assert antivirus.scan_chunks([EICAR]) == antivirus.ScanResult(
        infected=True, signature="Eicar-Test-Signature.UNOFFICIAL"
    )


def test_scan_finds_eicar_inside_another_file():
    result = antivirus.scan_chunks([b"journal du serveur\n" * 1000, EICAR, b"\nfin\n"])
    assert result.infected
    assert result.signature.startswith("Eicar-Test-Signature")


def test_scan_of_a_clean_file_is_clean():
    assert antivirus.scan_chunks([b"journal du serveur\n" * 10_000]).infected is False


def test_eicar_is_infected_with_its_signature(django_capture_on_commit_callbacks):
    instructeur = UserFactory(instructeur=True)
    fichier = _receive_and_check(django_capture_on_commit_callbacks, EICAR, "eicar.txt")
    assert (fichier.status, fichier.virus_signature) == (
        FichierStatus.INFECTEE,
        "Eicar-Test-Signature.UNOFFICIAL",
    )
    assert fichier.get_status_display() == "Infectée"
    assert fichier.refusal_reason == services.INFECTED_REASON
    alert = Notification.objects.get(recipient=instructeur)
    assert alert.title == "Fichier infecté détecté"
    assert "Eicar-Test-Signature" in alert.body


def test_a_clean_file_is_accepted(django_capture_on_commit_callbacks):
    fichier = _receive_and_check(django_capture_on_commit_callbacks, b"journal\n" * 100)
    assert (fichier.status, fichier.virus_signature) == (FichierStatus.ACCEPTEE, "")


def test_an_infected_file_is_never_downloaded(client, django_capture_on_commit_callbacks):
    user = UserFactory(salarie=True)
    fichier = _receive_and_check(django_capture_on_commit_callbacks, EICAR, user=user)
    for reader in (user, UserFactory(instructeur=True)):
        client.force_login(reader)
        assert client.get(reverse("preuves:download", args=[fichier.pk])).status_code == 404
    assert not fichier.downloads.exists()


def test_the_status_badge_shows_the_signature(client, django_capture_on_commit_callbacks):
    user = UserFactory(salarie=True)
    fichier = _receive_and_check(django_capture_on_commit_callbacks, EICAR, user=user)
    client.force_login(user)
    html = client.get(reverse("preuves:status", args=[fichier.pk])).content.decode()
    assert "Infectée" in html
    assert "Eicar-Test-Signature" in html


def test_clamd_down_leaves_the_file_waiting_and_the_sweep_retries(
    settings, tmp_path, django_capture_on_commit_callbacks, clamd_socket
):
    settings.CLAMD_SOCKET = str(tmp_path / "no-clamd.sock")
    user = UserFactory(salarie=True)
    upload = SimpleUploadedFile("eicar.txt", EICAR)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        fichier = services.fichier_receive(
            upload=upload, rule=ANY_FORMAT, editeur=user.editeur, actor=user
        )
    with pytest.raises(antivirus.ScannerUnavailable):
        services.fichier_check(fichier_id=fichier.pk)
    assert callbacks
    # Even past the attempts that refuse an unreadable file, it keeps waiting.
    Fichier.objects.filter(pk=fichier.pk).update(
        check_attempts=services.FICHIER_MAX_CHECK_ATTEMPTS + 5
    )
    with pytest.raises(antivirus.ScannerUnavailable):
        services.fichier_check(fichier_id=fichier.pk)
    fichier.refresh_from_db()
    assert (fichier.status, fichier.checked_at) == (FichierStatus.EN_VERIFICATION, None)

    # The scanner is back: the sweep queues the check again and it decides.
    settings.CLAMD_SOCKET = str(clamd_socket)
    later = timezone.now() + services.FICHIER_REQUEUE_AFTER + timedelta(minutes=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.fichier_requeue_stale(now=later) == 1
    fichier.refresh_from_db()
    assert (fichier.status, fichier.virus_signature) == (
        FichierStatus.INFECTEE,
        "Eicar-Test-Signature.UNOFFICIAL",
    )


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_worker_scans_with_the_sessions_clamd(celery_worker):
    from django.core.files.storage import default_storage
    from django.db import transaction

    from tests.worker import wait_for

    user = UserFactory(salarie=True)
    with transaction.atomic():
        fichier = services.fichier_receive(
            upload=SimpleUploadedFile("eicar.txt", EICAR),
            rule=ANY_FORMAT,
            editeur=user.editeur,
            actor=user,
        )
    try:
        wait_for(
            lambda: (
                Fichier.objects.filter(pk=fichier.pk)
                .exclude(status=FichierStatus.EN_VERIFICATION)
                .exists()
            )
        )
        fichier.refresh_from_db()
        assert (fichier.status, fichier.virus_signature) == (
            FichierStatus.INFECTEE,
            "Eicar-Test-Signature.UNOFFICIAL",
        )
    finally:
        default_storage.delete(fichier.storage_name)
