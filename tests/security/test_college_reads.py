"""A collège member reads the candidatures on a séance's agenda and their dossier,
nothing else: no draft, no other candidature of the company, no sollicitation."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from candidatures.models import CguAcceptance
from candidatures.services import sollicitation as sollicitation_services
from candidatures.services.onboarding import current_cgu
from preuves.models import Depot
from tests.college.phase3 import signed_candidature
from tests.factories import CandidatureFactory, UserFactory
from tests.preuves import samples
from tests.preuves.factories import FichierFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(client):
    judged = signed_candidature()
    instructeur = judged.instructeur
    # A sollicitation of phase 1, with a confidential attachment, on the same company.
    submitted = CandidatureFactory(admin_soumise=True, editeur=judged.editeur)
    sollicitation = sollicitation_services.sollicitation_open(
        candidature=submitted,
        actor=instructeur,
        text="Note confidentielle de l’instructeur.",
        files=[SimpleUploadedFile("note-interne.pdf", samples.pdf_bytes())],
    )
    member = UserFactory(college=True)
    CguAcceptance.objects.create(user=member, cgu=current_cgu())
    client.force_login(member)
    return {
        "judged": judged,
        "draft": CandidatureFactory(editeur=judged.editeur),
        "submitted": submitted,
        "attachment": sollicitation.messages.get().fichiers.get(),
        "proof": Depot.objects.filter(candidature=judged, fichier__isnull=False).first().fichier,
        "other_file": FichierFactory(editeur=judged.editeur),
    }


def test_the_candidature_on_the_agenda_is_readable(client, world):
    assert client.get(reverse("candidatures:detail", args=[world["judged"].pk])).status_code == 200
    assert client.get(reverse("dossier:page", args=[world["judged"].pk])).status_code == 200


@pytest.mark.parametrize("name", ["draft", "submitted"])
def test_other_candidatures_of_the_company_are_not(client, world, name):
    pk = world[name].pk
    assert client.get(reverse("candidatures:detail", args=[pk])).status_code == 404
    assert client.get(reverse("dossier:page", args=[pk])).status_code == 404


def test_a_proof_of_the_judged_dossier_downloads(client, world):
    response = client.get(reverse("preuves:download", args=[world["proof"].pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content)


@pytest.mark.parametrize("name", ["attachment", "other_file"])
def test_a_sollicitation_attachment_or_a_stray_file_does_not(client, world, name):
    assert client.get(reverse("preuves:download", args=[world[name].pk])).status_code == 404


def test_the_page_shows_no_exchange_to_the_college(client, world):
    page = client.get(reverse("candidatures:detail", args=[world["judged"].pk]))
    assert "Échanges avec l’ANS" not in page.text


def test_the_instructor_still_reads_everything(client, world):
    instructeur = UserFactory(instructeur=True)
    CguAcceptance.objects.create(user=instructeur, cgu=current_cgu())
    client.force_login(instructeur)
    for name in ("draft", "submitted", "judged"):
        assert client.get(reverse("candidatures:detail", args=[world[name].pk])).status_code == 200
    response = client.get(reverse("preuves:download", args=[world["attachment"].pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content)
