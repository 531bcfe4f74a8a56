from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from candidatures.enums import CandidatureState
from candidatures.models import CandidatureTransition, Cgu, CguAcceptance, Editeur, EditeurChange
from candidatures.services import candidature as services
from candidatures.services import onboarding
from segur_portal.models import Notification
from tests.factories import (
    CampagneFactory,
    CandidatureFactory,
    RemVersionFactory,
    UserFactory,
    company_user,
)

pytestmark = pytest.mark.django_db
S = CandidatureState


def _accept_cgu(user):
    CguAcceptance.objects.create(user=user, cgu=onboarding.current_cgu())


# Onboarding


def test_cgu_accept_records_who_when_and_which_version():
    user = UserFactory()
    cgu = onboarding.current_cgu()
    assert cgu.version == "1.0"
    assert not onboarding.cgu_accepted(user)
    acceptance = onboarding.cgu_accept(user=user, cgu=cgu, ip_address="192.0.2.1")
    assert (acceptance.user, acceptance.cgu, acceptance.ip_address) == (user, cgu, "192.0.2.1")
    assert onboarding.cgu_accepted(user)


def test_a_new_cgu_version_must_be_accepted_again():
    user = UserFactory()
    _accept_cgu(user)
    newer = Cgu.objects.create(version="2.0", text="Nouvelles CGU")
    assert not onboarding.cgu_accepted(user)
    with pytest.raises(ValidationError):
        onboarding.cgu_accept(user=user, cgu=Cgu.objects.get(version="1.0"))
    onboarding.cgu_accept(user=user, cgu=newer)
    assert onboarding.cgu_accepted(user)


COMPANY = {
    "siret": "55210055400013",
    "raison_sociale": "Logiciels Médicaux SA",
    "representant_nom": "Claire Dupont",
    "representant_titre": "Présidente",
    "representant_email": "claire@logmed.example",
    "representant_telephone": "0123456789",
    "contact_nom": "Marc Lemoine",
    "contact_email": "marc@logmed.example",
    "contact_telephone": "+33612345678",
}


def test_editeur_create_makes_the_declarant_its_mandataire():
    user = UserFactory()
    _accept_cgu(user)
    editeur = onboarding.editeur_create(actor=user, data=COMPANY)
    user.refresh_from_db()
    assert (user.editeur, user.company_role) == (editeur, "mandataire")
    assert editeur.created_by == user


def test_editeur_create_requires_the_cgu_and_a_confirmed_address():
    user = UserFactory()
    with pytest.raises(PermissionDenied, match="CGU|conditions"):
        onboarding.editeur_create(actor=user, data=COMPANY)
    unconfirmed = UserFactory(email_verified_at=None)
    _accept_cgu(unconfirmed)
    with pytest.raises(PermissionDenied, match="adresse"):
        onboarding.editeur_create(actor=unconfirmed, data=COMPANY)
    assert not Editeur.objects.exists()


def test_a_known_company_is_not_declared_twice():
    first, second = UserFactory(), UserFactory()
    _accept_cgu(first)
    _accept_cgu(second)
    onboarding.editeur_create(actor=first, data=COMPANY)
    with pytest.raises(ValidationError) as error:
        onboarding.editeur_create(actor=second, data=COMPANY)
    assert "demandez à son mandataire de vous inviter" in error.value.message_dict["siret"][0]


def test_editeur_update_records_each_change_with_who_and_when():
    mandataire = UserFactory(mandataire=True)
    editeur = mandataire.editeur
    data = {field: getattr(editeur, field) for field in COMPANY if field != "siret"}
    data["contact_email"] = "nouveau.contact@editeur.example"
    changes = onboarding.editeur_update(editeur=editeur, actor=mandataire, data=data)
    assert [(c.field, c.new_value, c.changed_by) for c in changes] == [
        ("contact_email", "nouveau.contact@editeur.example", mandataire)
    ]
    assert EditeurChange.objects.count() == 1
    salarie = company_user(editeur)
    with pytest.raises(PermissionDenied):
        onboarding.editeur_update(editeur=editeur, actor=salarie, data=data)


# Creation


def test_candidature_create_pins_the_current_rem_version_and_the_general_profile():
    campagne = CampagneFactory()
    old = RemVersionFactory(dsr=campagne.dsr, published_at=datetime(2026, 1, 1, tzinfo=UTC))
    current = RemVersionFactory(dsr=campagne.dsr)
    user = UserFactory(mandataire=True)
    _accept_cgu(user)
    candidature = services.candidature_create(
        actor=user,
        campagne=campagne,
        data={"nom_commercial": "MédiLog", "version_technique": "4.2.1"},
    )
    assert candidature.rem_version == current != old
    assert candidature.state == S.BROUILLON
    assert [p.name for p in candidature.profils.all()] == ["Général"]


def test_candidature_create_only_in_an_open_guichet_with_a_published_rem():
    user = UserFactory(mandataire=True)
    _accept_cgu(user)
    closed = CampagneFactory(j1=datetime(2026, 1, 5, 8, tzinfo=UTC))
    RemVersionFactory(dsr=closed.dsr)
    with pytest.raises(ValidationError, match="pas ouvert"):
        services.candidature_create(actor=user, campagne=closed, data={})
    without_rem = CampagneFactory()
    with pytest.raises(ValidationError, match="pas encore publié"):
        services.candidature_create(actor=user, campagne=without_rem, data={})


# Administrative submission and the J2 deadline (14:00 Paris)


