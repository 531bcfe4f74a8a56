"""The public registry of referenced software: page, CSV and JSON."""

import csv
import io
import json
from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from weasyprint import HTML

from candidatures.enums import CandidatureState
from college import selectors, views_public
from college.enums import AttestationStatus
from college.models import Attestation
from tests.factories import CampagneFactory, CandidatureFactory, EditeurFactory, ProfilFactory
from tests.preuves.factories import FichierFactory

pytestmark = pytest.mark.django_db


def attestation_pdf(text: str = "") -> bytes:
    return HTML(
        string=f"<h1>Attestation de référencement Ségur</h1><p>Document de test. {text}</p>"
    ).write_pdf()


def referenced(
    *, numero: str = "", referenced_on: date = date(2026, 3, 2), pdf: bytes | None = None, **kwargs
) -> Attestation:
    """A referenced candidature and its valid attestation, as the collège leaves them.

    With `pdf`, the attestation's document is stored and hashed."""
    candidature = CandidatureFactory(state=CandidatureState.REFERENCEE, **kwargs)
    fichier = (
        FichierFactory(agency=True, content=pdf, original_name="attestation.pdf") if pdf else None
    )
    return Attestation.objects.create(
        candidature=candidature,
        numero=numero or f"SEGUR-{candidature.dsr.code.upper()}-2026-{candidature.pk:05d}",
        referenced_on=referenced_on,
        fichier=fichier,
        sha256=fichier.sha256 if fichier else "",
    )


WITHDRAWN_AT = datetime(2026, 4, 15, 10, 0, tzinfo=UTC)
REASON = "Non-conformité constatée lors d’un contrôle : exigence INS non respectée."


def withdraw(attestation: Attestation) -> None:
    """What the withdrawal leaves behind (the collège's service does it for real)."""
    Attestation.objects.filter(pk=attestation.pk).update(
        status=AttestationStatus.RETIREE, withdrawn_at=WITHDRAWN_AT, withdrawn_reason=REASON
    )
    type(attestation.candidature).objects.filter(pk=attestation.candidature_id).update(
        state=CandidatureState.DEREFERENCEE
    )


def _page(client, **params) -> str:
    response = client.get(reverse("registre:referencees"), params)
    assert response.status_code == 200
    return response.content.decode()


def _csv_rows(client, **params) -> list[list[str]]:
    response = client.get(reverse("registre:referencees_csv"), params)
    content = response.getvalue().decode("utf-8")
    assert content.startswith("\ufeff")
    return list(csv.reader(io.StringIO(content.removeprefix("\ufeff"))))


def _json(client, **params) -> dict:
    response = client.get(reverse("registre:referencees_json"), params)
    assert response["Content-Type"] == "application/json"
    return json.loads(response.getvalue())


# What is listed


def test_registry_lists_referenced_software_then_withdrawn_referencings(client):
    shown = referenced(nom_commercial="Visible")
    withdraw(referenced(nom_commercial="Retiré"))
    # A valid attestation whose software is no longer referenced is not listed either.
    stale = referenced(nom_commercial="Déréférencé")
    type(stale.candidature).objects.filter(pk=stale.candidature_id).update(
        state=CandidatureState.DEREFERENCEE
    )
    CandidatureFactory(eligible=True, nom_commercial="En cours")

    content = _page(client)
    assert "Visible" in content and "Retiré" in content
    assert "En cours" not in content and ">Déréférencé</td>" not in content
    assert content.index("Visible") < content.index("Retiré")
    verification = reverse("verifier:attestation", args=[shown.numero])
    assert f'<a href="{verification}">{shown.numero}</a>' in content
    assert "2 mars 2026" in content
    assert [row[3] for row in _csv_rows(client)[1:]] == ["Visible", "Retiré"]
    assert [(row["nom_commercial"], row["statut"]) for row in _json(client)["logiciels"]] == [
        ("Visible", "référencé"),
        ("Retiré", "déréférencé"),
    ]


def test_a_withdrawn_attestation_stays_with_its_status_date_and_reason(client):
    attestation = referenced(nom_commercial="MédiLog Pro")
    assert _json(client)["logiciels"][0]["statut"] == "référencé"

    withdraw(attestation)

    content = _page(client)
    assert "MédiLog Pro" in content and "Déréférencé" in content
    assert "15 avril 2026" in content and REASON in content
    header, row = _csv_rows(client)
    assert header == views_public.CSV_HEADER
    assert row[-3:] == ["déréférencé", "2026-04-15", REASON]
    (record,) = _json(client)["logiciels"]
    assert (record["numero"], record["statut"]) == (attestation.numero, "déréférencé")
    assert (record["date_dereferencement"], record["motif_dereferencement"]) == (
        "2026-04-15",
        REASON,
    )


def test_registry_needs_no_login(client):
    referenced()
    for name in ["registre:referencees", "registre:referencees_csv", "registre:referencees_json"]:
        assert client.get(reverse(name)).status_code == 200


def test_registry_links_the_exports_with_the_filters_and_the_candidatures_in_progress(client):
    referenced()
    content = _page(client, dsr="MDV-LGC-Va2", q="Médi")
    query = "?dsr=MDV-LGC-Va2&amp;q=M%C3%A9di"
    assert f'href="{reverse("registre:referencees_csv")}{query}"' in content
    assert f'href="{reverse("registre:referencees_json")}{query}"' in content
    assert f'href="{reverse("registre:en_cours")}"' in content


# Filters


