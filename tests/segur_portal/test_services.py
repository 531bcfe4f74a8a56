from datetime import timedelta
from functools import partial

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from segur_portal import services
from segur_portal.bulk import insert_rows
from segur_portal.enums import CompanyRole, Role
from segur_portal.models import Invitation, Notification, OutboundEmail, User
from tests.factories import NotificationFactory, UserFactory

pytestmark = pytest.mark.django_db


# Notifications and e-mails


def test_notification_send_records_and_emails_after_commit(django_capture_on_commit_callbacks):
    alice, bob = UserFactory(), UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        services.notification_send(
            recipients=[alice, bob],
            title="Candidature validée",
            body="Votre candidature administrative est validée.",
            url="/tableau-de-bord/",
        )
    assert Notification.objects.filter(title="Candidature validée").count() == 2
    assert sorted(message.to[0] for message in mail.outbox) == sorted([alice.email, bob.email])
    assert mail.outbox[0].subject == "[Portail Ségur] Candidature validée"
    assert "http://testserver/tableau-de-bord/" in mail.outbox[0].body
    assert OutboundEmail.objects.filter(sent_at__isnull=True).count() == 0


def test_notification_send_sends_nothing_before_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.notification_send(recipients=[UserFactory()], title="Objet", body="Texte")
    assert mail.outbox == []
    assert len(callbacks) == 1


def test_notification_send_skips_inactive_users():
    active, removed = UserFactory(), UserFactory(is_active=False)
    services.notification_send(recipients=[active, removed], title="Objet", body="Texte")
    assert list(Notification.objects.values_list("recipient", flat=True)) == [active.pk]


def test_notification_send_extra_emails_reach_contacts_once(django_capture_on_commit_callbacks):
    user = UserFactory(email="mandataire@exemple.fr")
    with django_capture_on_commit_callbacks(execute=True):
        services.notification_send(
            recipients=[user],
            title="Décision du collège",
            body="Le collège a rendu sa décision.",
            extra_emails=["Contact@Exemple.fr", "contact@exemple.fr", "MANDATAIRE@exemple.fr"],
        )
    assert sorted(message.to[0] for message in mail.outbox) == [
        "contact@exemple.fr",
        "mandataire@exemple.fr",
    ]


@pytest.mark.parametrize("use_copy", [None, False])
def test_notifications_send_many_writes_every_column(monkeypatch, use_copy):
    """Written by COPY on PostgreSQL (or the ORM): the rows the model would write, the
    text as given, each e-mail tied to its notification, the contacts' to none."""
    monkeypatch.setattr(services, "insert_rows", partial(insert_rows, use_copy=use_copy))
    member, other = UserFactory(email="membre@exemple.fr"), UserFactory(email="autre@exemple.fr")
    notices = [
        services.Notice(
            recipients=[member, other],
            title='Objet « un », "cité"',
            body="Texte\nsur deux lignes, ; \\N",
            url="/candidatures/1/",
            extra_emails=["Contact@Exemple.fr", "MEMBRE@exemple.fr"],
        ),
        services.Notice(
            recipients=[UserFactory(is_active=False)],
            title="Deux",
            body="",
            extra_emails=["b@x.fr"],
        ),
    ]
    ids = services.notifications_send_many(notices)
    notifications = Notification.objects.order_by("pk")
    assert [n.pk for n in notifications] == ids
    assert [(n.recipient, n.title, n.body, n.url, n.read_at) for n in notifications] == [
        (member, notices[0].title, notices[0].body, "/candidatures/1/", None),
        (other, notices[0].title, notices[0].body, "/candidatures/1/", None),
    ]
    emails = list(OutboundEmail.objects.order_by("pk"))
    assert [(e.to, e.notification_id) for e in emails] == [
        ("membre@exemple.fr", ids[0]),
        ("autre@exemple.fr", ids[1]),
        ("contact@exemple.fr", None),
        ("b@x.fr", None),
    ]
    assert {e.subject for e in emails[:3]} == {'[Portail Ségur] Objet « un », "cité"'}
    assert "Texte\nsur deux lignes, ; \\N" in emails[0].body
    assert "http://testserver/candidatures/1/" in emails[0].body
    assert "http://testserver" not in emails[2].body
    for email in emails:
        assert (email.sensitive, email.sent_at, email.attempts, email.last_error) == (
            False,
            None,
            0,
            "",
        )
        assert email.failed_at is None and email.created_at is not None


def test_notification_send_without_email_only_records():
    services.notification_send(recipients=[UserFactory()], title="Objet", body="Texte", email=False)
    assert Notification.objects.count() == 1
    assert OutboundEmail.objects.count() == 0


