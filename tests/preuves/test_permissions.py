import pytest
from django.contrib.auth.models import AnonymousUser

from preuves.permissions import can_access_fichier, can_delete_fichier, can_upload_for
from tests.factories import EditeurFactory, UserFactory
from tests.preuves.factories import FichierFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", ["instructeur", "admin"])
def test_the_agents_running_the_procedure_access_every_file(role):
    agent = UserFactory(**{role: True})
    assert can_access_fichier(agent, FichierFactory())
    assert can_access_fichier(agent, FichierFactory(agency=True))


def test_the_college_accesses_no_file_outside_a_judged_dossier():
    # tests/security/test_college_reads.py shows what it reads.
    member = UserFactory(college=True)
    assert not can_access_fichier(member, FichierFactory())
    assert not can_access_fichier(member, FichierFactory(agency=True))


@pytest.mark.parametrize("company_role", ["mandataire", "representant", "salarie"])
def test_a_member_accesses_the_files_of_their_company_only(company_role):
    fichier = FichierFactory()
    member = UserFactory(**{company_role: True, "editeur": fichier.editeur})
    assert can_access_fichier(member, fichier)
    assert not can_access_fichier(member, FichierFactory())
    assert not can_access_fichier(member, FichierFactory(agency=True))


def test_an_inactive_member_accesses_nothing():
    fichier = FichierFactory()
    member = UserFactory(salarie=True, editeur=fichier.editeur, is_active=False)
    assert not can_access_fichier(member, fichier)


def test_an_editor_without_company_accesses_nothing():
    assert not can_access_fichier(UserFactory(), FichierFactory(agency=True))


def test_a_visitor_accesses_nothing():
    assert not can_access_fichier(AnonymousUser(), FichierFactory())


def test_each_side_deletes_its_own_uploads():
    agent = UserFactory(instructeur=True)
    company_file = FichierFactory()
    agent_file_for_company = FichierFactory(editeur=company_file.editeur, uploaded_by=agent)
    member = UserFactory(salarie=True, editeur=company_file.editeur)
    assert can_delete_fichier(member, company_file)
    assert not can_delete_fichier(member, agent_file_for_company)
    assert can_delete_fichier(agent, agent_file_for_company)
    assert not can_delete_fichier(agent, company_file)


def test_uploads_for_a_company_come_from_its_members_or_the_agency():
    editeur = EditeurFactory()
    assert can_upload_for(UserFactory(salarie=True, editeur=editeur), editeur)
    assert not can_upload_for(UserFactory(salarie=True), editeur)
    assert can_upload_for(UserFactory(instructeur=True), editeur)
    assert can_upload_for(UserFactory(instructeur=True), None)
    assert not can_upload_for(UserFactory(salarie=True), None)