def test_registry_filters_by_dsr(client):
    lgc = referenced(nom_commercial="Logiciel de ville")
    referenced(nom_commercial="Logiciel hospitalier")
    code = lgc.candidature.dsr.code

    content = _page(client, dsr=code)
    assert "Logiciel de ville" in content and "Logiciel hospitalier" not in content
    assert f'<option value="{code}" selected>' in content
    assert [row[0] for row in _csv_rows(client, dsr=code)[1:]] == [code]
    assert [row["dsr"] for row in _json(client, dsr=code)["logiciels"]] == [code]


def test_registry_searches_company_and_product_ignoring_case(client):
    referenced(nom_commercial="CardioSoft", editeur=EditeurFactory(raison_sociale="Alpha Santé"))
    referenced(nom_commercial="DermaLog", editeur=EditeurFactory(raison_sociale="Bêta Médical"))

    assert [row[3] for row in _csv_rows(client, q="cardio")[1:]] == ["CardioSoft"]
    assert [row[3] for row in _csv_rows(client, q="BÊTA MÉDICAL")[1:]] == ["DermaLog"]
    assert _csv_rows(client, q="introuvable")[1:] == []
    assert "Aucun logiciel référencé ne correspond." in _page(client, q="introuvable")


def test_registry_filters_by_profile_name_across_dsrs(client):
    first = CampagneFactory()
    second = CampagneFactory()
    teleconsultation = ProfilFactory(dsr=first.dsr, name="Téléconsultation")
    ProfilFactory(dsr=second.dsr, name="téléconsultation")
    general = first.dsr.profils.get(name="Général")
    referenced(campagne=first, nom_commercial="Avec", profils=[general, teleconsultation])
    referenced(campagne=first, nom_commercial="Sans")
    referenced(campagne=second, nom_commercial="Autre DSR")

    rows = _json(client, profil="Téléconsultation")["logiciels"]
    assert [(row["nom_commercial"], row["profils"]) for row in rows] == [
        ("Avec", ["Général", "Téléconsultation"])
    ]
    # The profiles of referenced software only, one entry for names differing by case.
    assert selectors.public_referenced_profil_names() == ["Général", "Téléconsultation"]
    assert selectors.public_referenced_profil_names(second.dsr.code) == ["Général"]


def test_registry_paginates(client, monkeypatch):
    monkeypatch.setattr(views_public, "PAGE_SIZE", 2)
    campagne = CampagneFactory()
    for name in ["Alpha", "Bravo", "Charlie"]:
        referenced(campagne=campagne, nom_commercial=name)

    first = _page(client, dsr=campagne.dsr.code)
    assert "Alpha" in first and "Bravo" in first and "Charlie" not in first
    assert "Logiciels référencés, page 1 sur 2" in first
    assert f"?dsr={campagne.dsr.code}&amp;page=2" in first
    second = _page(client, dsr=campagne.dsr.code, page=2)
    assert "Charlie" in second and "Alpha" not in second
    # The exports are not paginated.
    assert len(_csv_rows(client)) == 4


# Exports


def test_csv_export_is_utf8_with_bom_in_french_and_safe_from_formulas(client):
    referenced(
        nom_commercial='=HYPERLINK("https://evil.example")',
        version_technique="+1.0",
        editeur=EditeurFactory(raison_sociale="@Éditeur"),
    )
    response = client.get(reverse("registre:referencees_csv"))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="logiciels-referencees.csv"'

    header, row = _csv_rows(client)
    assert header == [
        "DSR",
        "Éditeur",
        "SIRET",
        "Dénomination commerciale",
        "Version technique",
        "Profils",
        "Numéro de référencement",
        "Date de décision",
        "Vérification",
        "Statut",
        "Déréférencé le",
        "Motif du déréférencement",
    ]
    assert row[1] == "'@Éditeur"
    assert row[3] == '\'=HYPERLINK("https://evil.example")'
    assert row[4] == "'+1.0"
    assert row[7] == "2026-03-02"


def test_json_export_gives_each_software_and_its_verification_url(client, settings):
    settings.SITE_URL = "https://referencement.esante.example"
    attestation = referenced(
        nom_commercial="Médilog", editeur=EditeurFactory(raison_sociale="Société Évian")
    )
    candidature = attestation.candidature

    body = client.get(reverse("registre:referencees_json")).getvalue()
    assert "Société Évian".encode() in body  # ensure_ascii=False
    assert json.loads(body) == {
        "logiciels": [
            {
                "dsr": candidature.dsr.code,
                "editeur": "Société Évian",
                "siret": candidature.editeur.siret,
                "nom_commercial": "Médilog",
                "version_technique": candidature.version_technique,
                "profils": ["Général"],
                "numero": attestation.numero,
                "date_decision": "2026-03-02",
                "verification": "https://referencement.esante.example"
                + reverse("verifier:attestation", args=[attestation.numero]),
                "statut": "référencé",
                "date_dereferencement": None,
                "motif_dereferencement": "",
            }
        ]
    }


# Queries


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
        if response.streaming:
            response.getvalue()
    return len(queries)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # DSRs and profiles of the filters, count, page, profiles of the page.
        ("registre:referencees", 5),
        # Rows, then their profiles (once per chunk of 500 rows).
        ("registre:referencees_csv", 2),
        ("registre:referencees_json", 2),
    ],
)
def test_registry_runs_a_fixed_number_of_queries(client, name, expected):
    campagne = CampagneFactory()
    profil = ProfilFactory(dsr=campagne.dsr, name="Téléconsultation")
    general = campagne.dsr.profils.get(name="Général")
    referenced(campagne=campagne, profils=[general, profil])
    assert _queries(client, reverse(name)) == expected
    for _ in range(29):
        referenced(campagne=campagne, profils=[general, profil])
    assert _queries(client, reverse(name)) == expected
