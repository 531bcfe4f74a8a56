"""Preview, not download: a file whose type the worker verified as one the browser
shows comes inline, from the same authorised and logged view as the download, with a
CSP of its own; anything else downloads; an infected file never leaves."""

import pytest
from django.urls import reverse

from preuves.enums import FichierStatus
from preuves.models import Depot, FichierDownload
from preuves.views import PREVIEW_CSP
from tests.factories import UserFactory
from tests.preuves import samples
from tests.preuves.factories import FichierFactory
from tests.preuves.reviews import instructing

pytestmark = pytest.mark.django_db


def _preview(fichier) -> str:
    return reverse("preuves:download", args=[fichier.pk]) + "?apercu=1"


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.fixture
def instructeur(client):
    user = UserFactory(instructeur=True)
    client.force_login(user)
    return user


@pytest.mark.parametrize(
    ("content", "mime", "name"),
    [
        (samples.pdf_bytes(), "application/pdf", "compte-rendu.pdf"),
        (samples.png_bytes(), "image/png", "capture.png"),
        (b"\x00\x00\x00\x18ftypmp42", "video/mp4", "demo.mp4"),
        (b"\x00\x00\x00\x14ftypqt  ", "video/quicktime", "demo.mov"),
    ],
)
def test_a_verified_pdf_image_or_video_opens_inline_and_is_logged_as_a_preview(
    client, instructeur, content, mime, name
):
    fichier = FichierFactory(accepted=True, content=content, detected_mime=mime, original_name=name)
    response = client.get(_preview(fichier), REMOTE_ADDR="198.51.100.4")
    assert response.status_code == 200
    assert response["Content-Type"] == mime
    assert response["Content-Disposition"].startswith("inline;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == PREVIEW_CSP
    assert "sandbox" in PREVIEW_CSP and "default-src 'none'" in PREVIEW_CSP
    # Framed by the portal's own pages only.
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in PREVIEW_CSP
    assert _body(response) == content
    download = FichierDownload.objects.get()
    assert (download.kind, download.user, download.ip_address) == (
        "apercu",
        instructeur,
        "198.51.100.4",
    )


def test_the_site_csp_stays_strict_around_the_preview(client, instructeur):
    fichier = FichierFactory(accepted=True)
    page = client.get(reverse("preuves:preview", args=[fichier.pk]))
    policy = page["Content-Security-Policy"]
    assert "sandbox" not in policy
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
    assert page["X-Frame-Options"] == "DENY"
    assert f'src="{_preview(fichier)}"' in page.content.decode()
    # The plain download keeps its headers: attachment, framed by nobody.
    response = client.get(reverse("preuves:download", args=[fichier.pk]))
    _body(response)
    assert response["Content-Disposition"].startswith("attachment;")
    assert "sandbox" not in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert list(FichierDownload.objects.values_list("kind", flat=True)) == ["telechargement"]


@pytest.mark.parametrize(
    ("traits", "expected_type"),
    [
        # Unchecked: no type for the browser to act upon.
        ({"status": FichierStatus.EN_VERIFICATION}, "application/octet-stream"),
        ({"refused": True}, "application/octet-stream"),
        # Accepted, but not a type a browser shows: it downloads.
        ({"accepted": True, "detected_mime": "video/x-msvideo"}, "video/x-msvideo"),
        ({"accepted": True, "detected_mime": "text/plain"}, "text/plain"),
    ],
)
def test_anything_else_downloads_even_when_a_preview_is_asked(
    client, instructeur, traits, expected_type
):
    fichier = FichierFactory(**traits)
    response = client.get(_preview(fichier))
    _body(response)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Content-Type"] == expected_type
    assert "sandbox" not in response["Content-Security-Policy"]
    assert FichierDownload.objects.get().kind == "telechargement"
    page = client.get(reverse("preuves:preview", args=[fichier.pk]))
    assert "<iframe" not in page.content.decode() and "<img class" not in page.content.decode()
    assert "ne s’affiche pas dans le navigateur" in page.content.decode()


def test_an_infected_file_is_never_previewed_nor_served(client, instructeur):
    fichier = FichierFactory(
        status=FichierStatus.INFECTEE,
        virus_signature="Eicar-Test-Signature",
        detected_mime="application/pdf",
        checked_at="2026-11-20T10:00:00Z",
    )
    assert client.get(_preview(fichier)).status_code == 404
    assert client.get(reverse("preuves:preview", args=[fichier.pk])).status_code == 404
    assert not FichierDownload.objects.exists()


def test_a_preview_follows_the_download_rights(client):
    candidature, _instructeur = instructing()
    fichier = Depot.objects.filter(candidature=candidature, fichier__isnull=False).first().fichier
    # Anonymous: to the login page; another company, the collège off its agenda: 404.
    assert client.get(_preview(fichier)).status_code == 302
    for stranger in (UserFactory(mandataire=True), UserFactory(college=True)):
        client.force_login(stranger)
        assert client.get(_preview(fichier)).status_code == 404
        assert client.get(reverse("preuves:preview", args=[fichier.pk])).status_code == 404
    # A forged id is no file at all.
    client.force_login(UserFactory(instructeur=True))
    forged = "00000000-0000-4000-8000-000000000000"
    assert client.get(reverse("preuves:preview", args=[forged])).status_code == 404
    assert not FichierDownload.objects.exists()


def test_under_htmx_the_preview_is_a_fragment(client, instructeur):
    fichier = FichierFactory(accepted=True, detected_mime="image/png", content=samples.png_bytes())
    response = client.get(reverse("preuves:preview", args=[fichier.pk]), HTTP_HX_REQUEST="true")
    content = response.content.decode()
    assert "<html" not in content
    assert f'<img class="portal-preview__image" src="{_preview(fichier)}"' in content
    # Showing the fragment is not a consultation: the file's own request is.
    assert not FichierDownload.objects.exists()
