import uuid

import pytest
from django.template import Context, Template
from django.urls import reverse

from preuves.models import FichierDownload
from tests.factories import UserFactory
from tests.preuves import samples
from tests.preuves.factories import FichierFactory

pytestmark = pytest.mark.django_db


def _download(client, fichier, **extra):
    response = client.get(reverse("preuves:download", args=[fichier.pk]), **extra)
    if response.status_code == 200:
        # The test client closes the response (and the stored file) once consumed.
        return response, b"".join(response.streaming_content)
    return response, None


# Download


def test_download_by_a_member_of_the_company_streams_the_file_and_logs_it(client):
    fichier = FichierFactory(accepted=True, original_name="compte-rendu.pdf")
    member = UserFactory(salarie=True, editeur=fichier.editeur)
    client.force_login(member)

    response, body = _download(client, fichier, REMOTE_ADDR="203.0.113.7")

    assert response.status_code == 200
    assert response.streaming
    assert body == samples.pdf_bytes()
    assert response["Content-Disposition"] == 'attachment; filename="compte-rendu.pdf"'
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    download = FichierDownload.objects.get()
    assert (download.fichier, download.user, download.ip_address) == (
        fichier,
        member,
        "203.0.113.7",
    )
    assert download.at is not None


def test_download_names_a_non_ascii_file_with_rfc5987(client):
    fichier = FichierFactory(accepted=True, original_name="Compte-rendu d’échographie.pdf")
    client.force_login(fichier.uploaded_by)
    response, _ = _download(client, fichier)
    assert response["Content-Disposition"] == (
        "attachment; filename*=utf-8''Compte-rendu%20d%E2%80%99%C3%A9chographie.pdf"
    )


@pytest.mark.parametrize("trait", ["pending", "refused"])
def test_download_of_an_undecided_or_refused_file_is_typed_octet_stream(client, trait):
    fichier = FichierFactory(**({"refused": True} if trait == "refused" else {}))
    client.force_login(fichier.uploaded_by)
    response, body = _download(client, fichier)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert body == samples.pdf_bytes()


# The collège downloads only what a judged dossier holds: tests/security/test_college_reads.py.
@pytest.mark.parametrize("role", ["instructeur", "admin"])
def test_download_by_the_agency(client, role):
    fichier = FichierFactory(refused=True)
    agent = UserFactory(**{role: True})
    client.force_login(agent)
    response, _ = _download(client, fichier)
    assert response.status_code == 200
    assert FichierDownload.objects.get().user == agent


def test_download_by_another_company_is_not_found(client):
    fichier = FichierFactory(accepted=True)
    client.force_login(UserFactory(salarie=True))
    response, _ = _download(client, fichier)
    assert response.status_code == 404
    assert not FichierDownload.objects.exists()


def test_download_of_an_agency_file_by_an_editor_is_not_found(client):
    fichier = FichierFactory(agency=True, accepted=True)
    client.force_login(UserFactory(salarie=True))
    response, _ = _download(client, fichier)
    assert response.status_code == 404


def test_download_of_a_file_that_does_not_exist_is_not_found(client):
    client.force_login(UserFactory(instructeur=True))
    response = client.get(reverse("preuves:download", args=[uuid.uuid4()]))
    assert response.status_code == 404


def test_download_signed_out_redirects_to_login(client):
    fichier = FichierFactory(accepted=True)
    url = reverse("preuves:download", args=[fichier.pk])
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"
    assert not FichierDownload.objects.exists()


def test_download_refuses_post(client):
    fichier = FichierFactory(accepted=True)
    client.force_login(fichier.uploaded_by)
    response = client.post(reverse("preuves:download", args=[fichier.pk]))
    assert response.status_code == 405


# Status fragment


def test_status_of_a_pending_file_polls_itself(client):
    fichier = FichierFactory()
    client.force_login(fichier.uploaded_by)
    url = reverse("preuves:status", args=[fichier.pk])
    response = client.get(url, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert f'hx-get="{url}"' in html
    assert 'hx-trigger="every 2s"' in html
    assert 'hx-swap="outerHTML"' in html
    assert "fr-badge--info" in html
    assert "En cours de vérification" in html
    assert "no-store" in response["Cache-Control"]


def test_status_of_an_accepted_file_stops_polling(client):
    fichier = FichierFactory(accepted=True)
    client.force_login(fichier.uploaded_by)
    html = client.get(reverse("preuves:status", args=[fichier.pk])).content.decode()
    assert "hx-get" not in html
    assert "hx-trigger" not in html
    assert "fr-badge--success" in html
    assert "Acceptée" in html


def test_status_of_a_refused_file_shows_the_reason(client):
    fichier = FichierFactory(refused=True)
    client.force_login(UserFactory(instructeur=True))
    html = client.get(reverse("preuves:status", args=[fichier.pk])).content.decode()
    assert "hx-get" not in html
    assert "fr-badge--error" in html
    assert "Refusée" in html
    assert "le contenu du fichier est de type text/html (page HTML)" in html


def test_status_for_another_company_is_not_found(client):
    fichier = FichierFactory()
    client.force_login(UserFactory(salarie=True))
    assert client.get(reverse("preuves:status", args=[fichier.pk])).status_code == 404


def test_status_fragment_is_included_by_other_pages():
    fichier = FichierFactory()
    html = Template('{% include "preuves/_fichier_statut.html" with fichier=f %}').render(
        Context({"f": fichier})
    )
    assert f'id="fichier-statut-{fichier.pk}"' in html
    assert reverse("preuves:status", args=[fichier.pk]) in html
