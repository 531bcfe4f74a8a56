"""`make run` seeds the demo before `runportal` starts its clamd: the demo's files are
scanned by a clamd of the command's own, started and stopped around it."""

import socket

from django.conf import settings
from django.test import override_settings

from preuves import antivirus
from preuves.clamd_daemon import embedded_antivirus
from tests.clamav import EICAR


def test_without_a_configured_clamd_the_command_gets_its_own_for_its_duration(tmp_path):
    with override_settings(CLAMD_SOCKET="", CLAMD_HOST=""):
        with embedded_antivirus(tmp_path / "clamd") as socket_path:
            assert socket_path is not None and socket_path.exists()
            assert str(socket_path) == settings.CLAMD_SOCKET
            assert antivirus.scan_chunks([EICAR]).infected
            assert not antivirus.scan_chunks([b"une capture d'ecran"]).infected
        assert settings.CLAMD_SOCKET == ""
        assert not socket_path.exists() or not _answers(socket_path)


def test_a_configured_clamd_is_used_as_it_is(tmp_path):
    configured = settings.CLAMD_SOCKET
    with embedded_antivirus(tmp_path / "clamd") as socket_path:
        assert socket_path is None
        assert configured == settings.CLAMD_SOCKET
    assert not (tmp_path / "clamd").exists()


def _answers(socket_path) -> bool:
    with socket.socket(socket.AF_UNIX) as sock:
        try:
            sock.connect(str(socket_path))
        except OSError:
            return False
    return True