def test_email_deliver_sends_once():
    (email,) = services.email_queue(to=["a@exemple.fr"], subject="Objet", body="Texte")
    assert services.email_deliver(email_id=email.pk) is True
    assert services.email_deliver(email_id=email.pk) is False
    assert len(mail.outbox) == 1
    email.refresh_from_db()
    assert email.sent_at is not None
    assert email.attempts == 1


def test_email_deliver_wipes_a_sensitive_body_once_sent():
    (email,) = services.email_queue(
        to=["a@exemple.fr"], subject="Invitation", body="Lien secret", sensitive=True
    )
    services.email_deliver(email_id=email.pk)
    email.refresh_from_db()
    assert email.body == ""
    assert mail.outbox[0].body == "Lien secret"


def test_email_deliver_keeps_the_email_when_the_mail_server_is_down(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", 1, False
    (email,) = services.email_queue(to=["a@exemple.fr"], subject="Objet", body="Texte")
    with pytest.raises(OSError):
        services.email_deliver(email_id=email.pk)
    email.refresh_from_db()
    assert email.sent_at is None
    assert email.attempts == 1
    assert "ConnectionRefusedError" in email.last_error


def test_emails_requeue_sends_old_unsent_emails_once():
    now = timezone.now()
    old, recent = (
        OutboundEmail.objects.create(to="old@exemple.fr", subject="Vieux", body="x"),
        OutboundEmail.objects.create(to="new@exemple.fr", subject="Récent", body="x"),
    )
    OutboundEmail.objects.filter(pk=old.pk).update(created_at=now - timedelta(minutes=6))
    assert services.emails_requeue(now=now) == 1
    assert services.emails_requeue(now=now) == 0
    assert [message.to for message in mail.outbox] == [["old@exemple.fr"]]
    recent.refresh_from_db()
    assert recent.sent_at is None


def test_emails_requeue_gives_up_after_the_last_attempt():
    email = OutboundEmail.objects.create(
        to="a@exemple.fr", subject="x", body="x", attempts=services.EMAIL_MAX_ATTEMPTS
    )
    OutboundEmail.objects.filter(pk=email.pk).update(created_at=timezone.now() - timedelta(hours=1))
    assert services.emails_requeue(now=timezone.now()) == 0


def test_notification_mark_read_only_by_its_recipient():
    notification = NotificationFactory()
    with pytest.raises(PermissionDenied):
        services.notification_mark_read(notification=notification, user=UserFactory())
    services.notification_mark_read(notification=notification, user=notification.recipient)
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_notifications_mark_all_read_touches_only_the_user():
    mine = NotificationFactory.create_batch(3)
    other = NotificationFactory()
    for notification in mine[1:]:
        notification.recipient = mine[0].recipient
        notification.save()
    assert services.notifications_mark_all_read(user=mine[0].recipient) == 3
    other.refresh_from_db()
    assert other.read_at is None


# Invitations


def test_invitation_create_stores_only_the_token_hash(django_capture_on_commit_callbacks):
    mandataire = UserFactory(mandataire=True)
    with django_capture_on_commit_callbacks(execute=True):
        invitation, token = services.invitation_create(
            actor=mandataire, email="Nouveau@Exemple.fr", company_role=CompanyRole.SALARIE
        )
    assert invitation.email == "nouveau@exemple.fr"
    assert invitation.editeur == mandataire.editeur
    assert token not in invitation.token_hash
    assert len(invitation.token_hash) == 64
    (message,) = mail.outbox
    assert message.to == ["nouveau@exemple.fr"]
    assert f"/invitation/{token}/" in message.body
    assert mandataire.editeur.raison_sociale in message.subject
    assert OutboundEmail.objects.get().body == ""


@pytest.mark.parametrize("trait", ["salarie", "representant", "instructeur", "admin"])
def test_invitation_create_is_for_mandataires_only(trait):
    with pytest.raises(PermissionDenied):
        services.invitation_create(
            actor=UserFactory(**{trait: True}), email="x@exemple.fr", company_role="salarie"
        )


def test_invitation_create_refuses_a_member_of_the_company():
    mandataire = UserFactory(mandataire=True)
    UserFactory(email="deja@exemple.fr", editeur=mandataire.editeur, company_role="salarie")
    with pytest.raises(ValidationError) as error:
        services.invitation_create(
            actor=mandataire, email="DEJA@exemple.fr", company_role="salarie"
        )
    assert "email" in error.value.message_dict


def test_invitation_create_does_not_reveal_an_account_of_another_company():
    UserFactory(email="deja@exemple.fr", mandataire=True)
    invitation, token = services.invitation_create(
        actor=UserFactory(mandataire=True), email="DEJA@exemple.fr", company_role="salarie"
    )
    assert invitation.is_pending()
    # Only the link's holder (the address's owner) learns that the account exists.
    with pytest.raises(ValidationError, match="Un compte existe déjà"):
        services.invitation_accept(
            token=token, first_name="A", last_name="B", password="mot-de-passe-long-1"
        )


def test_invitation_create_again_replaces_the_pending_one():
    mandataire = UserFactory(mandataire=True)
    first, first_token = services.invitation_create(
        actor=mandataire, email="x@exemple.fr", company_role="salarie"
    )
    second, _ = services.invitation_create(
        actor=mandataire, email="x@exemple.fr", company_role="representant"
    )
    first.refresh_from_db()
    assert first.revoked_at is not None
    assert services.invitation_find(first_token).is_pending() is False
    assert second.is_pending()


def test_invitation_accept_creates_the_colleague_in_the_company():
    mandataire = UserFactory(mandataire=True)
    invitation, token = services.invitation_create(
        actor=mandataire, email="collegue@exemple.fr", company_role=CompanyRole.REPRESENTANT
    )
    user = services.invitation_accept(
        token=token, first_name=" Jeanne ", last_name="Barret", password="un-mot-de-passe-solide"
    )
    assert (user.email, user.first_name, user.role) == (
        "collegue@exemple.fr",
        "Jeanne",
        Role.EDITEUR,
    )
    assert (user.editeur, user.company_role) == (mandataire.editeur, CompanyRole.REPRESENTANT)
    assert user.check_password("un-mot-de-passe-solide")
    invitation.refresh_from_db()
    assert invitation.accepted_user == user


def test_invitation_accept_works_once():
    _, token = services.invitation_create(
        actor=UserFactory(mandataire=True), email="c@exemple.fr", company_role="salarie"
    )
    services.invitation_accept(
        token=token, first_name="A", last_name="B", password="mot-de-passe-long-1"
    )
    with pytest.raises(ValidationError, match="pas valable"):
        services.invitation_accept(
            token=token, first_name="A", last_name="B", password="mot-de-passe-long-1"
        )
    assert User.objects.filter(email="c@exemple.fr").count() == 1


def test_invitation_accept_refuses_an_expired_link():
    invitation, token = services.invitation_create(
        actor=UserFactory(mandataire=True), email="c@exemple.fr", company_role="salarie"
    )
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    with pytest.raises(ValidationError, match="expiré"):
        services.invitation_accept(
            token=token, first_name="A", last_name="B", password="mot-de-passe-long-1"
        )


def test_invitation_accept_refuses_a_revoked_link():
    mandataire = UserFactory(mandataire=True)
    invitation, token = services.invitation_create(
        actor=mandataire, email="c@exemple.fr", company_role="salarie"
    )
    services.invitation_revoke(actor=mandataire, invitation=invitation)
    with pytest.raises(ValidationError):
        services.invitation_accept(
            token=token, first_name="A", last_name="B", password="mot-de-passe-long-1"
        )


def test_invitation_accept_applies_the_password_rules_at_the_password_field():
    _, token = services.invitation_create(
        actor=UserFactory(mandataire=True), email="c@exemple.fr", company_role="salarie"
    )
    with pytest.raises(ValidationError) as error:
        services.invitation_accept(token=token, first_name="A", last_name="B", password="court")
    assert "password1" in error.value.message_dict
    assert not User.objects.filter(email="c@exemple.fr").exists()


def test_invitation_revoke_only_within_the_company():
    invitation, _ = services.invitation_create(
        actor=UserFactory(mandataire=True), email="c@exemple.fr", company_role="salarie"
    )
    with pytest.raises(PermissionDenied):
        services.invitation_revoke(actor=UserFactory(mandataire=True), invitation=invitation)


# Removing colleagues


def test_member_remove_closes_access_and_keeps_the_account():
    mandataire = UserFactory(mandataire=True)
    colleague = UserFactory(editeur=mandataire.editeur, company_role=CompanyRole.SALARIE)
    services.member_remove(actor=mandataire, member=colleague)
    colleague.refresh_from_db()
    assert colleague.is_active is False
    assert colleague.removed_by == mandataire
    assert colleague.editeur == mandataire.editeur


def test_member_remove_refuses_oneself():
    mandataire = UserFactory(mandataire=True)
    with pytest.raises(ValidationError):
        services.member_remove(actor=mandataire, member=mandataire)


def test_member_remove_refuses_another_company():
    with pytest.raises(PermissionDenied):
        services.member_remove(actor=UserFactory(mandataire=True), member=UserFactory(salarie=True))


def test_member_remove_is_for_mandataires_only():
    salarie = UserFactory(salarie=True)
    colleague = UserFactory(editeur=salarie.editeur, company_role=CompanyRole.SALARIE)
    with pytest.raises(PermissionDenied):
        services.member_remove(actor=salarie, member=colleague)
