"""The instructor's dashboard tile counts the real proof queue."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from candidatures.enums import CandidatureState
from tests.factories import CandidatureFactory, UserFactory

pytestmark = pytest.mark.django_db

S = CandidatureState


def _tile(client) -> str:
    page = client.get(reverse("dashboard")).content.decode()
    start = page.index('id="file-preuves"')
    return page[start : page.index("</div></div></div>", start)]


def _dossier(**kwargs):
    return CandidatureFactory(
        eligible=True, dossier_submitted_at=timezone.now() - timedelta(days=1), **kwargs
    )


def test_the_tile_counts_the_proof_dossiers_waiting(client):
    instructeur = UserFactory(instructeur=True)
    _dossier(state=S.DOSSIER_SOUMIS)
    _dossier(state=S.DOSSIER_SOUMIS)
    _dossier(state=S.EN_INSTRUCTION, instructeur=instructeur)
    _dossier(state=S.EN_INSTRUCTION, instructeur=UserFactory(instructeur=True))
    _dossier(state=S.PREUVES_VALIDEES)  # out of the queue
    client.force_login(instructeur)

    tile = _tile(client)

    assert "2 dossier(s) à prendre, 2 en instruction dont 1 chez vous." in tile
    assert reverse("instruction:queue_phase", args=["preuves"]) in tile


def test_an_empty_queue_says_so(client):
    client.force_login(UserFactory(instructeur=True))
    assert "File d’instruction vide" in _tile(client)


def test_the_dashboard_costs_the_same_queries_however_long_the_queue(
    client, django_assert_num_queries
):
    client.force_login(UserFactory(instructeur=True))
    _dossier(state=S.DOSSIER_SOUMIS)
    client.get(reverse("dashboard"))
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("dashboard"))
    for _ in range(6):
        _dossier(state=S.DOSSIER_SOUMIS)
    with django_assert_num_queries(len(one)):
        client.get(reverse("dashboard"))


def test_the_support_tile_counts_the_questions_waiting_for_the_agency(client):
    from candidatures.services.support import support_demande_open

    instructeur = UserFactory(instructeur=True)
    client.force_login(instructeur)
    page = client.get(reverse("dashboard")).content.decode()
    assert "Aucune question en attente de réponse." in page
    member = UserFactory(salarie=True)
    for subject in ("Accès au dépôt", "Format des vidéos"):
        support_demande_open(actor=member, subject=subject, text="Bonjour, une question.")
    page = client.get(reverse("dashboard")).content.decode()
    assert "2 questions en attente de réponse de l’ANS." in page
    assert reverse("support:inbox") in page


def test_the_editor_dashboard_links_to_the_support(client):
    member = UserFactory(salarie=True)
    client.force_login(member)
    page = client.get(reverse("dashboard")).content.decode()
    assert reverse("support:home") in page
