import json
import re

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from candidatures.enums import CandidatureState
from candidatures.models import Candidature, CguAcceptance, Editeur
from candidatures.parc import model_csv
from candidatures.services.onboarding import current_cgu
from candidatures.services.sollicitation import sollicitation_open
from segur_portal.models import User
from tests.factories import (
    CampagneFactory,
    CandidatureFactory,
    RemVersionFactory,
    UserFactory,
    company_user,
)

pytestmark = pytest.mark.django_db
S = CandidatureState


def _member(candidature, **kwargs):
    user = company_user(candidature.editeur, **kwargs)
    CguAcceptance.objects.create(user=user, cgu=current_cgu())
    return user


# Onboarding, in the browser's order


def test_signup_confirm_cgu_company(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("signup"),
            {
                "first_name": "Jeanne",
                "last_name": "Barret",
                "email": "Jeanne@Editeur.example",
                "password1": "un-mot-de-passe-solide",
                "password2": "un-mot-de-passe-solide",
            },
        )
    # Signing up opens no session (a known address would get none): the password does.
    assert response["Location"] == reverse("signup_sent")
    assert "_auth_user_id" not in client.session
    user = User.objects.get(email="jeanne@editeur.example")
    assert user.email_verified_at is None
    link = re.search(r"http://testserver(/inscription/confirmer/\S+/)", mail.outbox[0].body)[1]
    # The link confirms the address, then sends to the login page.
    response = client.get(link)
    assert response["Location"] == reverse("login")
    assert "_auth_user_id" not in client.session
    response = client.post(
        reverse("login"),
        {"username": "jeanne@editeur.example", "password": "un-mot-de-passe-solide"},
    )
    assert response["Location"] == reverse("dashboard")
    assert client.get(reverse("dashboard")).status_code == 200
    response = client.get(reverse("candidatures:new"))
    assert response["Location"].startswith(reverse("cgu"))
    response = client.post(reverse("cgu"), {"accept": "on"})
    assert response["Location"] == reverse("candidatures:editeur_declare")
    response = client.post(
        reverse("candidatures:editeur_declare"),
        {
            "siret": "552 100 554 00013",
            "raison_sociale": "Logiciels Médicaux SA",
            "representant_nom": "Claire Dupont",
            "representant_titre": "Présidente",
            "representant_email": "claire@logmed.example",
            "representant_telephone": "01 23 45 67 89",
            "contact_nom": "Marc Lemoine",
            "contact_email": "marc@logmed.example",
            "contact_telephone": "+33 6 12 34 56 78",
        },
    )
    assert response["Location"] == reverse("dashboard")
    editeur = Editeur.objects.get()
    assert (editeur.siret, editeur.representant_telephone) == ("55210055400013", "0123456789")
    user.refresh_from_db()
    assert user.company_role == "mandataire"


def test_company_form_errors_stay_at_their_field(client):
    user = UserFactory()
    CguAcceptance.objects.create(user=user, cgu=current_cgu())
    client.force_login(user)
    response = client.post(
        reverse("candidatures:editeur_declare"),
        {"siret": "12345678900012", "raison_sociale": "X", "representant_telephone": "12"},
    )
    form = response.context["form"]
    assert "clé de contrôle incorrecte" in form.errors["siret"][0]
    assert "Numéro de téléphone attendu" in form.errors["representant_telephone"][0]
    assert 'value="X"' in response.content.decode()


def test_cgu_page_is_public(client):
    response = client.get(reverse("cgu"))
    assert response.status_code == 200
    assert "Convention de preuve" in response.content.decode()


# The editor's pages


def test_new_candidature_lists_only_open_guichets(client):
    open_campaign = CampagneFactory()
    RemVersionFactory(dsr=open_campaign.dsr)
    user = UserFactory(mandataire=True)
    CguAcceptance.objects.create(user=user, cgu=current_cgu())
    client.force_login(user)
    response = client.get(reverse("candidatures:new"))
    assert list(response.context["form"].fields["campagne"].queryset) == [open_campaign]
    response = client.post(
        reverse("candidatures:new"),
        {
            "campagne": open_campaign.pk,
            "nom_commercial": "MédiLog",
            "version_technique": "4.2",
            "date_depot_preuves_prevue": "2027-03-01",
        },
    )
    candidature = Candidature.objects.get()
    assert response["Location"] == reverse("candidatures:detail", args=[candidature.pk])


