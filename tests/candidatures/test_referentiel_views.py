import csv
import io

import pytest
from django.urls import reverse

from candidatures.enums import ProofKind, RemStatus
from candidatures.models import Campagne, PreuveAttendue, RemVersion
from candidatures.services import referentiel as services
from tests.candidatures.sheets import Row, basic_rows, rem_csv
from tests.factories import CampagneFactory, DsrFactory, UserFactory

pytestmark = pytest.mark.django_db


def _published(dsr, rows=None, label="v1"):
    admin = UserFactory(admin=True)
    version = services.rem_version_import(
        dsr=dsr, file=rem_csv(rows or basic_rows()), filename="REM.csv", label=label, actor=admin
    ).version
    return services.rem_version_publish(version=version, actor=admin)


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(admin=True))
    return client


# Public pages


def test_dsr_list_shows_profiles_and_campaign_phase(client):
    campagne = CampagneFactory()
    _published(campagne.dsr)
    response = client.get(reverse("referentiel:list"))
    content = response.content.decode()
    assert campagne.dsr.code in content
    assert "Général (obligatoire)" in content
    assert "Phase 1 — identification et éligibilité" in content
    assert "Prochain jalon : J2" in content


def test_dsr_detail_lists_jalons_and_published_versions(client):
    campagne = CampagneFactory()
    _published(campagne.dsr)
    content = client.get(reverse("referentiel:dsr", args=[campagne.dsr.code])).content.decode()
    assert "J2 — date limite de première soumission" in content
    assert "Consulter le REM en vigueur (v1)" in content


def test_rem_page_without_published_version_is_404(client):
    dsr = DsrFactory()
    services.rem_version_import(
        dsr=dsr, file=rem_csv(basic_rows()), filename="REM.csv", label="v1",
        actor=UserFactory(admin=True),
    )  # fmt: skip
    assert client.get(reverse("referentiel:rem", args=[dsr.code])).status_code == 404


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["INS.01", "DMP.02", "PREC.03"]),
        ({"q": "dmp.02"}, ["DMP.02"]),
        ({"q": "alimenter le DMP"}, ["DMP.02"]),
        ({"q": "INS.01.02"}, ["INS.01"]),
        ({"section": "DMP"}, ["DMP.02"]),
        ({"nature": "preconisation"}, ["PREC.03"]),
    ],
)
def test_rem_page_searches(client, params, expected):
    dsr = DsrFactory()
    _published(dsr)
    response = client.get(reverse("referentiel:rem", args=[dsr.code]), params)
    assert [e.identifier for e in response.context["page_obj"]] == expected


def test_rem_page_filters_by_profile(client):
    dsr = DsrFactory()
    _published(dsr)
    profil = dsr.profils.get(name="Médecin traitant")
    response = client.get(reverse("referentiel:rem", args=[dsr.code]), {"profil": profil.pk})
    assert [e.identifier for e in response.context["page_obj"]] == ["DMP.02"]


def test_rem_page_escapes_what_the_sheet_says(client):
    dsr = DsrFactory()
    # Entities in a cell become plain characters, shown as text, never as markup.
    _published(
        dsr, [Row("X.01", statement="Le système DOIT &lt;script&gt;alert(1)&lt;/script&gt;.")]
    )
    content = client.get(reverse("referentiel:rem", args=[dsr.code])).content.decode()
    assert "<script>alert(1)" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content


def test_rem_page_is_paginated_with_a_fixed_number_of_queries(
    client, django_assert_max_num_queries
):
    dsr = DsrFactory()
    rows = [
        Row(f"R.{n:03}", scenario=f"R.{n:03}.01", proofs=[(f"R.{n:03}.01.01", "Vidéo")])
        for n in range(60)
    ]
    _published(dsr, rows)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("referentiel:rem", args=[dsr.code]), {"page": 2})
    assert len(response.context["page_obj"]) == 25
    assert response.context["page_obj"][0].identifier == "R.025"


def test_rem_csv_download_follows_the_search_and_is_inert(client):
    dsr = DsrFactory()
    _published(dsr, [*basic_rows(), Row("=CMD.01", statement="=1+1")])
    response = client.get(reverse("referentiel:rem_csv", args=[dsr.code]), {"nature": "exigence"})
    assert response["Content-Disposition"] == f'attachment; filename="REM-{dsr.code}-v1.csv"'
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert [row["N° exigence"] for row in rows] == ["INS.01", "INS.01", "DMP.02", "'=CMD.01"]
    assert rows[0]["Preuve 1"] == "Vidéo montrant la saisie"
    assert rows[0]["Type de preuve 2"] == ProofKind.FICHIER.label
    assert rows[-1]["Énoncé de l'exigence (DOIT) ou de la préconisation (PEUT)"] == "'=1+1"


def test_rem_csv_reimports_as_the_same_rem(client):
    dsr = DsrFactory()
    _published(dsr)
    response = client.get(reverse("referentiel:rem_csv", args=[dsr.code]))
    exported = io.BytesIO(b"".join(response.streaming_content))
    again = services.rem_version_import(
        dsr=dsr, file=exported, filename="export.csv", label="v2", actor=UserFactory(admin=True)
    ).version
    from candidatures.selectors.referentiel import rem_diff

    assert rem_diff(RemVersion.objects.get(label="v1"), again).is_empty


def test_rem_diff_page_compares_with_the_previous_version(client):
    dsr = DsrFactory()
    _published(dsr, basic_rows(), "v1")
    rows = basic_rows()
    rows.append(Row("NEW.04"))
    new = _published(dsr, rows, "v2")
    content = client.get(reverse("referentiel:diff", args=[dsr.code, new.pk])).content.decode()
    assert "1 exigence(s) ajoutée(s), 0 retirée(s), 0 modifiée(s)" in content
    assert "NEW.04" in content


