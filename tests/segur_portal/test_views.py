import re

import pytest
from django.core import mail
from django.urls import reverse

from segur_portal.enums import CompanyRole
from segur_portal.models import AccessRequest, Invitation, User
from tests.factories import TEST_PASSWORD, NotificationFactory, UserFactory

pytestmark = pytest.mark.django_db


# Login, logout, lockout, password reset


def test_login_with_email_lands_on_the_dashboard(client):
    user = UserFactory(instructeur=True, email="ivan@ans.fr")
    response = client.post(reverse("login"), {"username": "Ivan@ANS.fr", "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    assert int(client.session["_auth_user_id"]) == user.pk


def test_login_with_a_wrong_password_says_so_in_french(client):
    UserFactory(email="ivan@ans.fr")
    response = client.post(reverse("login"), {"username": "ivan@ans.fr", "password": "faux"})
    assert response.status_code == 200
    assert "Adresse électronique ou mot de passe incorrect" in response.content.decode()


def test_login_locks_out_after_five_failures(client):
    UserFactory(email="ivan@ans.fr")
    for _ in range(4):
        assert (
            client.post(reverse("login"), {"username": "ivan@ans.fr", "password": "x"}).status_code
            == 200
        )
    response = client.post(reverse("login"), {"username": "ivan@ans.fr", "password": "x"})
    assert response.status_code == 429
    assert "Connexion temporairement bloquée" in response.content.decode()
    # Even the right password is refused during the cool-off.
    response = client.post(reverse("login"), {"username": "ivan@ans.fr", "password": TEST_PASSWORD})
    assert response.status_code == 429


def test_login_refuses_an_inactive_account(client):
    UserFactory(email="parti@exemple.fr", is_active=False)
    response = client.post(
        reverse("login"), {"username": "parti@exemple.fr", "password": TEST_PASSWORD}
    )
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_logout_requires_post_and_ends_the_session(client):
    client.force_login(UserFactory())
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response["Location"] == reverse("home")
    assert "_auth_user_id" not in client.session


def test_password_reset_by_email(client, django_capture_on_commit_callbacks):
    user = UserFactory(email="oubli@exemple.fr")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("password_reset"), {"email": "oubli@exemple.fr"})
    assert response["Location"] == reverse("password_reset_done")
    (message,) = mail.outbox
    assert message.subject == "[Portail Ségur] Réinitialisation de votre mot de passe"
    link = re.search(r"http://testserver(/mot-de-passe/reinitialisation/\S+/)", message.body)[1]
    response = client.get(link, follow=True)
    form_url = response.redirect_chain[-1][0]
    response = client.post(
        form_url,
        {"new_password1": "un-nouveau-mot-de-passe", "new_password2": "un-nouveau-mot-de-passe"},
    )
    assert response["Location"] == reverse("password_reset_complete")
    user.refresh_from_db()
    assert user.check_password("un-nouveau-mot-de-passe")
    # The new password signs in; the link did not.
    assert "_auth_user_id" not in client.session


def test_password_reset_rules_shown_at_the_field(client, django_capture_on_commit_callbacks):
    UserFactory(email="oubli@exemple.fr")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("password_reset"), {"email": "oubli@exemple.fr"})
    link = re.search(
        r"http://testserver(/mot-de-passe/reinitialisation/\S+/)", mail.outbox[0].body
    )[1]
    form_url = client.get(link, follow=True).redirect_chain[-1][0]
    response = client.post(form_url, {"new_password1": "123", "new_password2": "123"})
    content = response.content.decode()
    assert response.status_code == 200
    assert "fr-input-group--error" in content
    assert "Ce mot de passe est trop court" in content


def test_password_reset_for_an_unknown_address_reveals_nothing(client):
    response = client.post(reverse("password_reset"), {"email": "inconnu@exemple.fr"})
    assert response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []


# Dashboards and navigation

REF = "Référentiel"
QUEUE = "File d’instruction"
SEANCES = "Séances du collège"
SUPPORT_INBOX = "Support des éditeurs"
AGENCY = ["Candidatures", "Statistiques"]
ADMIN_MENU = [
    "Tableau de bord", QUEUE, *AGENCY, SUPPORT_INBOX, SEANCES, "Gestion du référentiel", REF,
    "Administration",
]  # fmt: skip
EDITOR_MENU = ["Tableau de bord", "Mes candidatures", "Mon entreprise", "Support", REF]


@pytest.mark.parametrize(
    ("traits", "heading", "menu"),
    [
        ({"mandataire": True}, "Tableau de bord", EDITOR_MENU),
        (
            {"instructeur": True},
            "Tableau de bord — instruction",
            ["Tableau de bord", QUEUE, *AGENCY, SUPPORT_INBOX, SEANCES, REF],
        ),
        (
            {"college": True},
            "Tableau de bord — collège technique",
            ["Tableau de bord", SEANCES, REF],
        ),
        ({"admin": True}, "Tableau de bord — administration", ADMIN_MENU),
    ],
)
def test_dashboard_depends_on_the_role(client, traits, heading, menu):
    client.force_login(UserFactory(**traits))
    response = client.get(reverse("dashboard"))
    content = response.content.decode()
    assert f"<h1>{heading}</h1>" in content
    assert [item["label"] for item in response.context["main_nav"]] == menu