def test_candidature_pages_render_for_the_company_at_each_step(client):
    for traits in [{}, {"admin_soumise": True}, {"admin_validee": True}, {"eligible": True}]:
        candidature = CandidatureFactory(**traits)
        client.force_login(_member(candidature))
        response = client.get(reverse("candidatures:detail", args=[candidature.pk]))
        assert response.status_code == 200, traits
        assert candidature.get_state_display() in response.content.decode()


def test_admin_data_autosave_with_htmx(client):
    candidature = CandidatureFactory()
    client.force_login(_member(candidature))
    response = client.post(
        reverse("candidatures:admin_edit", args=[candidature.pk]),
        {
            "nom_commercial": "Nouveau nom",
            "version_technique": "5.0",
            "date_depot_preuves_prevue": "2027-03-01",
        },  # fmt: skip
        HTTP_HX_REQUEST="true",
    )
    assert "Enregistré automatiquement" in response.content.decode()
    candidature.refresh_from_db()
    assert candidature.nom_commercial == "Nouveau nom"


def test_submit_admin_from_the_page(client):
    candidature = CandidatureFactory()
    client.force_login(_member(candidature))
    response = client.post(reverse("candidatures:submit_admin", args=[candidature.pk]), follow=True)
    assert "Candidature administrative soumise" in response.content.decode()
    candidature.refresh_from_db()
    assert candidature.state == S.ADMIN_SOUMISE


def test_eligibility_page_and_parc_upload(client):
    candidature = CandidatureFactory(admin_validee=True)
    client.force_login(_member(candidature))
    url = reverse("candidatures:eligibility", args=[candidature.pk])
    assert client.get(url).status_code == 200
    response = client.post(
        reverse("candidatures:parc_upload", args=[candidature.pk]),
        {"file": SimpleUploadedFile("parc.csv", model_csv())},
    )
    assert response["Location"] == url
    response = client.post(
        reverse("candidatures:parc_upload", args=[candidature.pk]),
        {"file": SimpleUploadedFile("parc.csv", b"a;b\n1;2\n")},
    )
    assert response.status_code == 422
    assert "Aucune ligne d’en-tête reconnue" in response.content.decode()


def test_eligibility_form_post_saves_formsets(client):
    candidature = CandidatureFactory(admin_validee=True)
    client.force_login(_member(candidature))
    data = {
        "nie": "NIE-1",
        "nil": "NIL-1",
        "distribue": "on",
        "composants-TOTAL_FORMS": "1",
        "composants-INITIAL_FORMS": "0",
        "composants-0-editeur_nom": "Composants SA",
        "composants-0-nom_commercial": "Connecteur",
        "composants-0-version": "1.0",
        "composants-0-nil": "NIL-2",
        "composants-0-service_socle": "ins",
        "membres-TOTAL_FORMS": "0",
        "membres-INITIAL_FORMS": "0",
        "distributeurs-TOTAL_FORMS": "1",
        "distributeurs-INITIAL_FORMS": "0",
        "distributeurs-0-raison_sociale": "Distrib",
        "distributeurs-0-siret": "73282932000074",
        "distributeurs-0-mandat_signe_le": "2026-06-01",
        "distributeurs-0-mandat_fin_le": "2026-05-01",
    }
    url = reverse("candidatures:eligibility", args=[candidature.pk])
    response = client.post(url, data)
    assert response.status_code == 200
    assert "La fin du mandat doit être postérieure à sa signature." in response.content.decode()
    data["distributeurs-0-mandat_fin_le"] = "2027-06-01"
    assert client.post(url, data)["Location"] == url
    assert candidature.distributeurs.get().raison_sociale == "Distrib"
    assert candidature.composants.get().nom_commercial == "Connecteur"


# The agency's pages


def test_instruction_queue_oldest_first_with_filters(client):
    older = CandidatureFactory(admin_soumise=True)
    newer = CandidatureFactory(admin_soumise=True)
    Candidature.objects.filter(pk=older.pk).update(
        admin_submitted_at=newer.admin_submitted_at.replace(year=2025)
    )
    client.force_login(UserFactory(instructeur=True))
    response = client.get(reverse("instruction:queue"))
    assert [row.candidature for row in response.context["rows"]] == [older, newer]
    response = client.get(reverse("instruction:queue"), {"dsr": newer.dsr.code})
    assert [row.candidature for row in response.context["rows"]] == [newer]


