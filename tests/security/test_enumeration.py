"""No answer tells whether an address has an account; the e-mails one can trigger are
bounded."""

import re
import time

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from segur_portal import services
from segur_portal.models import Invitation, OutboundEmail, User
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

SIGNUP = {
    "first_name": "Jeanne",
    "last_name": "Barret",
    "password1": "un-mot-de-passe-solide",
    "password2": "un-mot-de-passe-solide",
}


def _page(response) -> str:
    text = re.sub(r'"X-CSRFToken": "\w+"', "", response.content.decode())
    return text.replace("connue@exemple.fr", "ADRESSE").replace("nouvelle@exemple.fr", "ADRESSE")


def _signup(client, email, capture):
    with capture(execute=True):
        return client.post(reverse("signup"), {**SIGNUP, "email": email}, follow=True)


# Signup


def test_signup_answers_the_same_for_a_known_and_a_new_address(
    client, django_capture_on_commit_callbacks
):
    known = UserFactory(email="connue@exemple.fr")
    answers = []
    for email in ("connue@exemple.fr", "nouvelle@exemple.fr"):
        client.logout()
        response = _signup(client, email, django_capture_on_commit_callbacks)
        answers.append((response.status_code, response.redirect_chain, _page(response)))
        assert "_auth_user_id" not in client.session
    assert answers[0] == answers[1]
    assert answers[0][1] == [(reverse("signup_sent"), 302)]
    # Each address got its own e-mail; the known account is untouched.
    assert sorted(message.to[0] for message in mail.outbox) == [
        "connue@exemple.fr",
        "nouvelle@exemple.fr",
    ]
    notice = next(m for m in mail.outbox if m.to == ["connue@exemple.fr"])
    assert "Un compte existe déjà avec votre adresse" in notice.subject
    assert "/inscription/confirmer/" not in notice.body
    known.refresh_from_db()
    assert known.check_password(TEST_PASSWORD)
    assert User.objects.filter(email="connue@exemple.fr").count() == 1


def test_signup_service_returns_none_and_creates_nothing_for_a_known_address():
    UserFactory(email="connue@exemple.fr")
    assert (
        services.account_signup(
            email="Connue@Exemple.fr", first_name="A", last_name="B", password="mot-de-passe-long-1"
        )
        is None
    )
    assert User.objects.count() == 1


def test_signup_checks_the_password_before_looking_at_the_address():
    UserFactory(email="connue@exemple.fr")
    for email in ("connue@exemple.fr", "nouvelle@exemple.fr"):
        with pytest.raises(ValidationError) as error:
            services.account_signup(email=email, first_name="A", last_name="B", password="court")
        assert "password1" in error.value.message_dict


def test_repeated_signups_on_a_known_address_send_a_bounded_number_of_notices(settings):
    UserFactory(email="connue@exemple.fr")
    for _ in range(10):
        services.account_signup(
            email="connue@exemple.fr", first_name="A", last_name="B", password="mot-de-passe-long-1"
        )
    assert OutboundEmail.objects.filter(to="connue@exemple.fr").count() == (
        settings.VERIFICATION_EMAILS_PER_HOUR
    )


# Resending the confirmation e-mail


def test_the_confirmation_email_is_resent_a_few_times_an_hour_not_without_limit(
    client, settings, django_capture_on_commit_callbacks
):
    _signup(client, "nouvelle@exemple.fr", django_capture_on_commit_callbacks)
    user = User.objects.get(email="nouvelle@exemple.fr")
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        responses = [client.post(reverse("signup_pending"), follow=True) for _ in range(20)]
    assert len(mail.outbox) == settings.VERIFICATION_EMAILS_PER_HOUR  # the signup's included
    last = responses[-1].content.decode()
    assert "déjà été envoyés" in last and "réessayez plus tard" in last


def test_the_resend_limit_is_per_hour():
    user = UserFactory(email_verified_at=None)
    assert [services.account_send_verification(user=user) for _ in range(4)] == [
        True,
        True,
        True,
        False,
    ]
    OutboundEmail.objects.update(
        created_at=OutboundEmail.objects.first().created_at.replace(year=2000)
    )
    assert services.account_send_verification(user=user) is True


# Invitations


def test_inviting_an_address_with_an_account_says_the_same_as_a_new_one(client):
    UserFactory(email="connue@exemple.fr", mandataire=True)  # another company
    mandataire = UserFactory(mandataire=True)
    client.force_login(mandataire)
    answers = []
    for email in ("connue@exemple.fr", "nouvelle@exemple.fr"):
        response = client.post(
            reverse("team"), {"email": email, "company_role": "salarie"}, follow=True
        )
        answers.append((response.status_code, response.redirect_chain))
        assert f"Invitation envoyée à {email}" in response.content.decode()
    assert answers[0] == answers[1]
    assert Invitation.objects.filter(editeur=mandataire.editeur).count() == 2


# Password reset


def _timed_reset(client, email, capture):
    started = time.monotonic()
    with capture(execute=True):
        response = client.post(reverse("password_reset"), {"email": email})
    return response, time.monotonic() - started


def test_password_reset_takes_the_same_time_for_known_and_unknown_addresses(
    client, settings, django_capture_on_commit_callbacks
):
    settings.PASSWORD_RESET_MIN_SECONDS = 0.3
    UserFactory(email="connue@exemple.fr")
    known, known_seconds = _timed_reset(
        client, "connue@exemple.fr", django_capture_on_commit_callbacks
    )
    unknown, unknown_seconds = _timed_reset(
        client, "inconnue@exemple.fr", django_capture_on_commit_callbacks
    )
    assert known["Location"] == unknown["Location"] == reverse("password_reset_done")
    assert min(known_seconds, unknown_seconds) >= 0.3
    assert abs(known_seconds - unknown_seconds) < 0.1
    assert [message.to for message in mail.outbox] == [["connue@exemple.fr"]]


def test_password_reset_goes_through_the_outbox():
    UserFactory(email="connue@exemple.fr")
    from segur_portal.forms import PasswordResetForm

    form = PasswordResetForm({"email": "connue@exemple.fr"})
    assert form.is_valid()
    form.save(
        domain_override="testserver",
        subject_template_name="emails/password_reset_subject.txt",
        email_template_name="emails/password_reset.txt",
    )
    email = OutboundEmail.objects.get()
    assert (email.to, email.subject, email.sensitive) == (
        "connue@exemple.fr",
        "[Portail Ségur] Réinitialisation de votre mot de passe",
        True,
    )
