"""Someone whose company is already on the portal asks its mandataire for access; the
mandataire accepts or refuses in « Mon entreprise »."""

import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from candidatures.models import CguAcceptance
from candidatures.services.onboarding import current_cgu
from segur_portal import services
from segur_portal.enums import AccessRequestStatus, CompanyRole
from segur_portal.models import AccessRequest, Notification, OutboundEmail
from tests.factories import EditeurFactory, UserFactory, company_user, siret_with_check_digit

pytestmark = pytest.mark.django_db

UNKNOWN_SIRET = siret_with_check_digit("9999999990001")


@pytest.fixture
def company():
    editeur = EditeurFactory()
    mandataire = company_user(editeur, company_role=CompanyRole.MANDATAIRE)
    company_user(editeur)  # a salarié: not told
    return editeur, mandataire


def _requester(**kwargs):
    user = UserFactory(**kwargs)
    CguAcceptance.objects.create(user=user, cgu=current_cgu())
    return user


# Services


def test_a_request_reaches_the_mandataire_only(company):
    editeur, mandataire = company
    requester = _requester(first_name="Jeanne", last_name="Barret")

    request = services.access_request_create(
        requester=requester, siret=editeur.siret, message="Service qualité"
    )

    assert (request.editeur, request.status) == (editeur, AccessRequestStatus.EN_ATTENTE)
    notification = Notification.objects.get()
    assert notification.recipient == mandataire
    assert "Jeanne Barret" in notification.body
    assert notification.url == reverse("team")
    assert list(OutboundEmail.objects.values_list("to", flat=True)) == [mandataire.email]


def test_an_unknown_siret_is_recorded_and_tells_no_one():
    request = services.access_request_create(requester=_requester(), siret=UNKNOWN_SIRET)
    assert (request.editeur, request.status) == (None, AccessRequestStatus.EN_ATTENTE)
    assert not Notification.objects.exists()
    assert not OutboundEmail.objects.exists()


def test_a_newer_request_replaces_the_pending_one(company):
    editeur, _ = company
    requester = _requester()
    first = services.access_request_create(requester=requester, siret=UNKNOWN_SIRET)
    services.access_request_create(requester=requester, siret=editeur.siret)
    first.refresh_from_db()
    assert first.status == AccessRequestStatus.CLOSE
    assert AccessRequest.objects.filter(status=AccessRequestStatus.EN_ATTENTE).count() == 1


@pytest.mark.parametrize("known", [True, False], ids=["known-siret", "unknown-siret"])
def test_a_person_sends_three_requests_an_hour_whatever_the_siret(company, known):
    editeur, _ = company
    requester = _requester()
    siret = editeur.siret if known else UNKNOWN_SIRET
    for _ in range(services.ACCESS_REQUESTS_PER_HOUR):
        services.access_request_create(requester=requester, siret=siret)
    with pytest.raises(ValidationError, match="dans l’heure"):
        services.access_request_create(requester=requester, siret=siret)


@pytest.mark.parametrize(
    "kwargs",
    [{"email_verified_at": None}, {"is_active": False}, {"instructeur": True}],
    ids=["unconfirmed-address", "inactive", "agency"],
)
def test_only_a_confirmed_editor_account_asks(company, kwargs):
    editeur, _ = company
    with pytest.raises(PermissionDenied):
        services.access_request_create(requester=UserFactory(**kwargs), siret=editeur.siret)


def test_a_member_of_a_company_does_not_ask(company):
    editeur, _ = company
    with pytest.raises(ValidationError, match="déjà rattaché"):
        services.access_request_create(
            requester=company_user(EditeurFactory()), siret=editeur.siret
        )


