"""The editors' dashboard kept per account while what it shows stays the same
(issue 12, item 7): served again in a fixed number of queries, never to another account,
afresh after every change it shows."""

import re
import time
import uuid

import pytest
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.db import connection
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from candidatures.enums import CandidatureState
from candidatures.models import Candidature, CguAcceptance, Sollicitation
from candidatures.models.editeur import EDITEUR_FIELDS
from candidatures.selectors.candidature import editor_dashboard_facts
from candidatures.services.candidature import candidature_update_admin, candidature_validate_admin
from candidatures.services.onboarding import cgu_accept, current_cgu, editeur_update
from candidatures.services.sollicitation import sollicitation_answer, sollicitation_open
from segur_portal import cache
from segur_portal import settings as project_settings
from segur_portal.cache import account_page, public_pages_changed
from segur_portal.models import Notification
from segur_portal.services import notification_mark_read
from tests.factories import (
    CandidatureFactory,
    EditeurFactory,
    NotificationFactory,
    UserFactory,
    company_user,
)

pytestmark = pytest.mark.django_db
S = CandidatureState
TOKEN = re.compile(r"[A-Za-z0-9]{64}")
DASHBOARD = reverse("dashboard")


@pytest.fixture(autouse=True)
def pages_cache(settings):
    """The project's own "pages" cache, keys of this test's own (tests/conftest.py turns
    it off for the other tests)."""
    config = {**project_settings.CACHES["pages"], "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}
    settings.CACHES = {**settings.CACHES, "pages": config}
    if config["BACKEND"].endswith("DatabaseCache"):
        call_command("createcachetable", "segur_pages_cache")


@pytest.fixture
def instructeur():
    return UserFactory(instructeur=True)


def _editor(editeur=None, **kwargs):
    editor = company_user(editeur or EditeurFactory(), company_role="mandataire", **kwargs)
    CguAcceptance.objects.create(user=editor, cgu=current_cgu())
    return editor


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _get(client) -> tuple[str, int]:
    """The dashboard and its own queries (the pages cache's table aside, in the embedded
    portal)."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(DASHBOARD)
    assert response.status_code == 200
    own = [q for q in queries if not any(word in q["sql"] for word in ("_cache", "SAVEPOINT"))]
    return response.content.decode(), len(own)


# Served from the cache


def test_the_dashboard_is_rendered_once_then_served_in_two_queries():
    editor = _editor()
    CandidatureFactory(editeur=editor.editeur, nom_commercial="RadioLog")
    client = _signed_in(editor)
    first, rendered = _get(client)
    again, served = _get(client)
    assert "RadioLog" in first
    # The session, the account and the facts.
    assert served == 2 < rendered
    assert TOKEN.sub("", again) == TOKEN.sub("", first)


def test_served_from_the_cache_in_the_same_queries_however_large_the_company(instructeur):
    editor = _editor()
    client = _signed_in(editor)

    def grow(count):
        for _ in range(count):
            candidature = CandidatureFactory(admin_soumise=True, editeur=editor.editeur)
            sollicitation_open(candidature=candidature, actor=instructeur, text="Précisez.")

    grow(2)
    _get(client)
    _page, small = _get(client)
    grow(20)
    page, rendered = _get(client)
    _page, large = _get(client)
    assert page.count("#sollicitation-") == 22
    assert small == large == 2 < rendered


def test_the_page_served_keeps_its_links_and_is_the_page_rendered(instructeur):
    editor = _editor()
    candidature = CandidatureFactory(admin_soumise=True, editeur=editor.editeur)
    sollicitation = sollicitation_open(candidature=candidature, actor=instructeur, text="Précisez.")
    client = _signed_in(editor)
    first, _ = _get(client)
    again, served = _get(client)
    detail = reverse("candidatures:detail", args=[candidature.pk])
    assert f'href="{detail}"' in again
    assert f'href="{detail}#sollicitation-{sollicitation.pk}"' in again
    assert served == 2
    assert TOKEN.sub("", again) == TOKEN.sub("", first)


def test_each_session_gets_its_own_csrf_token_that_works():
    editor = _editor()
    first = Client(enforce_csrf_checks=True)
    second = Client(enforce_csrf_checks=True)
    first.force_login(editor)
    second.force_login(editor)
    page_1, _ = _get(first)
    page_2, served = _get(second)
    assert served == 2
    token = re.search(r'"X-CSRFToken": "([A-Za-z0-9]+)"', page_2).group(1)
    assert token != re.search(r'"X-CSRFToken": "([A-Za-z0-9]+)"', page_1).group(1)
    # The logout form carries the same token as the header htmx sends.
    assert f'name="csrfmiddlewaretoken" value="{token}"' in page_2
    assert second.post(reverse("logout")).status_code == 403
    assert second.post(reverse("logout"), {"csrfmiddlewaretoken": token}).status_code == 302


# Never another account's page


def test_each_company_sees_its_own_candidatures():
    alpha, beta = _editor(), _editor()
    CandidatureFactory(editeur=alpha.editeur, nom_commercial="AlphaLog")
    CandidatureFactory(editeur=beta.editeur, nom_commercial="BetaLog")
    page_alpha, _ = _get(_signed_in(alpha))
    page_beta, _ = _get(_signed_in(beta))
    assert "AlphaLog" in page_alpha and "BetaLog" not in page_alpha
    assert "BetaLog" in page_beta and "AlphaLog" not in page_beta
    assert beta.editeur.raison_sociale in page_beta
    assert alpha.editeur.raison_sociale not in page_beta


def test_two_members_of_one_company_each_see_their_own_name():
    editor = _editor(first_name="Camille", last_name="Martin")
    colleague = _editor(editor.editeur, first_name="Dominique", last_name="Bernard")
    CandidatureFactory(editeur=editor.editeur)
    _get(_signed_in(editor))
    page, _ = _get(_signed_in(colleague))
    assert "Dominique Bernard" in page and "Camille Martin" not in page


def test_the_same_facts_never_serve_one_account_the_page_of_another():
    one, other = UserFactory(), UserFactory()
    facts = ("the same", 1)
    rendered = []

    def page(user):
        request = RequestFactory().get(DASHBOARD)
        request.user = user
        request.session = {}
        request._messages = get_messages(request)
        return account_page(
            request,
            name="test",
            facts=facts,
            render=lambda: rendered.append(user) or HttpResponse(f"page of {user.pk}"),
        )

    assert page(one).content == f"page of {one.pk}".encode()
    assert page(other).content == f"page of {other.pk}".encode()
    assert page(one).content == f"page of {one.pk}".encode()
    assert rendered == [one, other]


def test_a_member_moved_to_another_company_sees_the_other_company():
    editor = _editor()
    CandidatureFactory(editeur=editor.editeur, nom_commercial="AncienneSociété")
    elsewhere = EditeurFactory()
    CandidatureFactory(editeur=elsewhere, nom_commercial="NouvelleSociété")
    client = _signed_in(editor)
    _get(client)
    editor.editeur = elsewhere
    editor.save(update_fields=["editeur"])
    page, _ = _get(client)
    assert "NouvelleSociété" in page and "AncienneSociété" not in page


# Afresh after every change it shows


def test_a_new_candidature_shows_at_once():
    editor = _editor()
    client = _signed_in(editor)
    _get(client)
    CandidatureFactory(editeur=editor.editeur, nom_commercial="TouteNeuve")
    page, _ = _get(client)
    assert "TouteNeuve" in page


def test_a_change_of_state_shows_at_once(instructeur):
    editor = _editor()
    candidature = CandidatureFactory(admin_soumise=True, editeur=editor.editeur)
    client = _signed_in(editor)
    page, _ = _get(client)
    assert S.ADMIN_SOUMISE.label in page
    Notification.objects.all().delete()
    candidature_validate_admin(candidature=candidature, actor=instructeur)
    Notification.objects.all().delete()
    page, _ = _get(client)
    assert S.ADMIN_VALIDEE.label in page and S.ADMIN_SOUMISE.label not in page


def test_the_public_data_version_is_part_of_the_key():
    editor = _editor()
    candidature = CandidatureFactory(editeur=editor.editeur, nom_commercial="Avant")
    client = _signed_in(editor)
    _get(client)
    Candidature.objects.filter(pk=candidature.pk).update(nom_commercial="Après")
    page, served = _get(client)
    assert "Avant" in page and served == 2
    public_pages_changed()
    page, _ = _get(client)
    assert "Après" in page and "Avant" not in page


def test_the_administrative_data_edited_show_at_once():
    editor = _editor()
    candidature = CandidatureFactory(editeur=editor.editeur, nom_commercial="Avant")
    client = _signed_in(editor)
    _get(client)
    candidature_update_admin(
        candidature=candidature, actor=editor, data={"nom_commercial": "Après"}
    )
    page, _ = _get(client)
    assert "Après" in page and "Avant" not in page


def test_a_sollicitation_shows_when_opened_and_goes_when_answered(instructeur):
    editor = _editor()
    candidature = CandidatureFactory(admin_soumise=True, editeur=editor.editeur)
    client = _signed_in(editor)
    page, _ = _get(client)
    assert "L’ANS attend votre réponse" not in page
    sollicitation = sollicitation_open(candidature=candidature, actor=instructeur, text="Précisez.")
    page, _ = _get(client)
    assert f"#sollicitation-{sollicitation.pk}" in page
    sollicitation_answer(sollicitation=sollicitation, actor=editor, text="Voici.")
    assert Sollicitation.objects.get(pk=sollicitation.pk).status != "ouverte"
    page, _ = _get(client)
    assert f"#sollicitation-{sollicitation.pk}" not in page


def test_the_unread_notifications_count_follows(client):
    editor = _editor()
    client = _signed_in(editor)
    page, _ = _get(client)
    assert 'id="compteur-notifications"' not in page
    notification = NotificationFactory(recipient=editor)
    page, _ = _get(client)
    assert 'id="compteur-notifications">1<' in page
    notification_mark_read(notification=notification, user=editor)
    page, _ = _get(client)
    assert 'id="compteur-notifications"' not in page


def test_the_cgu_accepted_show_as_done():
    editor = company_user(EditeurFactory(), company_role="mandataire")
    client = _signed_in(editor)
    page, _ = _get(client)
    assert f'href="{reverse("cgu")}"' in page
    cgu_accept(user=editor, cgu=current_cgu())
    page, _ = _get(client)
    assert f'href="{reverse("cgu")}"' not in page


def test_the_company_renamed_shows_at_once():
    editor = _editor()
    client = _signed_in(editor)
    _get(client)
    data = {field: getattr(editor.editeur, field) for field in EDITEUR_FIELDS}
    editeur_update(
        editeur=editor.editeur, actor=editor, data={**data, "raison_sociale": "Nouveau Nom SAS"}
    )
    page, _ = _get(client)
    assert "Nouveau Nom SAS" in page


def test_the_page_is_kept_for_a_while_only_for_its_clocks(monkeypatch):
    """Nothing changed, and the page is rendered again once its entry has lived: the
    clocks it shows move with time alone."""
    monkeypatch.setattr(cache, "ACCOUNT_PAGE_TIMEOUT", 1)
    client = _signed_in(_editor())
    _get(client)
    _page, served = _get(client)
    time.sleep(1.2)
    _page, again = _get(client)
    assert served == 2 < again


def test_a_message_waiting_is_shown_and_the_page_not_kept():
    editor = _editor()
    client = _signed_in(editor)
    _get(client)
    assert client.post(reverse("notifications_read")).status_code == 302
    page, rendered = _get(client)
    assert "notification(s) marquée(s) comme lue(s)" in page
    assert rendered > 3
    page, served = _get(client)
    assert "notification(s) marquée(s) comme lue(s)" not in page
    assert served == 2


def test_the_facts_change_with_what_the_page_shows(instructeur):
    editor = _editor()
    before = editor_dashboard_facts(editor)
    candidature = CandidatureFactory(admin_soumise=True, editeur=editor.editeur)
    with_candidature = editor_dashboard_facts(editor)
    sollicitation_open(candidature=candidature, actor=instructeur, text="Précisez.")
    with_sollicitation = editor_dashboard_facts(editor)
    NotificationFactory(recipient=editor)
    with_notification = editor_dashboard_facts(editor)
    assert len({before, with_candidature, with_sollicitation, with_notification}) == 4
    assert (
        with_notification.unread_notifications
        == Notification.objects.filter(recipient=editor, read_at__isnull=True).count()
    )
    assert editor_dashboard_facts(editor) == with_notification


def test_the_facts_of_an_account_without_company():
    facts = editor_dashboard_facts(UserFactory())
    assert (facts.candidatures, facts.open_sollicitations) == ("0:", "0:")
