import pytest
from django.urls import reverse

from tests.factories import UserFactory
from tests.preuves.factories import FichierFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["fichier", "fichierdownload"])
def test_the_admin_lists_files_and_downloads_read_only(client, model):
    fichier = FichierFactory(accepted=True)
    fichier.downloads.create(user=fichier.uploaded_by, ip_address="192.0.2.1")
    client.force_login(UserFactory(admin=True))
    response = client.get(reverse(f"admin:preuves_{model}_changelist"))
    assert response.status_code == 200
    assert "compte-rendu.pdf" in response.content.decode()
    assert client.get(reverse(f"admin:preuves_{model}_add")).status_code == 403
