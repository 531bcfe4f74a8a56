"""The submitted eligibility form, read-only, with every annex: for the company and the
agents who validate it; never the collège, never another company."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from candidatures.models import (
    CguAcceptance,
    ComposantAdditionnel,
    Distributeur,
    MembreGroupement,
    VersionParc,
)
from candidatures.services.onboarding import current_cgu
from college.models import Inscription, Seance
from tests.factories import CandidatureFactory, UserFactory, company_user, siret_with_check_digit
from tests.preuves.factories import FichierFactory

pytestmark = pytest.mark.django_db


def _signed_in(client, user):
    CguAcceptance.objects.create(user=user, cgu=current_cgu())
    client.force_login(user)
    return user


def submitted_form(rows: int = 1, **kwargs):
    """A submitted eligibility form with `rows` of each annex, every document stored."""
    candidature = CandidatureFactory(
        eligibilite_soumise=True, groupement=True, distribue=True, **kwargs
    )
    editeur = candidature.editeur

    def fichier(name):
        return FichierFactory(editeur=editeur, original_name=name, accepted=True)

    candidature.cnda_depot = fichier("depot-cnda.pdf")
    candidature.lettre_engagement = fichier("lettre-engagement.pdf")
    candidature.parc_fichier = fichier("parc-client.csv")
    candidature.parc_received_at = candidature.eligibility_submitted_at
    candidature.save()
    for n in range(rows):
        ComposantAdditionnel.objects.create(
            candidature=candidature, editeur_nom=f"Composants {n} SA",
            nom_commercial=f"Connecteur {n}", version="2.0", nil=f"NIL-7{n}", service_socle="dmp",
        )  # fmt: skip
        MembreGroupement.objects.create(
            candidature=candidature, raison_sociale=f"Membre {n} SARL",
            siret=siret_with_check_digit(f"{700000000 + n:09d}0001"), mandat=fichier(f"mandat-{n}.pdf"),
        )  # fmt: skip
        Distributeur.objects.create(
            candidature=candidature, raison_sociale=f"Distributeur {n} SAS",
            siret=siret_with_check_digit(f"{600000000 + n:09d}0001"),
            mandat_signe_le=date(2026, 1, 5), mandat_fin_le=date(2028, 1, 5),
        )  # fmt: skip
        VersionParc.objects.create(
            candidature=candidature, version_technique=f"3.{n}", nom_commercial=f"MédiLog 3.{n}",
            referencee_v1=True, fin_maintenance=False, fin_maintenance_url="",
            fin_commercialisation=False, fin_commercialisation_url="", position=n,
        )  # fmt: skip
    return candidature


def _download_status(client, fichier) -> int:
    response = client.get(reverse("preuves:download", args=[fichier.pk]))
    response.close()
    return response.status_code


def _url(candidature):
    return reverse("candidatures:eligibility_read", args=[candidature.pk])


EVERY_ANNEX = [
    "NIE-0042",
    "NIL-4242",
    "depot-cnda.pdf",
    "lettre-engagement.pdf",
    "parc-client.csv",
    "MédiLog 3.0",
    "Connecteur 0",
    "Membre 0 SARL",
    "mandat-0.pdf",
    "Distributeur 0 SAS",
    "5 janvier 2028",
]


@pytest.mark.parametrize("role", ["instructeur", "admin"])
def test_the_agency_reads_the_whole_form_with_its_downloads(client, role):
    candidature = submitted_form()
    _signed_in(client, UserFactory(**{role: True}))
    response = client.get(_url(candidature))
    assert response.status_code == 200
    for text in EVERY_ANNEX:
        assert text in response.text, text
    mandat = candidature.membres_groupement.get().mandat
    assert reverse("preuves:download", args=[mandat.pk]) in response.text
    assert _download_status(client, mandat) == 200
    # The instructor decides from the page that shows what is decided upon.
    assert "Valider l’éligibilité" in response.text


def test_the_company_reads_its_own_form_and_cannot_validate_it(client):
    candidature = submitted_form()
    _signed_in(client, company_user(candidature.editeur))
    response = client.get(_url(candidature))
    assert response.status_code == 200
    for text in EVERY_ANNEX:
        assert text in response.text, text
    assert "Valider l’éligibilité" not in response.text
    mandat = candidature.membres_groupement.get().mandat
    assert _download_status(client, mandat) == 200


def test_another_company_gets_a_404_for_the_form_and_its_files(client):
    candidature = submitted_form()
    _signed_in(client, UserFactory(mandataire=True))
    assert client.get(_url(candidature)).status_code == 404
    mandat = candidature.membres_groupement.get().mandat
    assert _download_status(client, mandat) == 404


def test_anonymous_is_sent_to_the_login_page(client):
    response = client.get(_url(submitted_form()))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_college_does_not_read_eligibility_documents(client):
    on_agenda = submitted_form()
    Inscription.objects.create(
        candidature=on_agenda,
        seance=Seance.objects.create(date=date(2027, 1, 7), starts_at="2027-01-07T13:00Z"),
        signed_at="2027-01-04T10:00Z",
    )
    off_agenda = submitted_form()
    _signed_in(client, UserFactory(college=True))
    # Its candidature is visible, its eligibility form is not; any other is not found.
    assert client.get(reverse("candidatures:detail", args=[on_agenda.pk])).status_code == 200
    assert client.get(_url(on_agenda)).status_code == 403
    assert client.get(_url(off_agenda)).status_code == 404
    page = client.get(reverse("candidatures:detail", args=[on_agenda.pk])).text
    assert "depot-cnda.pdf" not in page
    assert "Voir le formulaire d’éligibilité" not in page
    mandat = on_agenda.membres_groupement.get().mandat
    assert _download_status(client, mandat) == 404


def test_the_candidature_page_links_to_the_form_for_the_instructor(client):
    candidature = submitted_form()
    _signed_in(client, UserFactory(instructeur=True))
    page = client.get(reverse("candidatures:detail", args=[candidature.pk])).text
    assert _url(candidature) in page
    # The editing form stays the company's.
    assert client.get(reverse("candidatures:eligibility", args=[candidature.pk])).status_code == 403


def test_the_page_reads_in_the_same_number_of_queries_whatever_the_rows(
    client, django_assert_max_num_queries
):
    small, large = submitted_form(rows=1), submitted_form(rows=6)
    _signed_in(client, UserFactory(instructeur=True))
    with CaptureQueriesContext(connection) as one:
        assert client.get(_url(small)).status_code == 200
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert client.get(_url(large)).status_code == 200