def test_dashboard_of_an_editor_without_company_explains_what_comes(client):
    client.force_login(UserFactory())
    content = client.get(reverse("dashboard")).content.decode()
    assert "rattaché à aucune entreprise" in content


def test_pages_run_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    user = UserFactory(mandataire=True)
    NotificationFactory.create_batch(30, recipient=user)
    for _ in range(5):
        AccessRequest.objects.create(
            requester=UserFactory(), siret=user.editeur.siret, editeur=user.editeur
        )
    client.force_login(user)
    with django_assert_max_num_queries(6):
        client.get(reverse("notifications"))
    # The team page: members, invitations and access requests, one query each.
    with django_assert_max_num_queries(7):
        client.get(reverse("team"))


# Notifications


def test_notifications_list_shows_only_mine(client):
    mine = NotificationFactory(title="Pour moi")
    NotificationFactory(title="Pour un autre")
    client.force_login(mine.recipient)
    content = client.get(reverse("notifications")).content.decode()
    assert "Pour moi" in content
    assert "Pour un autre" not in content


def test_notification_open_marks_read_and_follows_the_link(client):
    notification = NotificationFactory(url="/tableau-de-bord/")
    client.force_login(notification.recipient)
    response = client.post(reverse("notification_open", args=[notification.pk]))
    assert response["Location"] == "/tableau-de-bord/"
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_notification_open_ignores_an_external_link(client):
    notification = NotificationFactory(url="https://exemple.com/")
    client.force_login(notification.recipient)
    response = client.post(reverse("notification_open", args=[notification.pk]))
    assert response["Location"] == reverse("notifications")


def test_notification_of_another_user_is_not_found(client):
    notification = NotificationFactory()
    client.force_login(UserFactory())
    assert client.post(reverse("notification_open", args=[notification.pk])).status_code == 404


def test_header_shows_the_unread_count(client):
    user = UserFactory()
    NotificationFactory.create_batch(3, recipient=user)
    client.force_login(user)
    content = client.get(reverse("notification_badge")).content.decode()
    assert '<span class="fr-sr-only"> non lue(s)</span>' in content
    assert ">3<" in content


# Company accounts


def test_team_page_lets_the_mandataire_invite(client, django_capture_on_commit_callbacks):
    mandataire = UserFactory(mandataire=True)
    client.force_login(mandataire)
    assert "Inviter un collègue" in client.get(reverse("team")).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("team"), {"email": "nouvelle@exemple.fr", "company_role": "salarie"}
        )
    assert response["Location"] == reverse("team")
    assert Invitation.objects.get().editeur == mandataire.editeur
    assert mail.outbox[0].to == ["nouvelle@exemple.fr"]


def test_team_invite_errors_appear_at_the_field(client):
    mandataire = UserFactory(mandataire=True)
    UserFactory(email="deja@exemple.fr", editeur=mandataire.editeur, company_role="salarie")
    client.force_login(mandataire)
    response = client.post(reverse("team"), {"email": "deja@exemple.fr", "company_role": "salarie"})
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["email"] == ["Cette personne est déjà membre de votre entreprise."]
    assert 'value="deja@exemple.fr"' in response.content.decode()


def test_team_page_is_read_only_for_a_salarie(client):
    salarie = UserFactory(salarie=True)
    client.force_login(salarie)
    content = client.get(reverse("team")).content.decode()
    assert "Inviter un collègue" not in content
    response = client.post(reverse("team"), {"email": "x@exemple.fr", "company_role": "salarie"})
    assert response.status_code == 403
    assert not Invitation.objects.exists()


@pytest.mark.parametrize("traits", [{"instructeur": True}, {"college": True}, {"admin": True}, {}])
def test_team_page_is_only_for_company_members(client, traits):
    client.force_login(UserFactory(**traits))
    assert client.get(reverse("team")).status_code == 403


def test_team_lists_only_my_company(client):
    mandataire = UserFactory(mandataire=True)
    UserFactory(salarie=True, email="ailleurs@exemple.fr")
    client.force_login(mandataire)
    assert "ailleurs@exemple.fr" not in client.get(reverse("team")).content.decode()


def test_team_remove_a_colleague(client):
    mandataire = UserFactory(mandataire=True)
    colleague = UserFactory(editeur=mandataire.editeur, company_role=CompanyRole.SALARIE)
    client.force_login(mandataire)
    response = client.post(reverse("team_remove", args=[colleague.pk]))
    assert response["Location"] == reverse("team")
    colleague.refresh_from_db()
    assert not colleague.is_active