def test_instruction_queue_shows_waiting_and_overdue(client):
    candidature = CandidatureFactory(admin_soumise=True)
    instructeur = UserFactory(instructeur=True)
    sollicitation_open(candidature=candidature, actor=instructeur, text="Précisez.")
    client.force_login(instructeur)
    response = client.get(reverse("instruction:queue"), {"etat": "sollicitee"})
    (row,) = response.context["rows"]
    assert row.clocks[0].label.endswith("inclus")
    assert "En attente de l’éditeur" in response.content.decode()


@pytest.mark.parametrize("trait", ["mandataire", "college"])
def test_instruction_queue_is_for_instructors(client, trait):
    client.force_login(UserFactory(**{trait: True}))
    assert client.get(reverse("instruction:queue")).status_code == 403


def test_agency_validates_from_the_page(client):
    candidature = CandidatureFactory(admin_soumise=True)
    client.force_login(UserFactory(instructeur=True))
    client.post(reverse("candidatures:validate_admin", args=[candidature.pk]))
    candidature.refresh_from_db()
    assert candidature.state == S.ADMIN_VALIDEE


def test_timeline_hides_agency_names_from_the_editor(client):
    candidature = CandidatureFactory(admin_soumise=True)
    instructeur = UserFactory(instructeur=True, first_name="Ivan", last_name="Terrible")
    client.force_login(instructeur)
    client.post(reverse("candidatures:validate_admin", args=[candidature.pk]))
    assert (
        "Ivan Terrible"
        in client.get(reverse("candidatures:detail", args=[candidature.pk])).content.decode()
    )
    client.force_login(_member(candidature))
    content = client.get(reverse("candidatures:detail", args=[candidature.pk])).content.decode()
    assert "Ivan Terrible" not in content
    assert "Agence du Numérique en Santé" in content


# Public lists


def test_public_list_of_candidatures_in_progress(client):
    shown = CandidatureFactory(admin_validee=True, nom_commercial="Visible")
    CandidatureFactory(admin_soumise=True, nom_commercial="Pas encore")
    content = client.get(reverse("registre:en_cours")).content.decode()
    assert "Visible" in content and "Pas encore" not in content
    data = json.loads(b"".join(client.get(reverse("registre:en_cours_json")).streaming_content))
    assert data == {
        "candidatures": [
            {
                "dsr": shown.dsr.code,
                "editeur": shown.editeur.raison_sociale,
                "nom_commercial": "Visible",
                "version_technique": shown.version_technique,
                "profils": ["Général"],
            }
        ],
        "retirees": [],
    }
    csv_text = b"".join(client.get(reverse("registre:en_cours_csv")).streaming_content).decode(
        "utf-8-sig"
    )
    assert csv_text.splitlines()[1].startswith(f"{shown.dsr.code},{shown.editeur.raison_sociale}")


def test_public_parc_page(client):
    candidature = CandidatureFactory(admin_validee=True)
    from candidatures.services.eligibility import parc_upload

    parc_upload(
        candidature=candidature,
        actor=company_user(candidature.editeur),
        upload=SimpleUploadedFile("parc.csv", model_csv()),
    )
    response = client.get(reverse("registre:parc", args=[candidature.pk]))
    assert response.status_code == 200
    assert candidature.versions_parc.first().version_technique in response.content.decode()
    assert client.get(reverse("registre:parc", args=[CandidatureFactory().pk])).status_code == 404


def test_agency_moves_a_candidature_to_another_rem_version_after_the_impact(client):
    candidature = CandidatureFactory(admin_soumise=True)
    newer = RemVersionFactory(dsr=candidature.dsr)
    client.force_login(UserFactory(instructeur=True))
    url = reverse("candidatures:rem_move", args=[candidature.pk])
    response = client.get(url, {"version": newer.pk})
    impact = response.context["impact"]
    assert "Impact pour les profils de la candidature" in response.content.decode()
    client.post(url, {"version": newer.pk, "digest": "faux", "reason": "Mise à jour du DSR"})
    candidature.refresh_from_db()
    assert candidature.rem_version != newer
    client.post(url, {"version": newer.pk, "digest": impact.digest, "reason": "Mise à jour"})
    candidature.refresh_from_db()
    assert candidature.rem_version == newer
