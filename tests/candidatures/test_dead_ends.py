"""No dead end (issue 10, item 15): what is required says so, chosen files survive a
form error, the company's data page is linked, an unknown queue is a 404."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from candidatures.models import CguAcceptance, MembreGroupement
from candidatures.services.onboarding import current_cgu
from preuves.models import Fichier
from tests.factories import CandidatureFactory, UserFactory, company_user
from tests.preuves import samples
from tests.preuves.factories import FichierFactory

pytestmark = pytest.mark.django_db


def _signed_in(client, user):
    CguAcceptance.objects.create(user=user, cgu=current_cgu())
    client.force_login(user)
    return user


# /instruction/<anything>/


@pytest.mark.parametrize("role", ["instructeur", "admin"])
def test_an_unknown_instruction_queue_is_not_found(client, role):
    _signed_in(client, UserFactory(**{role: True}))
    assert client.get("/instruction/nimporte-quoi/").status_code == 404
    for phase in ("administratif", "eligibilite", "preuves"):
        url = reverse("instruction:queue_phase", args=[phase])
        assert client.get(url).status_code == 200


# Required fields of the eligibility form never say « Optionnel »


def _label(html: str, field_id: str) -> str:
    match = re.search(rf'<label[^>]*for="{field_id}"[^>]*>(.*?)</label>', html, re.S)
    assert match, field_id
    return " ".join(re.sub(r"<[^>]+>", " ", match[1]).split())


def test_what_the_submission_needs_is_not_labelled_optional(client):
    candidature = CandidatureFactory(admin_validee=True, groupement=True)
    MembreGroupement.objects.create(
        candidature=candidature, raison_sociale="Membre SARL", siret="73282932000074"
    )
    _signed_in(client, company_user(candidature.editeur))
    html = client.get(reverse("candidatures:eligibility", args=[candidature.pk])).text
    for field_id in ("id_nie", "id_nil", "id_cnda_depot", "id_lettre_engagement",
                     "id_membres-0-mandat"):  # fmt: skip
        assert "Optionnel" not in _label(html, field_id), field_id
    legend = re.search(r"<legend[^>]*>\s*Profils.*?</legend>", html, re.S)[0]
    assert "Optionnel" not in legend
    # What may really stay empty still says so.
    assert "Optionnel" in _label(html, "id_groupement")


def test_the_form_still_saves_in_several_goes(client):
    candidature = CandidatureFactory(admin_validee=True)
    _signed_in(client, company_user(candidature.editeur))
    url = reverse("candidatures:eligibility", args=[candidature.pk])
    response = client.post(url, {"nie": "NIE-1", **_management()})
    assert response.status_code == 302
    candidature.refresh_from_db()
    assert (candidature.nie, candidature.nil) == ("NIE-1", "")


# Chosen files survive a form error


def _management(members: int = 0) -> dict:
    data = {
        f"{name}-{key}": "0"
        for name in ("composants", "membres", "distributeurs")
        for key in ("TOTAL_FORMS", "INITIAL_FORMS")
    }
    data["membres-TOTAL_FORMS"] = str(members)
    return data


def _files():
    return {
        "cnda_depot": SimpleUploadedFile("depot-cnda.png", samples.png_bytes()),
        "lettre_engagement": SimpleUploadedFile("lettre.pdf", samples.pdf_bytes()),
        "membres-0-mandat": SimpleUploadedFile("mandat.pdf", samples.pdf_bytes()),
    }


def _member_row() -> dict:
    return {"groupement": "on", "membres-0-raison_sociale": "Membre SARL",
            "membres-0-siret": "732 829 320 00074"}  # fmt: skip


def test_files_chosen_with_a_form_error_are_kept_and_not_asked_again(client):
    candidature = CandidatureFactory(admin_validee=True)
    _signed_in(client, company_user(candidature.editeur))
    url = reverse("candidatures:eligibility", args=[candidature.pk])
    data = {"nie": "NIE é invalide", "nil": "NIL-1", **_management(1), **_member_row()}
    response = client.post(url, {**data, **_files()})
    assert response.status_code == 200
    assert response.context["form"].errors["nie"]
    html = response.text
    for name in ("depot-cnda.png", "lettre.pdf", "mandat.pdf"):
        assert f"Fichier reçu : <strong>{name}</strong>" in html
    # Nothing of the invalid form is saved; the files are stored, named by the page.
    candidature.refresh_from_db()
    assert candidature.cnda_depot is None
    hidden = dict(re.findall(r'name="([\w-]+_recu)" value="([0-9a-f-]+)"', html))
    assert set(hidden) == {"cnda_depot_recu", "lettre_engagement_recu", "membres-0-mandat_recu"}
    # The corrected form is sent without choosing the files again.
    response = client.post(url, {**data, "nie": "NIE-1", **hidden})
    assert response.status_code == 302
    candidature.refresh_from_db()
    assert candidature.cnda_depot.original_name == "depot-cnda.png"
    assert candidature.lettre_engagement.original_name == "lettre.pdf"
    assert candidature.membres_groupement.get().mandat.original_name == "mandat.pdf"
    assert str(candidature.cnda_depot.pk) == hidden["cnda_depot_recu"]


def test_a_refused_file_is_said_at_its_field_and_the_others_are_kept(client):
    candidature = CandidatureFactory(admin_validee=True)
    _signed_in(client, company_user(candidature.editeur))
    url = reverse("candidatures:eligibility", args=[candidature.pk])
    files = _files() | {"lettre_engagement": SimpleUploadedFile("vide.pdf", b"")}
    response = client.post(url, {"nie": "NIE-1", **_management(1), **_member_row(), **files})
    assert response.status_code == 200
    assert "Fichier vide" in response.context["form"].errors["lettre_engagement"][0]
    assert "Fichier reçu : <strong>depot-cnda.png</strong>" in response.text
    candidature.refresh_from_db()
    assert candidature.nie == ""


def test_a_forged_received_file_is_ignored(client):
    candidature = CandidatureFactory(admin_validee=True)
    _signed_in(client, company_user(candidature.editeur))
    stranger = FichierFactory(original_name="secret.pdf")
    agency = FichierFactory(agency=True, editeur=candidature.editeur, original_name="ans.pdf")
    url = reverse("candidatures:eligibility", args=[candidature.pk])
    for fichier in (stranger, agency):
        response = client.post(
            url, {"nie": "NIE-1", "cnda_depot_recu": str(fichier.pk), **_management()}
        )
        assert response.status_code == 302
        candidature.refresh_from_db()
        assert candidature.cnda_depot is None
    client.post(url, {"nie": "NIE-1", "cnda_depot_recu": "pas-un-uuid", **_management()})
    candidature.refresh_from_db()
    assert candidature.cnda_depot is None


def test_another_company_cannot_store_files_through_the_form(client):
    candidature = CandidatureFactory(admin_validee=True)
    _signed_in(client, UserFactory(mandataire=True))
    url = reverse("candidatures:eligibility", args=[candidature.pk])
    before = Fichier.objects.count()
    assert client.post(url, {**_management(), **_files()}).status_code == 404
    assert Fichier.objects.count() == before


# The company's data page is linked where a person looks for it


@pytest.mark.parametrize(("role", "linked"), [("mandataire", True), ("representant", True),
                                             ("salarie", False)])  # fmt: skip
def test_the_company_data_page_is_linked_for_those_who_may_edit_it(client, role, linked):
    user = _signed_in(client, UserFactory(**{role: True}))
    edit = reverse("candidatures:editeur_edit")
    for page in (reverse("dashboard"), reverse("team")):
        html = client.get(page).text
        assert (f'href="{edit}"' in html) is linked, page
    assert user.editeur.representant_nom in client.get(reverse("team")).text
