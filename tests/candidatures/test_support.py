"""The ANS support (DSR §4.7): a company's questions outside any sollicitation, answered
by the agency; the agency's inbox puts the unanswered first; no clock moves."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.models.deletion import ProtectedError
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from candidatures.enums import CandidatureState, SollicitationStatus
from candidatures.models import CguAcceptance, SupportDemande
from candidatures.services import sollicitation as sollicitation_services
from candidatures.services import support as services
from candidatures.services.onboarding import current_cgu
from segur_portal.models import Notification
from tests.factories import CandidatureFactory, EditeurFactory, UserFactory, company_user
from tests.preuves import samples

pytestmark = pytest.mark.django_db


def _ready(user):
    CguAcceptance.objects.create(user=user, cgu=current_cgu())
    return user


@pytest.fixture
def company():
    return _ready(UserFactory(mandataire=True))


@pytest.fixture
def agent():
    return _ready(UserFactory(instructeur=True))


def _ask(user, subject="Format de la liste du parc", text="Quel séparateur ?", **kwargs):
    return services.support_demande_open(actor=user, subject=subject, text=text, **kwargs)


# Service


def test_a_question_waits_for_the_agency_until_it_answers(company, agent):
    demande = _ask(company)
    assert demande.editeur == company.editeur
    assert demande.awaits_agency
    waiting_since = demande.waiting_since
    services.support_message_send(demande=demande, actor=company, text="Et l’encodage ?")
    demande.refresh_from_db()
    # Still the first unanswered message that counts for the inbox.
    assert demande.waiting_since == waiting_since
    services.support_message_send(demande=demande, actor=agent, text="Point-virgule, UTF-8.")
    demande.refresh_from_db()
    assert not demande.awaits_agency
    services.support_message_send(demande=demande, actor=company, text="Merci !")
    demande.refresh_from_db()
    assert demande.awaits_agency
    assert [m.from_agency for m in demande.messages.all()] == [False, False, True, False]


def test_subject_and_text_are_required_at_their_field(company):
    with pytest.raises(ValidationError) as error:
        services.support_demande_open(actor=company, subject=" ", text="")
    assert set(error.value.message_dict) == {"subject", "text"}
    assert not SupportDemande.objects.exists()


def test_only_a_company_asks_and_only_its_own_and_the_agency_write(company, agent):
    for stranger in (agent, UserFactory(college=True), UserFactory()):
        with pytest.raises(PermissionDenied):
            _ask(stranger)
    demande = _ask(company)
    for intruder in (UserFactory(mandataire=True), UserFactory(college=True)):
        with pytest.raises(PermissionDenied):
            services.support_message_send(demande=demande, actor=intruder, text="Bonjour")
    colleague = company_user(company.editeur)
    services.support_message_send(demande=demande, actor=colleague, text="Moi aussi.")
    services.support_message_send(demande=demande, actor=UserFactory(admin=True), text="Réponse.")
    assert demande.messages.count() == 3


def test_notifications_go_both_ways(company, agent, django_capture_on_commit_callbacks):
    other_agent = UserFactory(instructeur=True)
    colleague = company_user(company.editeur)
    with django_capture_on_commit_callbacks(execute=True):
        demande = _ask(company)
    # A new question: every agent in the portal, no e-mail to the whole agency.
    assert set(Notification.objects.values_list("recipient", flat=True)) == {
        agent.pk,
        other_agent.pk,
    }
    assert mail.outbox == []
    Notification.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        services.support_message_send(demande=demande, actor=agent, text="Point-virgule.")
    assert set(Notification.objects.values_list("recipient", flat=True)) == {
        company.pk,
        colleague.pk,
    }
    assert {m.to[0] for m in mail.outbox} == {company.email, colleague.email}
    notice = Notification.objects.get(recipient=company)
    assert notice.url == reverse("support:demande", args=[demande.pk])
    Notification.objects.all().delete()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.support_message_send(demande=demande, actor=company, text="Merci.")
    # Once answered, the agent who answered is told, by e-mail too.
    assert list(Notification.objects.values_list("recipient", flat=True)) == [agent.pk]
    assert [m.to for m in mail.outbox] == [[agent.email]]


def test_a_support_message_never_stops_or_starts_a_clock(company, agent):
    candidature = CandidatureFactory(admin_soumise=True, editeur=company.editeur)
    sollicitation = sollicitation_services.sollicitation_open(
        candidature=candidature, actor=agent, text="Précisez le NIL."
    )
    demande = _ask(company, subject="Sollicitation reçue", text="Voici le NIL : 4242.")
    services.support_message_send(demande=demande, actor=agent, text="Répondez dans l’échange.")
    sollicitation.refresh_from_db()
    assert sollicitation.status == SollicitationStatus.OUVERTE
    assert sollicitation.answered_at is None
    # The sollicitation's deadline applies as if the support had not been written to.
    sollicitation_services.sollicitations_sweep(now=sollicitation.due_at)
    candidature.refresh_from_db()
    assert candidature.state == CandidatureState.REJETEE


def test_attachments_are_kept_and_protected(company, agent):
    demande = _ask(company, files=[SimpleUploadedFile("capture.png", samples.png_bytes())])
    fichier = demande.messages.get().fichiers.get()
    assert fichier.editeur == company.editeur
    answer = services.support_message_send(
        demande=demande,
        actor=agent,
        text="Voyez la notice.",
        files=[SimpleUploadedFile("notice.pdf", samples.pdf_bytes())],
    )
    # The agency's attachment belongs to the company it answers: its users read it.
    assert answer.fichiers.get().editeur == company.editeur
    with pytest.raises(ProtectedError):
        fichier.delete()


# Pages


def test_the_support_page_lists_the_companys_questions_only(client, company):
    _ask(company, subject="QUESTION-A-NOUS")
    _ask(_ready(UserFactory(mandataire=True)), subject="QUESTION-D-UNE-AUTRE")
    client.force_login(company)
    page = client.get(reverse("support:home")).text
    assert "QUESTION-A-NOUS" in page
    assert "QUESTION-D-UNE-AUTRE" not in page
    assert "Une question au support n’arrête ni ne lance aucun délai" in page


def test_asking_through_the_page(client, company):
    client.force_login(company)
    response = client.post(
        reverse("support:home"),
        {
            "subject": "Format du parc",
            "text": "Quel séparateur ?",
            "files": [SimpleUploadedFile("parc.csv", b"version;nom\n1;A\n")],
        },
    )
    demande = SupportDemande.objects.get()
    assert response["Location"] == reverse("support:demande", args=[demande.pk])
    assert demande.messages.get().fichiers.get().original_name == "parc.csv"
    page = client.get(response["Location"]).text
    assert "Quel séparateur ?" in page
    assert "Question envoyée au support de l’ANS" in page


def test_a_question_without_subject_keeps_the_text_and_says_why(client, company):
    client.force_login(company)
    response = client.post(reverse("support:home"), {"subject": "", "text": "Mon texte gardé"})
    assert response.status_code == 422
    assert "Donnez un objet à votre question." in response.text
    assert "Mon texte gardé" in response.text
    assert not SupportDemande.objects.exists()


def test_the_agency_answers_with_htmx_and_the_status_is_announced(client, company, agent):
    demande = _ask(company)
    client.force_login(agent)
    url = reverse("support:message", args=[demande.pk])
    response = client.post(url, {"text": "Point-virgule."}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'hx-swap-oob="innerHTML:#support-statut"' in response.text
    assert 'role="status">Réponse envoyée à l’éditeur.' in response.text
    assert "Point-virgule." in response.text
    response = client.post(url, {"text": ""}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Écrivez votre message." in response.text
    # Without JavaScript: back to the page.
    response = client.post(url, {"text": "Et UTF-8."})
    assert response["Location"] == reverse("support:demande", args=[demande.pk])


def test_the_inbox_puts_the_unanswered_first_the_longest_waiting_on_top(client, company, agent):
    now = timezone.now()
    answered = _ask(company, subject="REPONDUE", now=now - timedelta(days=5))
    services.support_message_send(demande=answered, actor=agent, text="Voilà.", now=now)
    recent = _ask(company, subject="RECENTE", now=now - timedelta(hours=1))
    old = _ask(company, subject="ANCIENNE", now=now - timedelta(days=3))
    client.force_login(agent)
    page = client.get(reverse("support:inbox")).text
    assert page.index("ANCIENNE") < page.index("RECENTE") < page.index("REPONDUE")
    assert old.awaits_agency and recent.awaits_agency


def test_the_inbox_is_paged_in_a_fixed_number_of_queries(client, company, agent):
    client.force_login(agent)
    for index in range(3):
        _ask(company, subject=f"Question {index}")
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("support:inbox"))
    editeurs = [EditeurFactory() for _ in range(4)]
    for index in range(30):
        editeur = editeurs[index % 4]
        user = company_user(editeur)
        demande = _ask(user, subject=f"Q-{index:02d}")
        services.support_message_send(demande=demande, actor=user, text="Relance.")
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("support:inbox"))
    assert len(many.captured_queries) == len(few.captured_queries)
    assert response.context["page_obj"].paginator.num_pages == 2
    assert len(response.context["page_obj"].object_list) == 25
    assert client.get(reverse("support:inbox"), {"page": 2}).status_code == 200


def test_the_demande_page_runs_a_fixed_number_of_queries(client, company, agent):
    demande = _ask(company)
    client.force_login(agent)
    url = reverse("support:demande", args=[demande.pk])
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for index in range(8):
        services.support_message_send(
            demande=demande,
            actor=agent if index % 2 else company,
            text=f"Message {index}",
            files=[SimpleUploadedFile(f"p{index}.pdf", samples.pdf_bytes())],
        )
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many.captured_queries) == len(few.captured_queries)


def test_an_agent_reaching_the_support_page_goes_to_the_inbox(client, agent):
    client.force_login(agent)
    assert client.get(reverse("support:home"))["Location"] == reverse("support:inbox")


# Negative: who reaches what


def test_another_company_gets_404_and_changes_nothing(client, company):
    demande = _ask(company)
    client.force_login(_ready(UserFactory(mandataire=True)))
    assert client.get(reverse("support:demande", args=[demande.pk])).status_code == 404
    response = client.post(reverse("support:message", args=[demande.pk]), {"text": "x"})
    assert response.status_code == 404
    assert client.get(reverse("support:inbox")).status_code == 403
    assert demande.messages.count() == 1


def test_the_college_reaches_no_support_page(client, company):
    demande = _ask(company)
    client.force_login(_ready(UserFactory(college=True)))
    assert client.get(reverse("support:home")).status_code == 403
    assert client.get(reverse("support:inbox")).status_code == 403
    assert client.get(reverse("support:demande", args=[demande.pk])).status_code == 404
    response = client.post(reverse("support:message", args=[demande.pk]), {"text": "x"})
    assert response.status_code == 404
    assert demande.messages.count() == 1


def test_anonymous_is_sent_to_the_login_page(client, company):
    demande = _ask(company)
    for url in (
        reverse("support:home"),
        reverse("support:inbox"),
        reverse("support:demande", args=[demande.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    client.post(reverse("support:message", args=[demande.pk]), {"text": "x"})
    assert demande.messages.count() == 1


def test_the_menu_leads_to_the_support(client, company, agent):
    client.force_login(company)
    labels = [item["label"] for item in client.get(reverse("support:home")).context["main_nav"]]
    assert "Support" in labels
    client.force_login(agent)
    labels = [item["label"] for item in client.get(reverse("support:inbox")).context["main_nav"]]
    assert "Support des éditeurs" in labels