def test_rem_diff_page_hides_drafts_from_the_public(client):
    dsr = DsrFactory()
    _published(dsr)
    draft = services.rem_version_import(
        dsr=dsr, file=rem_csv(basic_rows()), filename="REM.csv", label="v2",
        actor=UserFactory(admin=True),
    ).version  # fmt: skip
    assert client.get(reverse("referentiel:diff", args=[dsr.code, draft.pk])).status_code == 404


# Administrator screens


@pytest.mark.parametrize("trait", ["instructeur", "college", "mandataire"])
def test_referentiel_admin_is_for_administrators(client, trait):
    client.force_login(UserFactory(**{trait: True}))
    dsr = DsrFactory()
    assert client.get(reverse("referentiel_admin:home")).status_code == 403
    assert client.get(reverse("referentiel_admin:import", args=[dsr.code])).status_code == 403


def test_admin_import_then_preview_then_publish(admin_client):
    dsr = DsrFactory()
    upload = rem_csv(basic_rows())
    upload.name = "REM-test.csv"
    response = admin_client.post(
        reverse("referentiel_admin:import", args=[dsr.code]),
        {"file": upload, "label": "v1", "default_perimetre": "vague_2", "rem": ""},
    )
    version = RemVersion.objects.get()
    assert response["Location"] == reverse("referentiel_admin:version", args=[version.pk])
    content = admin_client.get(response["Location"]).content.decode()
    assert "Brouillon" in content
    assert "Profil nouveau pour ce DSR" in content
    response = admin_client.post(reverse("referentiel_admin:publish", args=[version.pk]))
    assert response["Location"] == reverse("referentiel:rem", args=[dsr.code])
    version.refresh_from_db()
    assert version.status == RemStatus.PUBLISHED


def test_admin_import_errors_are_listed_and_nothing_is_saved(admin_client):
    dsr = DsrFactory()
    upload = rem_csv([Row("A.01", statement="Un"), Row("A.01", statement="Deux")])
    upload.name = "REM.csv"
    response = admin_client.post(
        reverse("referentiel_admin:import", args=[dsr.code]),
        {"file": upload, "label": "v1", "default_perimetre": "vague_2"},
    )
    assert response.status_code == 422
    content = response.content.decode()
    assert "La feuille n’a pas été importée" in content
    assert 'id="erreurs-import"' in content
    assert 'value="v1"' in content
    assert not RemVersion.objects.exists()


def test_admin_import_form_errors_at_the_field(admin_client):
    dsr = DsrFactory()
    response = admin_client.post(
        reverse("referentiel_admin:import", args=[dsr.code]),
        {"label": "", "default_perimetre": "x"},
    )
    form = response.context["form"]
    assert set(form.errors) == {"file", "label", "default_perimetre"}


def test_admin_corrects_a_proof_kind_with_htmx(admin_client):
    dsr = DsrFactory()
    version = _published(dsr)
    preuve = PreuveAttendue.objects.get(
        scenario__exigence__rem_version=version, identifier="INS.01.01.02"
    )
    response = admin_client.post(
        reverse("referentiel_admin:proof_kind", args=[preuve.pk]),
        {"kind": ProofKind.LIEN_RAPPORT},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "Type enregistré." in response.content.decode()
    preuve.refresh_from_db()
    assert preuve.kind == ProofKind.LIEN_RAPPORT


def test_admin_discards_a_draft(admin_client):
    dsr = DsrFactory()
    draft = services.rem_version_import(
        dsr=dsr, file=rem_csv(basic_rows()), filename="REM.csv", label="v1",
        actor=UserFactory(admin=True),
    ).version  # fmt: skip
    response = admin_client.post(reverse("referentiel_admin:discard", args=[draft.pk]))
    assert response["Location"] == reverse("referentiel_admin:home")
    assert not RemVersion.objects.exists()


def _campaign_post(**overrides):
    data = {"label": "Guichet 2027"}
    days = ["2027-01-04", "2027-01-18", "2027-01-25", "2027-02-08", "2027-02-15", "2027-04-12",
            "2027-06-07"]  # fmt: skip
    for k, day in enumerate(days, start=1):
        data[f"j{k}_date"] = day
        data[f"j{k}_time"] = ""
    data.update(overrides)
    return data


def test_admin_opens_a_campaign(admin_client):
    dsr = DsrFactory()
    _published(dsr)
    response = admin_client.post(
        reverse("referentiel_admin:campagne_new", args=[dsr.code]), _campaign_post()
    )
    assert response["Location"] == reverse("referentiel:dsr", args=[dsr.code])
    campagne = Campagne.objects.get()
    assert campagne.j2.isoformat() == "2027-01-18T13:00:00+00:00"


def test_admin_campaign_order_error_shows_at_the_jalon(admin_client):
    dsr = DsrFactory()
    response = admin_client.post(
        reverse("referentiel_admin:campagne_new", args=[dsr.code]),
        _campaign_post(j5_date="2027-01-01"),
    )
    assert response.status_code == 200
    assert "J5 doit tomber au plus tôt à J4" in response.context["form"].errors["j5_date"][0]
    assert 'value="2027-01-01"' in response.content.decode()
    assert not Campagne.objects.exists()


def test_admin_edits_a_campaign(admin_client):
    campagne = CampagneFactory()
    _published(campagne.dsr)
    url = reverse("referentiel_admin:campagne_edit", args=[campagne.dsr.code, campagne.pk])
    assert admin_client.get(url).status_code == 200
    admin_client.post(url, _campaign_post(label="Renommée"))
    campagne.refresh_from_db()
    assert campagne.label == "Renommée"
