"""Sollicitations as conversations: several messages each way until the instructor closes
the exchange (or the jalon ends it); only the company's first answer stops the clock."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.models.deletion import ProtectedError
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from candidatures.enums import CandidatureState, SollicitationStatus
from candidatures.models import CguAcceptance, Sollicitation
from candidatures.services import sollicitation as services
from candidatures.services.candidature import candidature_validate_admin
from candidatures.services.onboarding import current_cgu
from candidatures.services.sollicitation import sollicitations_sweep
from preuves import services as fichier_services
from segur_portal.models import Notification
from tests.candidatures.test_sollicitations import (
    END_OF_FRIDAY_11_DEC,
    FRIDAY_4_DEC_16H,
    _campaign,
)
from tests.college.phase3 import signed_candidature
from tests.factories import CandidatureFactory, UserFactory, company_user
from tests.preuves import samples

pytestmark = pytest.mark.django_db
S = CandidatureState
Status = SollicitationStatus
MONDAY_7_DEC = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.fixture
def exchange():
    """A phase-1 sollicitation opened on Friday 4 December 2026 at 16:00 Paris."""
    candidature = CandidatureFactory(admin_soumise=True, campagne=_campaign())
    instructeur = UserFactory(instructeur=True)
    sollicitation = services.sollicitation_open(
        candidature=candidature,
        actor=instructeur,
        text="Précisez le NIL du composant principal.",
        now=FRIDAY_4_DEC_16H,
    )
    return sollicitation, instructeur, company_user(candidature.editeur)


def _send(sollicitation, actor, text, now, files=()):
    return services.sollicitation_message_send(
        sollicitation=sollicitation, actor=actor, text=text, files=files, now=now
    )


# Service: the thread and its clock


def test_three_messages_then_the_instructor_closes(exchange, django_capture_on_commit_callbacks):
    sollicitation, instructeur, member = exchange
    with django_capture_on_commit_callbacks(execute=True):
        first = _send(sollicitation, member, "Le NIL est 4242.", MONDAY_7_DEC)
        _send(sollicitation, instructeur, "Et sa version ?", MONDAY_7_DEC + timedelta(hours=1))
        _send(sollicitation, member, "La 4.2.1.", MONDAY_7_DEC + timedelta(hours=2))
    sollicitation.refresh_from_db()
    assert first.first_answer
    assert sollicitation.status == Status.REPONDUE
    assert sollicitation.answered_at == MONDAY_7_DEC
    assert [(m.from_agency, m.text) for m in sollicitation.messages.all()] == [
        (True, "Précisez le NIL du composant principal."),
        (False, "Le NIL est 4242."),
        (True, "Et sa version ?"),
        (False, "La 4.2.1."),
    ]
    services.sollicitation_close(
        sollicitation=sollicitation, actor=instructeur, now=MONDAY_7_DEC + timedelta(hours=3)
    )
    sollicitation.refresh_from_db()
    assert sollicitation.status == Status.CLOSE
    assert sollicitation.closed_by == instructeur
    assert sollicitation.closed_at == MONDAY_7_DEC + timedelta(hours=3)
    assert Notification.objects.filter(recipient=member, title__startswith="Échange clos").exists()


def test_only_the_first_answer_stops_the_clock(exchange):
    sollicitation, instructeur, member = exchange
    _send(sollicitation, instructeur, "Précision : le NIL du CNDA.", MONDAY_7_DEC)
    sollicitation.refresh_from_db()
    # The agency writing again neither answers nor restarts anything.
    assert sollicitation.status == Status.OUVERTE
    assert sollicitation.answered_at is None
    _send(sollicitation, member, "4242.", MONDAY_7_DEC + timedelta(hours=1))
    _send(sollicitation, member, "Pardon : 4243.", MONDAY_7_DEC + timedelta(days=2))
    _send(sollicitation, instructeur, "Noté.", MONDAY_7_DEC + timedelta(days=3))
    sollicitation.refresh_from_db()
    assert sollicitation.answered_at == MONDAY_7_DEC + timedelta(hours=1)
    assert sollicitation.answered_by == member
    # Long after the 5 working days, nothing fires: the clock stopped at the first answer.
    assert sollicitations_sweep(now=END_OF_FRIDAY_11_DEC + timedelta(days=1)) == 0
    sollicitation.refresh_from_db()
    assert sollicitation.status == Status.REPONDUE
    assert sollicitation.candidature.state == S.ADMIN_SOUMISE


def test_the_exchange_goes_on_after_the_deadline_once_answered(exchange):
    sollicitation, instructeur, member = exchange
    _send(sollicitation, member, "4242.", MONDAY_7_DEC)
    later = END_OF_FRIDAY_11_DEC + timedelta(days=2)
    _send(sollicitation, instructeur, "Une dernière chose.", later)
    _send(sollicitation, member, "Volontiers.", later + timedelta(hours=1))
    assert sollicitation.messages.count() == 4


def test_messages_after_the_instructor_closed_are_refused(exchange):
    sollicitation, instructeur, member = exchange
    _send(sollicitation, member, "4242.", MONDAY_7_DEC)
    services.sollicitation_close(sollicitation=sollicitation, actor=instructeur)
    for actor in (member, instructeur):
        with pytest.raises(ValidationError, match="clos"):
            _send(sollicitation, actor, "Encore un mot.", timezone.now())
    assert sollicitation.messages.count() == 2


def test_an_unanswered_sollicitation_cannot_be_closed_by_hand(exchange):
    sollicitation, instructeur, _member = exchange
    with pytest.raises(ValidationError, match="pas encore répondu"):
        services.sollicitation_close(sollicitation=sollicitation, actor=instructeur)
    sollicitation.refresh_from_db()
    assert sollicitation.status == Status.OUVERTE


def test_closing_twice_is_refused(exchange):
    sollicitation, instructeur, member = exchange
    _send(sollicitation, member, "4242.", MONDAY_7_DEC)
    services.sollicitation_close(sollicitation=sollicitation, actor=instructeur)
    with pytest.raises(ValidationError, match="déjà clos"):
        services.sollicitation_close(sollicitation=sollicitation, actor=instructeur)


def test_no_message_after_the_jalon_even_before_the_sweep(exchange):
    sollicitation, instructeur, member = exchange
    _send(sollicitation, member, "4242.", MONDAY_7_DEC)
    j3 = sollicitation.closes_at
    for actor in (member, instructeur):
        with pytest.raises(ValidationError, match="J3"):
            _send(sollicitation, actor, "Trop tard.", j3)
    _send(sollicitation, member, "Juste à temps.", j3 - timedelta(seconds=1))


def test_the_sweep_closes_an_answered_exchange_at_the_jalon_once(exchange):
    sollicitation, _instructeur, member = exchange
    _send(sollicitation, member, "4242.", MONDAY_7_DEC)
    j3 = sollicitation.closes_at
    assert sollicitations_sweep(now=j3 - timedelta(seconds=1)) == 0
    # A sweep two days late still records the jalon as the end of the exchange.
    assert sollicitations_sweep(now=j3 + timedelta(days=2)) == 1
    assert sollicitations_sweep(now=j3 + timedelta(days=3)) == 0
    sollicitation.refresh_from_db()
    assert sollicitation.status == Status.CLOSE
    assert sollicitation.closed_at == j3
    assert sollicitation.closed_by is None


def test_a_decision_on_the_phase_ends_the_exchange(exchange):
    sollicitation, instructeur, member = exchange
    _send(sollicitation, member, "4242.", timezone.now())
    decided = timezone.now()
    candidature_validate_admin(
        candidature=sollicitation.candidature, actor=instructeur, now=decided
    )
    with pytest.raises(ValidationError):
        _send(sollicitation, member, "Et encore…", timezone.now())
    # Closed by the decision itself, dated by it: nothing left for the sweep.
    sollicitation.refresh_from_db()
    assert sollicitation.status == Status.CLOSE
    assert sollicitation.closed_at == decided
    assert sollicitations_sweep(now=timezone.now()) == 0


def test_the_unanswered_deadline_still_refuses_the_company_and_the_agency(exchange):
    sollicitation, instructeur, member = exchange
    for actor in (member, instructeur):
        with pytest.raises(ValidationError, match="délai a expiré"):
            _send(sollicitation, actor, "Trop tard.", END_OF_FRIDAY_11_DEC)


# Rights


def test_another_company_the_college_and_a_stranger_cannot_write(exchange):
    sollicitation, _instructeur, _member = exchange
    intruders = [
        UserFactory(mandataire=True),
        UserFactory(college=True),
        UserFactory(),  # an editor without a company
    ]
    for intruder in intruders:
        with pytest.raises(PermissionDenied):
            _send(sollicitation, intruder, "Bonjour.", MONDAY_7_DEC)
    assert sollicitation.messages.count() == 1


def test_only_the_agency_closes(exchange):
    sollicitation, _instructeur, member = exchange
    _send(sollicitation, member, "4242.", MONDAY_7_DEC)
    for actor in (member, UserFactory(college=True)):
        with pytest.raises(PermissionDenied):
            services.sollicitation_close(sollicitation=sollicitation, actor=actor)
    services.sollicitation_close(sollicitation=sollicitation, actor=UserFactory(admin=True))


def test_sollicitation_answer_stays_the_companys(exchange):
    sollicitation, instructeur, _member = exchange
    with pytest.raises(PermissionDenied):
        services.sollicitation_answer(sollicitation=sollicitation, actor=instructeur, text="x")


# Notifications: each message reaches the other side


def test_each_message_notifies_the_other_side(exchange, django_capture_on_commit_callbacks):
    sollicitation, instructeur, member = exchange
    colleague = company_user(sollicitation.candidature.editeur)
    other_agent = UserFactory(instructeur=True)
    Notification.objects.all().delete()
    _send(sollicitation, member, "4242.", MONDAY_7_DEC)
    assert set(Notification.objects.values_list("recipient", flat=True)) == {instructeur.pk}
    Notification.objects.all().delete()
    _send(sollicitation, other_agent, "Merci, et la version ?", MONDAY_7_DEC)
    assert set(Notification.objects.values_list("recipient", flat=True)) == {
        member.pk,
        colleague.pk,
    }
    Notification.objects.all().delete()
    _send(sollicitation, colleague, "4.2.1.", MONDAY_7_DEC)
    # Every agent of the exchange: who opened it and who wrote in it.
    assert set(Notification.objects.values_list("recipient", flat=True)) == {
        instructeur.pk,
        other_agent.pk,
    }
    notice = Notification.objects.get(recipient=other_agent)
    assert notice.title.startswith("Nouveau message de")
    assert notice.url.endswith(f"#sollicitation-{sollicitation.pk}")


# Attachments


def test_an_attachment_cannot_be_deleted_while_a_message_refers_to_it(exchange):
    sollicitation, _instructeur, member = exchange
    message = _send(
        sollicitation,
        member,
        "Voici.",
        MONDAY_7_DEC,
        files=[SimpleUploadedFile("nil.pdf", samples.pdf_bytes())],
    )
    fichier = message.fichiers.get()
    with pytest.raises(ProtectedError):
        fichier.delete()
    with pytest.raises(ValidationError):
        fichier_services.fichier_delete(fichier=fichier, actor=member)


def test_a_refused_attachment_of_a_later_message_leaves_the_clock_stopped(exchange):
    sollicitation, _instructeur, member = exchange
    _send(sollicitation, member, "4242.", MONDAY_7_DEC)
    later = _send(
        sollicitation,
        member,
        "Et la capture.",
        MONDAY_7_DEC + timedelta(hours=1),
        files=[SimpleUploadedFile("capture.png", b"MZ\x90\x00not an image")],
    )
    fichier_services.fichier_check(fichier_id=later.fichiers.get().pk)
    sollicitation.refresh_from_db()
    assert sollicitation.status == Status.REPONDUE
    assert sollicitation.answered_at == MONDAY_7_DEC


def test_a_refused_first_answer_hands_the_answer_to_the_next_good_message(exchange):
    sollicitation, _instructeur, member = exchange
    refused = _send(
        sollicitation,
        member,
        "Voici.",
        MONDAY_7_DEC,
        files=[SimpleUploadedFile("nil.pdf", b"MZ\x90\x00not a pdf")],
    )
    _send(sollicitation, member, "Le NIL est 4242.", MONDAY_7_DEC + timedelta(hours=1))
    fichier_services.fichier_check(fichier_id=refused.fichiers.get().pk)
    sollicitation.refresh_from_db()
    assert sollicitation.status == Status.REPONDUE
    assert sollicitation.answered_at == MONDAY_7_DEC + timedelta(hours=1)


# Pages


def _ready(user):
    CguAcceptance.objects.create(user=user, cgu=current_cgu())
    return user


@pytest.fixture
def live_exchange():
    """An exchange opened now, for the pages."""
    candidature = CandidatureFactory(admin_soumise=True)
    instructeur = _ready(UserFactory(instructeur=True))
    sollicitation = services.sollicitation_open(
        candidature=candidature, actor=instructeur, text="Précisez le NIL."
    )
    return sollicitation, instructeur, _ready(company_user(candidature.editeur))


def _answer_url(sollicitation):
    return reverse(
        "candidatures:sollicitation_answer", args=[sollicitation.candidature_id, sollicitation.pk]
    )


def test_the_page_shows_the_thread_oldest_first_with_the_form_under_it(client, live_exchange):
    sollicitation, instructeur, member = live_exchange
    services.sollicitation_answer(sollicitation=sollicitation, actor=member, text="PREMIER-MSG")
    _send(sollicitation, instructeur, "DEUXIEME-MSG", timezone.now())
    client.force_login(member)
    page = client.get(reverse("candidatures:detail", args=[sollicitation.candidature_id])).text
    assert (
        page.index("Précisez le NIL.")
        < page.index("PREMIER-MSG")
        < page.index("DEUXIEME-MSG")
        < page.index("Répondre à l’ANS")
    )
    assert "La première réponse de l’éditeur" not in page
    assert "{#" not in page and "#}" not in page
    assert "Le délai est arrêté depuis la première réponse" in page


def test_the_page_says_what_stops_the_clock_next_to_the_form(client, live_exchange):
    sollicitation, instructeur, member = live_exchange
    client.force_login(member)
    page = client.get(reverse("candidatures:detail", args=[sollicitation.candidature_id])).text
    rule = page.index("Votre première réponse arrête le délai")
    assert rule < page.index("Répondre à l’ANS")
    assert "5 jours ouvrés" in page[rule : rule + 400]
    client.force_login(instructeur)
    page = client.get(reverse("candidatures:detail", args=[sollicitation.candidature_id])).text
    assert "La première réponse de l’éditeur arrête le délai" in page
    assert "Écrire à l’éditeur" in page


def test_a_message_without_javascript_redirects_to_the_thread(client, live_exchange):
    sollicitation, _instructeur, member = live_exchange
    client.force_login(member)
    response = client.post(_answer_url(sollicitation), {"text": "Le NIL est 4242."})
    assert response.status_code == 302
    assert response["Location"].endswith(f"#sollicitation-{sollicitation.pk}")
    page = client.get(response["Location"]).text
    assert "Réponse envoyée à l’ANS : le délai de la sollicitation est arrêté." in page
    assert Sollicitation.objects.get(pk=sollicitation.pk).status == Status.REPONDUE


def test_a_message_with_htmx_answers_the_thread_and_announces_it(client, live_exchange):
    sollicitation, instructeur, member = live_exchange
    client.force_login(member)
    response = client.post(
        _answer_url(sollicitation), {"text": "Le NIL est 4242."}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    body = response.text
    assert "Le NIL est 4242." in body
    assert f'hx-swap-oob="innerHTML:#sollicitation-{sollicitation.pk}-statut"' in body
    assert 'role="status">Réponse envoyée à l’ANS : le délai de la sollicitation est arrêté.' in (
        body
    )
    client.force_login(instructeur)
    response = client.post(_answer_url(sollicitation), {"text": "Merci."}, HTTP_HX_REQUEST="true")
    assert 'role="status">Message envoyé à l’éditeur.' in response.text


def test_an_empty_message_keeps_the_page_with_the_error_at_the_field(client, live_exchange):
    sollicitation, _instructeur, member = live_exchange
    client.force_login(member)
    response = client.post(_answer_url(sollicitation), {"text": "  "})
    assert response.status_code == 422
    assert "Écrivez votre message." in response.text
    assert f'id="id_s{sollicitation.pk}_text"' in response.text
    response = client.post(_answer_url(sollicitation), {"text": ""}, HTTP_HX_REQUEST="true")
    # Swapped in by htmx: the error at the field, and announced.
    assert response.status_code == 200
    assert 'role="status">Message non envoyé' in response.text
    assert "Écrivez votre message." in response.text
    assert sollicitation.messages.count() == 1


def test_a_message_to_a_closed_exchange_gets_the_reason(client, live_exchange):
    sollicitation, instructeur, member = live_exchange
    services.sollicitation_answer(sollicitation=sollicitation, actor=member, text="4242.")
    services.sollicitation_close(sollicitation=sollicitation, actor=instructeur)
    client.force_login(member)
    response = client.post(_answer_url(sollicitation), {"text": "Encore."})
    assert response.status_code == 422
    assert "Cet échange est clos : plus aucun message." in response.text
    assert "Plus aucun message ne peut être envoyé dans cet échange." in response.text


def test_the_instructor_closes_through_the_page(client, live_exchange):
    sollicitation, instructeur, member = live_exchange
    services.sollicitation_answer(sollicitation=sollicitation, actor=member, text="4242.")
    client.force_login(instructeur)
    page = client.get(reverse("candidatures:detail", args=[sollicitation.candidature_id])).text
    assert "Clore l’échange" in page and 'class="fr-modal"' in page
    url = reverse(
        "candidatures:sollicitation_close", args=[sollicitation.candidature_id, sollicitation.pk]
    )
    response = client.post(url)
    assert response.status_code == 302
    assert Sollicitation.objects.get(pk=sollicitation.pk).status == Status.CLOSE
    client.force_login(member)
    assert client.post(url).status_code == 403


def test_the_status_probe_answers_204_until_the_status_changes(client, live_exchange):
    sollicitation, _instructeur, member = live_exchange
    client.force_login(member)
    url = reverse(
        "candidatures:sollicitation_status", args=[sollicitation.candidature_id, sollicitation.pk]
    )
    assert client.get(url, {"vu": "ouverte"}).status_code == 204
    services.sollicitation_answer(sollicitation=sollicitation, actor=member, text="4242.")
    response = client.get(url, {"vu": "ouverte"})
    assert response.status_code == 200
    assert "Réponse reçue : le délai est arrêté." in response.text
    assert '"vu": "repondue"' in response.text


def test_the_candidature_page_runs_a_fixed_number_of_queries(
    client, live_exchange, django_assert_max_num_queries
):
    sollicitation, instructeur, member = live_exchange
    client.force_login(instructeur)
    url = reverse("candidatures:detail", args=[sollicitation.candidature_id])
    client.get(url)
    for index in range(6):
        _send(
            sollicitation,
            member if index % 2 == 0 else instructeur,
            f"Message {index}",
            timezone.now(),
            files=[SimpleUploadedFile(f"piece{index}.pdf", samples.pdf_bytes())],
        )
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for index in range(6):
        _send(sollicitation, instructeur, f"Encore {index}", timezone.now())
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)


# Negative: who reaches the pages


def test_another_company_gets_404_on_every_exchange_url(client, live_exchange):
    sollicitation, _instructeur, _member = live_exchange
    client.force_login(_ready(UserFactory(mandataire=True)))
    args = [sollicitation.candidature_id, sollicitation.pk]
    for name in ("sollicitation_answer", "sollicitation_close"):
        assert (
            client.post(reverse(f"candidatures:{name}", args=args), {"text": "x"}).status_code
            == 404
        )
    assert client.get(reverse("candidatures:sollicitation_status", args=args)).status_code == 404
    assert sollicitation.messages.count() == 1


def test_the_college_never_reads_or_writes_an_exchange(client):
    """Even on a candidature it judges: the page, its history and every exchange URL."""
    judged = signed_candidature()
    sollicitation = Sollicitation.objects.create(
        candidature=judged,
        phase="instruction",
        status=Status.REPONDUE,
        opened_by=judged.instructeur,
        opened_at=timezone.now() - timedelta(days=20),
        due_at=timezone.now() + timedelta(days=10),
        closes_at=timezone.now() + timedelta(days=10),
    )
    sollicitation.messages.create(
        author=judged.instructeur, from_agency=True, text="NOTE-CONFIDENTIELLE-42"
    )
    member = _ready(UserFactory(college=True))
    client.force_login(member)
    page = client.get(reverse("candidatures:detail", args=[judged.pk]))
    assert page.status_code == 200
    assert "NOTE-CONFIDENTIELLE-42" not in page.text
    assert "Échanges avec l’ANS" not in page.text
    args = [judged.pk, sollicitation.pk]
    for name in ("sollicitation_answer", "sollicitation_close"):
        url = reverse(f"candidatures:{name}", args=args)
        assert client.post(url, {"text": "x"}).status_code == 404
    assert client.get(reverse("candidatures:sollicitation_status", args=args)).status_code == 404
    assert sollicitation.messages.count() == 1
    # The instructor of the same candidature reads the exchange and its history.
    client.force_login(_ready(judged.instructeur))
    assert (
        "NOTE-CONFIDENTIELLE-42"
        in client.get(reverse("candidatures:detail", args=[judged.pk])).text
    )


def test_anonymous_is_sent_to_the_login_page(client, live_exchange):
    sollicitation, _instructeur, _member = live_exchange
    response = client.post(_answer_url(sollicitation), {"text": "x"})
    assert response.status_code == 302
    assert reverse("login") in response["Location"]
    assert sollicitation.messages.count() == 1


def test_a_forged_sollicitation_id_of_another_candidature_is_a_404(client, live_exchange):
    sollicitation, _instructeur, member = live_exchange
    # The company's own other candidature, and another company's sollicitation id.
    own = CandidatureFactory(admin_soumise=True, editeur=member.editeur)
    foreign = services.sollicitation_open(
        candidature=CandidatureFactory(admin_soumise=True),
        actor=UserFactory(instructeur=True),
        text="Question à une autre entreprise.",
    )
    client.force_login(member)
    for pk, sid in [(own.pk, sollicitation.pk), (sollicitation.candidature_id, foreign.pk)]:
        url = reverse("candidatures:sollicitation_answer", args=[pk, sid])
        assert client.post(url, {"text": "x"}).status_code == 404
    assert foreign.messages.count() == 1
    assert sollicitation.messages.count() == 1