def test_the_mandataire_accepts_with_the_role_they_choose(company):
    editeur, mandataire = company
    requester = _requester()
    request = services.access_request_create(requester=requester, siret=editeur.siret)

    services.access_request_accept(
        actor=mandataire, access_request=request, company_role=CompanyRole.REPRESENTANT
    )

    requester.refresh_from_db()
    request.refresh_from_db()
    assert (requester.editeur, requester.company_role) == (editeur, CompanyRole.REPRESENTANT)
    assert (request.status, request.decided_by) == (AccessRequestStatus.ACCEPTEE, mandataire)
    told = Notification.objects.get(recipient=requester)
    assert told.title == f"Votre accès à {editeur.raison_sociale} est ouvert"
    assert "représentant" in told.body
    with pytest.raises(ValidationError, match="déjà reçu une réponse"):
        services.access_request_refuse(actor=mandataire, access_request=request)


def test_the_mandataire_refuses_and_the_requester_is_told(company):
    editeur, mandataire = company
    requester = _requester()
    request = services.access_request_create(requester=requester, siret=editeur.siret)

    services.access_request_refuse(actor=mandataire, access_request=request)

    requester.refresh_from_db()
    request.refresh_from_db()
    assert requester.editeur is None
    assert request.status == AccessRequestStatus.REFUSEE
    assert Notification.objects.get(recipient=requester).title.endswith("refusée")


def test_a_requester_who_joined_another_company_meanwhile_is_not_moved(company):
    editeur, mandataire = company
    requester = _requester()
    request = services.access_request_create(requester=requester, siret=editeur.siret)
    other = EditeurFactory()
    requester.editeur, requester.company_role = other, CompanyRole.SALARIE
    requester.save()

    with pytest.raises(ValidationError, match="la demande est close"):
        services.access_request_accept(
            actor=mandataire, access_request=request, company_role=CompanyRole.SALARIE
        )
    requester.refresh_from_db()
    request.refresh_from_db()
    assert requester.editeur == other
    assert request.status == AccessRequestStatus.CLOSE


@pytest.mark.parametrize("who", ["salarie", "other-mandataire", "instructeur"])
def test_only_the_companys_mandataire_decides(company, who):
    editeur, _ = company
    request = services.access_request_create(requester=_requester(), siret=editeur.siret)
    actor = {
        "salarie": lambda: company_user(editeur),
        "other-mandataire": lambda: company_user(
            EditeurFactory(), company_role=CompanyRole.MANDATAIRE
        ),
        "instructeur": lambda: UserFactory(instructeur=True),
    }[who]()
    with pytest.raises(PermissionDenied):
        services.access_request_accept(
            actor=actor, access_request=request, company_role=CompanyRole.SALARIE
        )
    with pytest.raises(PermissionDenied):
        services.access_request_refuse(actor=actor, access_request=request)
    request.refresh_from_db()
    assert request.status == AccessRequestStatus.EN_ATTENTE


# Pages


def _anonymised(response, *names) -> str:
    text = re.sub(r'"X-CSRFToken": "\w+"', "", response.content.decode())
    text = re.sub(r'name="csrfmiddlewaretoken" value="\w+"', "", text)
    for name in names:
        text = text.replace(name, "X")
    return text


def test_the_requester_reads_the_same_answer_whether_the_siret_exists_or_not(client, company):
    editeur, _ = company
    answers = []
    for email, siret in (("a@exemple.fr", editeur.siret), ("b@exemple.fr", UNKNOWN_SIRET)):
        client.force_login(_requester(email=email, first_name="Jeanne", last_name="Barret"))
        response = client.post(
            reverse("company_join"), {"siret": siret, "message": ""}, follow=True
        )
        answers.append(
            (response.status_code, response.redirect_chain, _anonymised(response, email, siret))
        )
    assert answers[0] == answers[1]
    assert services.ACCESS_REQUEST_SENT in answers[0][2]


