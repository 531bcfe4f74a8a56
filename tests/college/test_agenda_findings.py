"""The agenda says what the instruction found: verdict counts, the non-conform
requirements with their comments, the instruction time against 6 weeks and a link to
the instructed dossier, read only, in a fixed number of queries."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from candidatures.models import Candidature, Exigence
from college.models import Seance
from preuves.models import ExigenceVerdict
from tests.college.phase3 import open_seance_with, signed_candidature

pytestmark = pytest.mark.django_db


def instructed(**kwargs):
    """On the agenda, with the verdicts its instruction recorded: INS.01 non conforme
    then found conforme, GAZ.05 non conforme, SSI.07 conforme; 50 days of instruction."""
    candidature = signed_candidature(**kwargs)
    Candidature.objects.filter(pk=candidature.pk).update(
        dossier_submitted_at=timezone.now() - timedelta(days=60),
        instruction_closed_at=timezone.now() - timedelta(days=10),
    )
    candidature.refresh_from_db()
    at = timezone.now() - timedelta(days=20)

    def verdict(identifier, kind, comment="", later=0):
        ExigenceVerdict.objects.create(
            candidature=candidature,
            exigence=Exigence.objects.get(
                rem_version=candidature.rem_version, identifier=identifier
            ),
            verdict=kind,
            comment=comment,
            by=candidature.instructeur,
            at=at + timedelta(hours=later),
        )

    verdict("INS.01", "non_conforme", "La vidéo est coupée.")
    verdict("INS.01", "conforme", later=1)
    verdict("GAZ.05", "non_conforme", "Rapport Gazelle en échec sur <XDS.b>.")
    verdict("SSI.07", "conforme")
    return candidature


def test_each_candidature_on_the_agenda_says_what_its_instruction_found(client):
    candidature = instructed()
    seance, (member, *_) = open_seance_with(candidature)
    client.force_login(member)
    page = client.get(reverse("college:seance", args=[seance.pk])).content.decode()
    findings = page[page.index("data-findings") :]
    findings = findings[: findings.index("</div>")]
    assert ">2 conformes</span>" in findings
    assert ">1 non conforme</span>" in findings
    assert ">0 complément demandé</span>" in findings
    assert "<strong>GAZ.05</strong> — Rapport Gazelle en échec sur &lt;XDS.b&gt;." in findings
    assert "La vidéo est coupée." not in findings  # INS.01 was found conforme since
    assert "50,0 jours d’instruction sur 42 indicatifs (6 semaines) — délai indicatif dépassé" in (
        findings
    )
    review = reverse("dossier:review", args=[candidature.pk])
    assert f'href="{review}"' in findings
    # The link opens the dossier read only for the member.
    content = client.get(review).content.decode()
    assert "lecture seule" in content and 'name="verdict"' not in content
    assert "GAZ.05" in content and "Rapport Gazelle en échec" in content


def _seance_queries(client, count: int) -> int:
    seance, (member, *_) = open_seance_with(*(instructed() for _ in range(count)))
    client.force_login(member)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("college:seance", args=[seance.pk]))
    assert response.status_code == 200
    assert response.content.decode().count("data-findings") == count
    Seance.objects.filter(pk=seance.pk).update(date=seance.date - timedelta(days=count))
    return len(captured)


def test_the_findings_cost_a_fixed_number_of_queries(client):
    assert _seance_queries(client, 1) == _seance_queries(client, 3)
