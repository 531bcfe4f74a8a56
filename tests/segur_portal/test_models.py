import pytest
from django.db import IntegrityError

from segur_portal.enums import CompanyRole, Role
from segur_portal.models import User
from tests.factories import EditeurFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_user_email_is_unique_whatever_the_case():
    UserFactory(email="marie.curie@exemple.fr")
    with pytest.raises(IntegrityError):
        User.objects.create(email="Marie.Curie@Exemple.fr", role=Role.INSTRUCTEUR)


def test_user_manager_stores_email_lower_cased():
    user = User.objects.create_user(
        "  Paul.Valery@Exemple.FR ", "un-mot-de-passe-solide", first_name="Paul", last_name="Valéry"
    )
    assert user.email == "paul.valery@exemple.fr"
    assert User.objects.get_by_natural_key("PAUL.VALERY@exemple.fr") == user


def test_user_agency_roles_cannot_belong_to_a_company():
    with pytest.raises(IntegrityError):
        UserFactory(instructeur=True, editeur=EditeurFactory(), company_role=CompanyRole.SALARIE)


def test_user_company_role_requires_a_company():
    with pytest.raises(IntegrityError):
        UserFactory(company_role=CompanyRole.MANDATAIRE, editeur=None)


def test_user_only_administrators_are_staff_and_hold_permissions():
    admin = UserFactory(admin=True)
    instructeur = UserFactory(instructeur=True)
    mandataire = UserFactory(mandataire=True)
    assert (admin.is_staff, instructeur.is_staff, mandataire.is_staff) == (True, False, False)
    assert admin.has_perm("segur_portal.change_user")
    assert not instructeur.has_perm("segur_portal.change_user")
    assert not instructeur.has_module_perms("segur_portal")


def test_user_inactive_administrator_holds_no_permission():
    admin = UserFactory(admin=True, is_active=False)
    assert not admin.has_perm("segur_portal.change_user")


def test_create_superuser_makes_an_administrator():
    user = User.objects.create_superuser(
        "chef@ans.fr", "un-mot-de-passe-solide", first_name="Cheffe", last_name="Projet"
    )
    assert user.role == Role.ADMIN
    assert user.is_staff


def test_user_is_mandataire_only_with_the_company_role():
    assert UserFactory(mandataire=True).is_mandataire
    assert not UserFactory(salarie=True).is_mandataire
    assert not UserFactory(representant=True).is_mandataire