def test_a_mistyped_siret_is_said_at_its_field_and_nothing_is_sent(client):
    client.force_login(_requester())
    response = client.post(reverse("company_join"), {"siret": "12345678901234", "message": "x"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "clé de contrôle incorrecte" in page
    assert 'value="12345678901234"' in page
    assert not AccessRequest.objects.exists()


def test_the_join_page_is_for_editor_accounts_without_a_company(client, company):
    editeur, mandataire = company
    assert client.get(reverse("company_join")).status_code == 302  # to the login page
    client.force_login(mandataire)
    assert client.get(reverse("company_join"))["Location"] == reverse("team")
    client.force_login(UserFactory(email_verified_at=None))
    assert client.get(reverse("company_join"))["Location"] == reverse("signup_pending")
    client.force_login(UserFactory())  # the CGU not accepted yet
    assert client.get(reverse("company_join"))["Location"] == "/cgu/?next=/entreprise/rejoindre/"
    client.force_login(UserFactory(instructeur=True))
    assert client.get(reverse("company_join")).status_code == 403


def test_the_mandataire_sees_and_accepts_the_request_in_mon_entreprise(client, company):
    editeur, mandataire = company
    requester = _requester(first_name="Jeanne", last_name="Barret")
    request = services.access_request_create(
        requester=requester, siret=editeur.siret, message="Service qualité"
    )
    client.force_login(mandataire)
    page = client.get(reverse("team")).content.decode()
    assert "Demandes d’accès" in page
    assert "Jeanne Barret" in page and "« Service qualité »" in page

    response = client.post(
        reverse("team_access_accept", args=[request.pk]), {"company_role": "salarie"}, follow=True
    )
    assert "Jeanne Barret a désormais accès à l’entreprise." in response.content.decode()
    requester.refresh_from_db()
    assert (requester.editeur, requester.company_role) == (editeur, CompanyRole.SALARIE)


def test_a_forged_role_changes_nothing(client, company):
    editeur, mandataire = company
    requester = _requester()
    request = services.access_request_create(requester=requester, siret=editeur.siret)
    client.force_login(mandataire)
    response = client.post(
        reverse("team_access_accept", args=[request.pk]), {"company_role": "admin"}, follow=True
    )
    assert "Choisissez le rôle" in response.content.decode()
    requester.refresh_from_db()
    assert requester.editeur is None


@pytest.mark.parametrize("who", ["salarie", "other-mandataire"])
def test_nobody_else_decides_from_the_pages(client, company, who):
    editeur, _ = company
    request = services.access_request_create(requester=_requester(), siret=editeur.siret)
    actor = (
        company_user(editeur)
        if who == "salarie"
        else company_user(EditeurFactory(), company_role=CompanyRole.MANDATAIRE)
    )
    client.force_login(actor)
    for name in ("team_access_accept", "team_access_refuse"):
        response = client.post(reverse(name, args=[request.pk]), {"company_role": "salarie"})
        assert response.status_code == (403 if who == "salarie" else 404)
    request.refresh_from_db()
    assert request.status == AccessRequestStatus.EN_ATTENTE


# Sign-up is found


@pytest.mark.parametrize("page", ["home", "login"])
def test_sign_up_is_linked_from_the_home_and_login_pages(client, page):
    content = client.get(reverse(page)).content.decode()
    assert f'href="{reverse("signup")}"' in content
    assert "Créer un compte éditeur" in content


def test_an_account_without_company_is_offered_both_ways_in(client):
    client.force_login(_requester())
    content = client.get(reverse("dashboard")).content.decode()
    assert f'href="{reverse("company_join")}"' in content
    assert f'href="{reverse("candidatures:editeur_declare")}"' in content


def test_the_mandataire_refuses_from_mon_entreprise(client, company):
    editeur, mandataire = company
    requester = _requester(first_name="Jeanne", last_name="Barret")
    request = services.access_request_create(requester=requester, siret=editeur.siret)
    client.force_login(mandataire)
    response = client.post(reverse("team_access_refuse", args=[request.pk]), follow=True)
    assert "Demande de Jeanne Barret refusée" in response.content.decode()
    request.refresh_from_db()
    assert request.status == AccessRequestStatus.REFUSEE
