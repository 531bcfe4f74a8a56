"""The login lock, attacked with the X-Forwarded-For header and with many addresses.

The client's address is the socket's unless TRUSTED_PROXY_COUNT proxies sit in front;
the lock holds per address and per account. The same address goes to the download log
and the convention signature."""

import pytest
from django.test import RequestFactory
from django.urls import reverse

from college import services as college_services
from college.models import Convention
from preuves.models import FichierDownload
from segur_portal.security import client_ip
from tests.college.phase3 import mandataire
from tests.college.phase3 import validated_candidature as validated
from tests.factories import TEST_PASSWORD, UserFactory
from tests.preuves.factories import FichierFactory

pytestmark = pytest.mark.django_db

LOCKED = 429  # django-axes' lockout page, from the fifth failure on


def _login(client, email, password, **meta):
    return client.post(reverse("login"), {"username": email, "password": password}, **meta)


# The address


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        (0, "198.51.100.9", "192.0.2.1"),  # no proxy: the header is the client's own text
        (0, "", "192.0.2.1"),
        (1, "198.51.100.9", "198.51.100.9"),  # nginx appended the address it saw
        (1, "6.6.6.6, 198.51.100.9", "198.51.100.9"),  # what the client wrote is left of it
        (2, "6.6.6.6, 198.51.100.9, 10.0.0.2", "198.51.100.9"),
        (2, "198.51.100.9", "192.0.2.1"),  # fewer entries than proxies: not from them
        (1, " , ", "192.0.2.1"),
    ],
)
def test_client_ip(settings, count, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = count
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


# The lock


def test_rotating_x_forwarded_for_does_not_dodge_the_lock_without_a_proxy(client, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    user = UserFactory()
    statuses = [
        _login(client, user.email, "faux", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code
        for n in range(30)
    ]
    # The fifth failure is answered with the lockout page (AXES_FAILURE_LIMIT = 5).
    assert statuses[:4] == [200] * 4
    assert statuses[4:] == [LOCKED] * 26
    # Locked: even the right password is refused now.
    response = _login(client, user.email, TEST_PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.99")
    assert response.status_code == LOCKED
    assert "_auth_user_id" not in client.session


def test_rotating_x_forwarded_for_on_many_accounts_locks_the_socket_address(client, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    users = UserFactory.create_batch(6)
    statuses = [
        _login(client, user.email, "faux", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code
        for n, user in enumerate(users)
    ]
    assert statuses == [200] * 4 + [LOCKED] * 2


def test_behind_one_proxy_the_address_is_the_one_the_proxy_saw(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    users = UserFactory.create_batch(7)
    # One attacker behind the proxy, whatever it writes in front of the proxy's entry.
    statuses = [
        _login(
            client,
            user.email,
            "faux",
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}, 198.51.100.7",
        ).status_code
        for n, user in enumerate(users[:6])
    ]
    assert statuses == [200] * 4 + [LOCKED] * 2
    # Another client through the same proxy is not locked out by the attacker.
    response = _login(
        client,
        users[6].email,
        TEST_PASSWORD,
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="198.51.100.8",
    )
    assert response["Location"] == reverse("dashboard")


def test_an_account_is_locked_across_addresses(client, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    user = UserFactory()
    statuses = [
        _login(client, user.email, "faux", REMOTE_ADDR=f"203.0.113.{n}").status_code
        for n in range(6)
    ]
    assert statuses == [200] * 4 + [LOCKED] * 2
    response = _login(client, user.email, TEST_PASSWORD, REMOTE_ADDR="198.51.100.50")
    assert response.status_code == LOCKED
    assert "_auth_user_id" not in client.session


def test_the_lock_does_not_hit_other_accounts_from_other_addresses(client, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    target, other = UserFactory(), UserFactory()
    for n in range(5):
        _login(client, target.email, "faux", REMOTE_ADDR=f"203.0.113.{n}")
    response = _login(client, other.email, TEST_PASSWORD, REMOTE_ADDR="198.51.100.50")
    assert response["Location"] == reverse("dashboard")


def test_the_lockout_page_is_in_french(client):
    user = UserFactory()
    for _ in range(5):
        _login(client, user.email, "faux")
    response = _login(client, user.email, "faux")
    assert response.status_code == LOCKED
    assert "Mot de passe oublié" in response.content.decode()


# The same address in the download log and the signature evidence


def test_the_download_log_ignores_a_forged_header(client, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    fichier = FichierFactory(accepted=True)
    client.force_login(UserFactory(salarie=True, editeur=fichier.editeur))
    response = client.get(
        reverse("preuves:download", args=[fichier.pk]),
        REMOTE_ADDR="192.0.2.10",
        HTTP_X_FORWARDED_FOR="6.6.6.6",
    )
    assert response.status_code == 200
    b"".join(response.streaming_content)
    assert FichierDownload.objects.get().ip_address == "192.0.2.10"


@pytest.mark.parametrize(
    ("count", "expected"), [(0, "10.0.0.2"), (1, "198.51.100.7")], ids=["socket", "proxy"]
)
def test_the_convention_signature_records_the_client_address(client, settings, count, expected):
    settings.TRUSTED_PROXY_COUNT = count
    candidature = validated()
    convention = college_services.convention_issue(
        candidature=candidature, actor=candidature.instructeur
    )
    client.force_login(mandataire(candidature))
    response = client.post(
        reverse("phase3:convention_sign", args=[candidature.pk]),
        {"document_sha256": convention.sha256, "password": TEST_PASSWORD, "consent": "on"},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7",
    )
    assert response.status_code == 302
    assert Convention.objects.get(pk=convention.pk).signed_ip == expected
