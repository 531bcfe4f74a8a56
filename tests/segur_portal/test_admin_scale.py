"""Django admin on the big tables (issue 12, item 3): each changelist runs the same
queries for a few rows or many, and searches through an index."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from candidatures.enums import SollicitationPhase
from candidatures.models import Exigence, Sollicitation
from preuves.enums import FichierStatus
from preuves.models import Depot, Fichier, FichierDownload
from segur_portal.models import Notification, OutboundEmail
from tests.factories import CandidatureFactory, UserFactory, company_user
from tests.preuves.factories import FichierFactory

pytestmark = pytest.mark.django_db

CHANGELISTS = [
    "preuves_fichier",
    "preuves_depot",
    "preuves_fichierdownload",
    "segur_portal_notification",
    "segur_portal_outboundemail",
    "segur_portal_user",
    "candidatures_candidature",
    "candidatures_sollicitation",
]


def _rows(count: int) -> None:
    """`count` rows in each big table, each with foreign keys of its own."""
    instructeur = UserFactory(instructeur=True)
    for _ in range(count):
        candidature = CandidatureFactory(admin_soumise=True)
        member = company_user(candidature.editeur)
        fichier = FichierFactory(content=b"%PDF-1.4", editeur=candidature.editeur)
        exigence = Exigence.objects.create(
            rem_version=candidature.rem_version,
            profil=candidature.campagne.dsr.profils.first(),
            identifier=f"EX-{candidature.pk}",
            perimetre="vague_2",
            nature="exigence",
            statement="Le système DOIT…",
            position=1,
        )
        Depot.objects.create(
            candidature=candidature, exigence=exigence, fichier=fichier, deposited_by=member
        )
        FichierDownload.objects.create(fichier=fichier, user=member, ip_address="10.0.0.1")
        notification = Notification.objects.create(recipient=member, title="Rappel", body="…")
        OutboundEmail.objects.create(
            to=member.email, subject="Rappel", body="…", notification=notification
        )
        Sollicitation.objects.create(
            candidature=candidature,
            phase=SollicitationPhase.ADMINISTRATIVE,
            opened_by=instructeur,
            opened_at=timezone.now(),
            due_at=candidature.campagne.j3,
            closes_at=candidature.campagne.j3,
        )


def _changelist_queries(client, name: str, **params) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(f"admin:{name}_changelist"), params)
    assert response.status_code == 200, name
    return len(queries)


def test_each_big_changelist_runs_the_same_queries_for_few_rows_or_many(client):
    client.force_login(UserFactory(admin=True))
    _rows(2)
    few = {name: _changelist_queries(client, name) for name in CHANGELISTS}
    _rows(7)
    many = {name: _changelist_queries(client, name) for name in CHANGELISTS}
    assert few == many
    assert max(many.values()) <= 12, many


def test_the_user_list_reads_each_company_with_its_people(client):
    """It ran one query per company on the page (64 on the generated wave)."""
    client.force_login(UserFactory(admin=True))
    for _ in range(3):
        company_user(CandidatureFactory().editeur)
    few = _changelist_queries(client, "segur_portal_user")
    for _ in range(12):
        company_user(CandidatureFactory().editeur)
    assert _changelist_queries(client, "segur_portal_user") == few


def _found(client, name: str, term: str) -> str:
    response = client.get(reverse(f"admin:{name}_changelist"), {"q": term})
    assert response.status_code == 200
    return response.content.decode()


def test_a_file_is_found_by_part_of_its_name_its_sha256_or_its_id(client):
    client.force_login(UserFactory(admin=True))
    wanted = FichierFactory(content=b"%PDF-1.4 a", original_name="capture-INS-001.png")
    other = FichierFactory(content=b"%PDF-1.4 b", original_name="rapport-DMP.pdf")
    for term in ("ins-00", wanted.sha256.upper(), str(wanted.pk)):
        page = _found(client, "preuves_fichier", term)
        assert "capture-INS-001.png" in page, term
        assert other.original_name not in page, term
    page = _found(client, "preuves_fichier", "ca")
    assert "capture-INS-001.png" not in page
    assert "Saisissez au moins 3 caractères" in page


def test_deposits_are_found_by_candidature_number_and_downloads_by_person(client):
    client.force_login(UserFactory(admin=True))
    first, second = CandidatureFactory(), CandidatureFactory()
    member = company_user(first.editeur)
    fichier = FichierFactory(content=b"%PDF-1.4", original_name="preuve-premiere.pdf")
    FichierDownload.objects.create(fichier=fichier, user=member, ip_address="192.0.2.7")
    for term in (member.email.upper(), "192.0.2.7", "premiere"):
        assert "preuve-premiere.pdf" in _found(client, "preuves_fichierdownload", term), term
    assert "preuve-premiere.pdf" not in _found(
        client, "preuves_fichierdownload", "autre@exemple.fr"
    )
    page = _found(client, "candidatures_candidature", f"C-{second.pk:06d}")
    assert f"/candidature/{second.pk}/change/" in page
    assert f"/candidature/{first.pk}/change/" not in page


@pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_trgm is PostgreSQL's")
def test_the_file_search_and_order_can_be_answered_by_their_indexes():
    """With sequential scans priced out, the plans go through the indexes the admin
    relies on: the trigram index for a part of a name, fichier_uploaded for the order."""
    FichierFactory(content=b"%PDF-1.4", original_name="capture-INS-001.png")
    # Unordered, and with plain index scans priced out too: otherwise, on a small table,
    # the planner may walk fichier_uploaded backwards and filter, which says nothing.
    searched = Fichier.objects.filter(original_name__icontains="ins-00").order_by()
    ordered = Fichier.objects.order_by("-uploaded_at", "-pk")[:50]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        assert "fichier_uploaded" in ordered.explain()
        cursor.execute("SET LOCAL enable_indexscan = off")
        assert "fichier_name_trgm" in searched.explain()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plans are PostgreSQL's")
def test_the_file_list_filtered_by_a_rare_status_reads_its_partial_index():
    """The list filtered by status « refusée » counts its rows and reads its page through
    fichier_status_rare (without it, the count read the million rows); the accepted
    files are not in that index."""
    FichierFactory(refused=True)
    FichierFactory(accepted=True)
    refused = Fichier.objects.filter(status=FichierStatus.REFUSEE)
    page = refused.order_by("-uploaded_at", "-pk")[:50]
    count_sql, count_params = refused.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        assert "fichier_status_rare" in page.explain()
        cursor.execute(f"EXPLAIN SELECT COUNT(*) FROM ({count_sql}) AS page", count_params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "fichier_status_rare" in plan, plan
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'fichier_status_rare'")
        assert "WHERE (NOT ((status)::text = 'acceptee'::text))" in cursor.fetchone()[0]
