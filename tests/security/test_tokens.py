"""Every view that takes a uid or a token, attacked: forged, reused, expired and other-user
tokens. A refused link gives the same 400 page, opens no session and changes nothing; a
good link proves an address or opens a form, and never signs anyone in."""

import re
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.tokens import PasswordResetTokenGenerator, default_token_generator
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from segur_portal import services
from segur_portal.models import Invitation, User
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

INVALID_TEMPLATE = "segur_portal/link_invalid.html"


def _page(response) -> str:
    # The page less its per-request CSRF token.
    return re.sub(r'"X-CSRFToken": "\w+"', "", response.content.decode())


def _uid(user) -> str:
    return urlsafe_base64_encode(force_bytes(user.pk))


def _assert_refused(response, client):
    assert response.status_code == 400
    assert INVALID_TEMPLATE in [template.name for template in response.templates]
    assert "_auth_user_id" not in client.session


class _ThreeHoursAgo:
    """The real token generators, with a clock set three hours back (validity: two)."""

    def _now(self):
        return datetime.now() - timedelta(hours=3)


class _OldEmailToken(_ThreeHoursAgo, services.EmailVerificationTokenGenerator):
    pass


class _OldResetToken(_ThreeHoursAgo, PasswordResetTokenGenerator):
    pass


# Signup confirmation: /inscription/confirmer/<uidb64>/<token>/


def _confirm_url(uid: str, token: str) -> str:
    return reverse("signup_confirm", args=[uid, token])


def _unconfirmed(**kwargs):
    return UserFactory(email_verified_at=None, **kwargs)


def test_forged_token_for_the_administrator_opens_no_session(client):
    admin = UserFactory(admin=True)  # confirmed, like every account in use
    response = client.get(_confirm_url(_uid(admin), "not-a-token"))
    _assert_refused(response, client)
    admin.refresh_from_db()
    assert admin.last_login is None


@pytest.mark.parametrize("traits", [{}, {"instructeur": True}, {"college": True}])
def test_forged_token_for_a_confirmed_account_is_refused(client, traits):
    user = UserFactory(**traits)
    _assert_refused(client.get(_confirm_url(_uid(user), "1-abcdef")), client)


def test_forged_token_for_an_unconfirmed_account_changes_nothing(client):
    user = _unconfirmed()
    _assert_refused(client.get(_confirm_url(_uid(user), "not-a-token")), client)
    user.refresh_from_db()
    assert user.email_verified_at is None


@pytest.mark.parametrize("uid", ["OTk5OTk5OQ", "not-base64!", "", "MA"])
def test_unknown_or_garbled_uid_is_refused(client, uid):
    token = services.email_verification_token.make_token(_unconfirmed())
    response = client.get(f"/inscription/confirmer/{uid}/{token}/")
    if uid:
        _assert_refused(response, client)
    else:
        assert response.status_code == 404  # the route itself needs both parts


def test_good_link_confirms_once_and_sends_to_the_login_page(client):
    user = _unconfirmed()
    url = _confirm_url(_uid(user), services.email_verification_token.make_token(user))
    response = client.get(url, follow=True)
    assert response.redirect_chain == [(reverse("login"), 302)]
    assert "Adresse confirmée. Connectez-vous avec votre mot de passe" in (
        response.content.decode()
    )
    assert "_auth_user_id" not in client.session
    user.refresh_from_db()
    confirmed_at = user.email_verified_at
    assert confirmed_at is not None
    # Reused: refused, and the date of the first confirmation stays.
    _assert_refused(client.get(url), client)
    user.refresh_from_db()
    assert user.email_verified_at == confirmed_at
    # The password is what signs in.
    response = client.post(reverse("login"), {"username": user.email, "password": TEST_PASSWORD})
    assert response["Location"] == reverse("dashboard")


def test_another_users_token_is_refused(client):
    victim, attacker = _unconfirmed(), _unconfirmed()
    token = services.email_verification_token.make_token(attacker)
    _assert_refused(client.get(_confirm_url(_uid(victim), token)), client)
    victim.refresh_from_db()
    assert victim.email_verified_at is None


def test_expired_token_is_refused(client):
    user = _unconfirmed()
    token = _OldEmailToken().make_token(user)
    _assert_refused(client.get(_confirm_url(_uid(user), token)), client)
    user.refresh_from_db()
    assert user.email_verified_at is None


def test_a_password_reset_token_does_not_confirm_an_address(client):
    user = _unconfirmed()
    token = default_token_generator.make_token(user)
    _assert_refused(client.get(_confirm_url(_uid(user), token)), client)


def test_a_signed_in_visitor_keeps_their_own_session(client):
    visitor, other = UserFactory(), _unconfirmed()
    client.force_login(visitor)
    url = _confirm_url(_uid(other), services.email_verification_token.make_token(other))
    assert client.get(url)["Location"] == reverse("login")
    assert int(client.session["_auth_user_id"]) == visitor.pk


def test_every_refusal_shows_the_same_page(client):
    user, other = _unconfirmed(), _unconfirmed()
    confirmed = UserFactory()
    urls = [
        _confirm_url("OTk5OTk5OQ", "1-abc"),
        _confirm_url(_uid(confirmed), "not-a-token"),
        _confirm_url(_uid(user), services.email_verification_token.make_token(other)),
        _confirm_url(_uid(user), _OldEmailToken().make_token(user)),
    ]
    bodies = {_page(client.get(url)) for url in urls}
    assert len(bodies) == 1