def _campaign_at_j2(j2: datetime):
    return CampagneFactory(j1=j2 - timedelta(days=14), j2=j2)


def test_submit_admin_at_the_last_second_before_j2():
    j2 = datetime(2026, 12, 14, 13, 0, tzinfo=UTC)  # 14:00 in Paris
    candidature = CandidatureFactory(campagne=_campaign_at_j2(j2))
    member = company_user(candidature.editeur)
    services.candidature_submit_admin(
        candidature=candidature, actor=member, now=j2 - timedelta(seconds=1)
    )
    candidature.refresh_from_db()
    assert candidature.state == S.ADMIN_SOUMISE
    assert candidature.admin_submitted_at == j2 - timedelta(seconds=1)


def test_submit_admin_refused_from_j2_14h_on():
    j2 = datetime(2026, 12, 14, 13, 0, tzinfo=UTC)
    candidature = CandidatureFactory(campagne=_campaign_at_j2(j2))
    with pytest.raises(ValidationError) as error:
        services.candidature_submit_admin(
            candidature=candidature, actor=company_user(candidature.editeur), now=j2
        )
    assert "lundi 14 décembre 2026 à 14:00" in error.value.messages[0]
    candidature.refresh_from_db()
    assert candidature.state == S.BROUILLON
    assert not CandidatureTransition.objects.exists()


def test_submit_admin_requires_the_mandatory_data():
    candidature = CandidatureFactory(version_technique="", date_depot_preuves_prevue=None)
    with pytest.raises(ValidationError) as error:
        services.candidature_submit_admin(
            candidature=candidature, actor=company_user(candidature.editeur)
        )
    assert "numéro de version technique" in error.value.messages[0]
    assert "date prévisionnelle" in error.value.messages[0]


def test_submit_admin_is_for_the_company_only():
    candidature = CandidatureFactory()
    for outsider in (UserFactory(mandataire=True), UserFactory(instructeur=True)):
        with pytest.raises(PermissionDenied):
            services.candidature_submit_admin(candidature=candidature, actor=outsider)


def test_submit_admin_logs_the_transition_and_notifies_the_company_and_contacts(
    django_capture_on_commit_callbacks,
):
    candidature = CandidatureFactory()
    member = company_user(candidature.editeur)
    with django_capture_on_commit_callbacks(execute=True):
        services.candidature_submit_admin(candidature=candidature, actor=member)
    (transition,) = CandidatureTransition.objects.all()
    assert (transition.from_state, transition.to_state, transition.actor) == (
        S.BROUILLON,
        S.ADMIN_SOUMISE,
        member,
    )
    assert Notification.objects.filter(recipient=member).count() == 1
    recipients = sorted(message.to[0] for message in mail.outbox)
    assert recipients == sorted(
        [
            member.email,
            candidature.editeur.contact_email,
            candidature.editeur.representant_email,
        ]
    )


# Agency decisions


def test_validate_admin_by_an_instructor():
    candidature = CandidatureFactory(admin_soumise=True)
    instructeur = UserFactory(instructeur=True)
    services.candidature_validate_admin(candidature=candidature, actor=instructeur)
    candidature.refresh_from_db()
    assert candidature.state == S.ADMIN_VALIDEE
    assert candidature.transitions.get().actor == instructeur


@pytest.mark.parametrize("trait", ["college", "mandataire"])
def test_validate_admin_refused_to_others(trait):
    candidature = CandidatureFactory(admin_soumise=True)
    with pytest.raises(PermissionDenied):
        services.candidature_validate_admin(
            candidature=candidature, actor=UserFactory(**{trait: True})
        )


def test_reject_requires_a_reason_and_closes_the_candidature():
    candidature = CandidatureFactory(admin_soumise=True)
    instructeur = UserFactory(instructeur=True)
    with pytest.raises(ValidationError):
        services.candidature_reject(candidature=candidature, actor=instructeur, reason=" ")
    services.candidature_reject(
        candidature=candidature, actor=instructeur, reason="Version technique introuvable."
    )
    candidature.refresh_from_db()
    assert candidature.state == S.REJETEE
    assert candidature.closed_reason == "Version technique introuvable."


def test_a_transition_from_the_wrong_state_says_what_the_state_is():
    candidature = CandidatureFactory(admin_validee=True)
    with pytest.raises(ValidationError, match="candidature administrative validée"):
        services.candidature_validate_admin(
            candidature=candidature, actor=UserFactory(instructeur=True)
        )


def test_withdraw_by_the_company():
    candidature = CandidatureFactory(admin_soumise=True)
    member = company_user(candidature.editeur)
    services.candidature_withdraw(
        candidature=candidature, actor=member, reason="Version abandonnée"
    )
    candidature.refresh_from_db()
    assert candidature.state == S.RETIREE
    with pytest.raises(ValidationError):
        services.candidature_withdraw(candidature=candidature, actor=member, reason="Encore")


def test_admin_data_editable_only_in_draft_or_under_sollicitation():
    candidature = CandidatureFactory(admin_soumise=True)
    member = company_user(candidature.editeur)
    with pytest.raises(ValidationError, match="plus modifiables"):
        services.candidature_update_admin(
            candidature=candidature, actor=member, data={"nom_commercial": "Autre"}
        )
    draft = CandidatureFactory()
    services.candidature_update_admin(
        candidature=draft, actor=company_user(draft.editeur), data={"nom_commercial": "Autre"}
    )
    draft.refresh_from_db()
    assert draft.nom_commercial == "Autre"
