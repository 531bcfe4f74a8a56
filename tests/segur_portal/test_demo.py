import pytest
from django.core.management import CommandError, call_command

from segur_portal.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from segur_portal.enums import CompanyRole, Role
from segur_portal.models import User

pytestmark = pytest.mark.django_db


def test_seed_demo_refuses_when_debug_is_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo")
    assert not User.objects.exists()


def test_seed_demo_creates_the_accounts_once(settings, capsys):
    settings.DEBUG = True
    call_command("seed_demo")
    call_command("seed_demo")
    # The demo accounts, plus a user of another demo company who has no password.
    assert User.objects.filter(email__endswith="@demo.segur.fr").count() == 6
    roles = dict(User.objects.filter(email__endswith="@demo.segur.fr").values_list("email", "role"))
    assert roles == {
        "admin@demo.segur.fr": Role.ADMIN,
        "instructeur@demo.segur.fr": Role.INSTRUCTEUR,
        "college@demo.segur.fr": Role.COLLEGE,
        # Three members: a séance reaches its quorum of two with one away.
        "college2@demo.segur.fr": Role.COLLEGE,
        "college3@demo.segur.fr": Role.COLLEGE,
        "editeur@demo.segur.fr": Role.EDITEUR,
    }
    editeur = User.objects.get(email="editeur@demo.segur.fr")
    assert editeur.company_role == CompanyRole.MANDATAIRE
    assert editeur.editeur.raison_sociale == "Éditeur Démo Santé"
    assert all(
        user.check_password(DEMO_PASSWORD)
        for user in User.objects.filter(email__endswith="@demo.segur.fr")
    )
    output = capsys.readouterr().out
    for account in DEMO_ACCOUNTS:
        assert account.email in output
    assert "demo-segur-2026" in output