def test_account_verify_email_service_checks_the_token_before_the_state():
    confirmed = UserFactory()
    with pytest.raises(ValidationError):
        services.account_verify_email(uidb64=_uid(confirmed), token="not-a-token")


# Password reset: /mot-de-passe/reinitialisation/<uidb64>/<token>/


def _reset_url(uid: str, token: str) -> str:
    return reverse("password_reset_confirm", args=[uid, token])


def _new_password(client, url):
    response = client.get(url, follow=True)
    form_url = response.redirect_chain[-1][0]
    return client.post(
        form_url,
        {"new_password1": "un-nouveau-mot-de-passe", "new_password2": "un-nouveau-mot-de-passe"},
    )


def test_password_reset_forged_token_is_refused(client):
    user = UserFactory(admin=True)
    _assert_refused(client.get(_reset_url(_uid(user), "not-a-token")), client)
    response = client.post(
        _reset_url(_uid(user), "set-password"),
        {"new_password1": "un-nouveau-mot-de-passe", "new_password2": "un-nouveau-mot-de-passe"},
    )
    _assert_refused(response, client)
    user.refresh_from_db()
    assert user.check_password(TEST_PASSWORD)


def test_password_reset_unknown_uid_is_refused(client):
    _assert_refused(client.get(_reset_url("OTk5OTk5OQ", "1-abc")), client)


def test_password_reset_other_users_token_is_refused(client):
    victim, attacker = UserFactory(), UserFactory()
    token = default_token_generator.make_token(attacker)
    _assert_refused(client.get(_reset_url(_uid(victim), token)), client)
    victim.refresh_from_db()
    assert victim.check_password(TEST_PASSWORD)


def test_password_reset_expired_token_is_refused(client):
    user = UserFactory()
    _assert_refused(client.get(_reset_url(_uid(user), _OldResetToken().make_token(user))), client)


def test_password_reset_link_works_once_and_signs_no_one_in(client):
    user = UserFactory()
    url = _reset_url(_uid(user), default_token_generator.make_token(user))
    assert _new_password(client, url)["Location"] == reverse("password_reset_complete")
    assert "_auth_user_id" not in client.session
    user.refresh_from_db()
    assert user.check_password("un-nouveau-mot-de-passe")
    _assert_refused(client.get(url), client)


def test_an_email_confirmation_token_does_not_reset_a_password(client):
    user = UserFactory(email_verified_at=None)
    token = services.email_verification_token.make_token(user)
    _assert_refused(client.get(_reset_url(_uid(user), token)), client)


# Invitations: /invitation/<token>/

ACCEPT = {
    "first_name": "Jeanne",
    "last_name": "Barret",
    "password1": "un-mot-de-passe-solide",
    "password2": "un-mot-de-passe-solide",
}


def _invitation(email="jeanne@exemple.fr"):
    return services.invitation_create(
        actor=UserFactory(mandataire=True), email=email, company_role="salarie"
    )


def _assert_invitation_refused(client, token):
    users = User.objects.count()
    _assert_refused(client.get(reverse("invitation_accept", args=[token])), client)
    _assert_refused(client.post(reverse("invitation_accept", args=[token]), ACCEPT), client)
    assert User.objects.count() == users


def test_invitation_forged_token_is_refused(client):
    _invitation()
    _assert_invitation_refused(client, "not-a-token")


def test_invitation_expired_token_is_refused(client):
    invitation, token = _invitation()
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    _assert_invitation_refused(client, token)


def test_invitation_revoked_token_is_refused(client):
    invitation, token = _invitation()
    services.invitation_revoke(actor=invitation.invited_by, invitation=invitation)
    _assert_invitation_refused(client, token)


def test_invitation_replaced_token_is_refused(client):
    invitation, first = _invitation()
    services.invitation_create(
        actor=invitation.invited_by, email=invitation.email, company_role="salarie"
    )
    _assert_invitation_refused(client, first)


def test_invitation_works_once_and_signs_no_one_in(client):
    _, token = _invitation()
    url = reverse("invitation_accept", args=[token])
    response = client.post(url, ACCEPT)
    assert response["Location"] == reverse("login")
    assert "_auth_user_id" not in client.session
    assert User.objects.filter(email="jeanne@exemple.fr").count() == 1
    _assert_invitation_refused(client, token)


def test_invitation_refusals_show_the_same_page(client):
    expired, expired_token = _invitation("a@exemple.fr")
    Invitation.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    used, used_token = _invitation("b@exemple.fr")
    services.invitation_accept(
        token=used_token, first_name="A", last_name="B", password="mot-de-passe-long-1"
    )
    bodies = {
        _page(client.get(reverse("invitation_accept", args=[token])))
        for token in ("not-a-token", expired_token, used_token)
    }
    assert len(bodies) == 1


def test_the_confirmation_mail_link_is_the_only_one_that_confirms(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("signup"),
            {"email": "nouvelle@exemple.fr", **ACCEPT},
        )
    (message,) = mail.outbox
    link = re.search(r"http://testserver(/inscription/confirmer/\S+/)", message.body)[1]
    uid = link.split("/")[3]
    _assert_refused(client.get(_confirm_url(uid, "not-a-token")), client)
    assert client.get(link)["Location"] == reverse("login")
    assert "_auth_user_id" not in client.session
