"""One candidature per company, DSR and technical version (DSR §4.1.1: the technical
version identifies the solution)."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from candidatures.enums import CandidatureState
from candidatures.models import Candidature, CguAcceptance
from candidatures.services import candidature as services
from candidatures.services.onboarding import current_cgu
from tests.factories import CampagneFactory, CandidatureFactory, RemVersionFactory, company_user

pytestmark = pytest.mark.django_db
S = CandidatureState


def _member(editeur):
    user = company_user(editeur)
    CguAcceptance.objects.create(user=user, cgu=current_cgu())
    return user


def _data(version: str) -> dict:
    return {
        "nom_commercial": "MédiLog",
        "version_technique": version,
        "numero_referencement_v1": "",
        "date_depot_preuves_prevue": timezone.localdate() + timedelta(days=60),
    }


def test_the_same_version_cannot_be_filed_twice_whatever_its_spelling():
    existing = CandidatureFactory(version_technique="4.2.1-LTS")
    RemVersionFactory(dsr=existing.campagne.dsr)
    member = _member(existing.editeur)
    with pytest.raises(services.VersionTaken) as error:
        services.candidature_create(
            actor=member, campagne=existing.campagne, data=_data("  4.2.1-lts ")
        )
    assert error.value.existing == existing
    assert "version_technique" in error.value.message_dict
    assert existing.reference in error.value.message_dict["version_technique"][0]
    assert Candidature.objects.count() == 1


def test_another_campaign_of_the_same_dsr_is_the_same_dsr():
    existing = CandidatureFactory(version_technique="5.0", eligible=True)
    later = CampagneFactory(dsr=existing.campagne.dsr, label="Deuxième guichet")
    RemVersionFactory(dsr=later.dsr)
    with pytest.raises(services.VersionTaken):
        services.candidature_create(
            actor=_member(existing.editeur), campagne=later, data=_data("5.0")
        )


def test_another_version_another_dsr_or_another_company_is_free():
    existing = CandidatureFactory(version_technique="5.0")
    RemVersionFactory(dsr=existing.campagne.dsr)
    member = _member(existing.editeur)
    services.candidature_create(actor=member, campagne=existing.campagne, data=_data("5.0.1"))
    other_dsr = CampagneFactory()
    RemVersionFactory(dsr=other_dsr.dsr)
    services.candidature_create(actor=member, campagne=other_dsr, data=_data("5.0"))
    stranger = CandidatureFactory(campagne=existing.campagne, version_technique="9.9")
    services.candidature_create(
        actor=_member(stranger.editeur), campagne=existing.campagne, data=_data("5.0")
    )
    assert Candidature.objects.count() == 5


@pytest.mark.parametrize("state", ["retiree", "rejetee", "refusee", "abandonnee"])
def test_a_candidature_closed_without_referencing_leaves_the_version_free(state):
    closed = CandidatureFactory(version_technique="5.0", state=state)
    RemVersionFactory(dsr=closed.campagne.dsr)
    created = services.candidature_create(
        actor=_member(closed.editeur), campagne=closed.campagne, data=_data("5.0")
    )
    assert created.pk != closed.pk


@pytest.mark.parametrize("state", ["brouillon", "admin_soumise", "en_instruction", "referencee"])
def test_an_open_or_referenced_candidature_holds_the_version(state):
    held = CandidatureFactory(version_technique="5.0", state=state)
    RemVersionFactory(dsr=held.campagne.dsr)
    with pytest.raises(services.VersionTaken):
        services.candidature_create(
            actor=_member(held.editeur), campagne=held.campagne, data=_data("5.0")
        )


def test_renaming_a_draft_to_a_version_already_filed_is_refused():
    first = CandidatureFactory(version_technique="5.0")
    second = CandidatureFactory(editeur=first.editeur, campagne=first.campagne)
    member = _member(first.editeur)
    with pytest.raises(services.VersionTaken):
        services.candidature_update_admin(
            candidature=second, actor=member, data={"version_technique": "5.0 "}
        )
    second.refresh_from_db()
    assert second.version_technique != "5.0 "
    # Its own version, saved again, is no conflict with itself.
    services.candidature_update_admin(
        candidature=first, actor=member, data={"nom_commercial": "MédiLog Pro"}
    )


def test_a_duplicate_draft_from_before_the_rule_cannot_be_submitted():
    # Two drafts of one version, as the portal let them be created until now.
    first = CandidatureFactory(version_technique="5.0", admin_soumise=True)
    duplicate = CandidatureFactory(
        editeur=first.editeur, campagne=first.campagne, version_technique="5.0"
    )
    with pytest.raises(ValidationError, match=first.reference):
        services.candidature_submit_admin(candidature=duplicate, actor=_member(first.editeur))
    duplicate.refresh_from_db()
    assert duplicate.state == S.BROUILLON


def test_the_new_candidature_page_says_it_at_the_field_with_a_link(client):
    existing = CandidatureFactory(version_technique="4.2.1")
    RemVersionFactory(dsr=existing.campagne.dsr)
    client.force_login(_member(existing.editeur))
    response = client.post(
        reverse("candidatures:new"),
        {
            "campagne": existing.campagne.pk,
            **_data("4.2.1"),
            "date_depot_preuves_prevue": "2027-03-01",
        },
    )
    assert response.status_code == 200
    errors = response.context["form"].errors["version_technique"]
    assert existing.reference in errors[0]
    html = response.content.decode()
    link = f'<a href="{reverse("candidatures:detail", args=[existing.pk])}">'
    assert f"{link}Voir la candidature {existing.reference}</a>" in html
    assert Candidature.objects.count() == 1


def test_the_draft_page_names_the_other_candidature_and_offers_no_submission(client):
    first = CandidatureFactory(version_technique="5.0")
    duplicate = CandidatureFactory(
        editeur=first.editeur, campagne=first.campagne, version_technique="5.0"
    )
    client.force_login(_member(first.editeur))
    html = client.get(reverse("candidatures:detail", args=[duplicate.pk])).content.decode()
    assert f"{first.reference}</a>" in html
    assert "Soumettre la candidature administrative" not in html