def test_team_remove_someone_of_another_company_is_not_found(client):
    client.force_login(UserFactory(mandataire=True))
    stranger = UserFactory(salarie=True)
    assert client.post(reverse("team_remove", args=[stranger.pk])).status_code == 404
    stranger.refresh_from_db()
    assert stranger.is_active


def test_team_invitation_revoke_of_another_company_is_not_found(client):
    other = UserFactory(mandataire=True)
    invitation = Invitation.objects.create(
        editeur=other.editeur, email="x@exemple.fr", company_role="salarie", token_hash="0" * 64,
        invited_by=other, expires_at="2099-01-01T00:00Z",
    )  # fmt: skip
    client.force_login(UserFactory(mandataire=True))
    assert client.post(reverse("team_invitation_revoke", args=[invitation.pk])).status_code == 404


def test_invitation_accept_page_creates_the_account_then_asks_to_sign_in(client):
    from segur_portal import services

    mandataire = UserFactory(mandataire=True)
    _, token = services.invitation_create(
        actor=mandataire, email="jeanne@exemple.fr", company_role="representant"
    )
    url = reverse("invitation_accept", args=[token])
    assert mandataire.editeur.raison_sociale in client.get(url).content.decode()
    response = client.post(
        url,
        {
            "first_name": "Jeanne",
            "last_name": "Barret",
            "password1": "un-mot-de-passe-solide",
            "password2": "un-mot-de-passe-solide",
        },
    )
    assert response["Location"] == reverse("login")
    assert User.objects.filter(email="jeanne@exemple.fr").exists()
    assert "_auth_user_id" not in client.session
    assert client.get(url).status_code == 400
    response = client.post(
        reverse("login"), {"username": "jeanne@exemple.fr", "password": "un-mot-de-passe-solide"}
    )
    assert response["Location"] == reverse("dashboard")


def test_invitation_accept_keeps_typed_data_on_error(client):
    from segur_portal import services

    _, token = services.invitation_create(
        actor=UserFactory(mandataire=True), email="j@exemple.fr", company_role="salarie"
    )
    response = client.post(
        reverse("invitation_accept", args=[token]),
        {
            "first_name": "Jeanne",
            "last_name": "Barret",
            "password1": "azerty",
            "password2": "azerty",
        },
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert 'value="Jeanne"' in content
    assert "Ce mot de passe est trop court" in content


def test_invitation_accept_unknown_token_is_refused(client):
    assert client.get(reverse("invitation_accept", args=["inconnu"])).status_code == 400


# Admin


@pytest.mark.parametrize("traits", [{"instructeur": True}, {"college": True}, {"mandataire": True}])
def test_django_admin_is_closed_to_non_administrators(client, traits):
    client.force_login(UserFactory(**traits))
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_django_admin_opens_to_administrators(client):
    client.force_login(UserFactory(admin=True))
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/segur_portal/user/add/").status_code == 200


def test_admin_creates_an_instructor_account(client):
    client.force_login(UserFactory(admin=True))
    response = client.post(
        "/admin/segur_portal/user/add/",
        {
            "email": "nouvel.instructeur@ans.fr",
            "first_name": "Nouvel",
            "last_name": "Instructeur",
            "role": "instructeur",
            "company_role": "",
            "password1": "un-mot-de-passe-solide",
            "password2": "un-mot-de-passe-solide",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert User.objects.get(email="nouvel.instructeur@ans.fr").role == "instructeur"


# Public pages and headers


@pytest.mark.parametrize(
    ("url_name", "text"),
    [
        ("legal_notice", "Directeur de la publication"),
        ("personal_data", "dpo@esante.gouv.fr"),
        ("accessibility", "Défenseur des droits"),
        ("home", "Référencement des logiciels du Ségur"),
    ],
)
def test_public_pages_are_open(client, url_name, text):
    response = client.get(reverse(url_name))
    assert response.status_code == 200
    assert text in response.content.decode()


def test_responses_carry_security_headers(client):
    response = client.get(reverse("home"))
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    csp = dict(
        directive.strip().split(" ", 1)
        for directive in response["Content-Security-Policy"].split(";")
    )
    assert csp["default-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'"
    # Every script and style is a file of ours: nothing inline, no eval.
    assert csp["script-src"] == "'self'"
    assert csp["style-src"] == "'self'"


def test_uploaded_files_are_never_served_by_url(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "preuve.pdf").write_bytes(b"%PDF-1.4 confidentiel")
    client.force_login(UserFactory(admin=True))
    assert client.get(f"{settings.MEDIA_URL}preuve.pdf").status_code == 404


def test_unknown_page_is_a_french_404(client):
    response = client.get("/nexiste-pas/")
    assert response.status_code == 404
    assert "Page introuvable" in response.content.decode()
