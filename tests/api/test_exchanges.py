"""The exchanges through the API: a sollicitation answered with attachments (the first
answer stops the clock, a refused attachment cancels it), a réserve answered until the
lifting is submitted, the sealed receipt and attestation downloaded; each refusal a
problem+json with the page's French words."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from candidatures.models import Candidature, Sollicitation
from college.models import Decision, Reserve
from preuves.enums import Consultation
from preuves.models import FichierDownload
from segur_portal.enums import CompanyRole
from tests.api.conftest import ApiClient, problem, ready_user, token_for
from tests.api.data import _referenced, _reserves_notified, _submitted_in_instruction
from tests.preuves import samples
from tests.preuves.dossiers import eligible_candidature


def _pdf(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, samples.pdf_bytes())


@pytest.fixture
def company(db, django_capture_on_commit_callbacks):
    editeur = eligible_candidature().editeur
    member = ready_user(editeur, company_role=CompanyRole.MANDATAIRE)
    with django_capture_on_commit_callbacks(execute=True):
        instruction = _submitted_in_instruction(editeur, member)
    return member, instruction


@pytest.fixture
def api(client, company):
    return ApiClient(client, token_for(company[0])[1])


def _thread(api, candidature) -> dict:
    (sollicitation,) = api.get(f"/api/v1/candidatures/{candidature.pk}/sollicitations").json()
    return sollicitation


def test_an_answer_with_attachments_stops_the_clock(
    api, company, django_capture_on_commit_callbacks
):
    _member, candidature = company
    thread = _thread(api, candidature)
    assert (thread["statut"]["code"], thread["accepte_des_messages"]) == ("ouverte", True)
    assert [m["de_l_ans"] for m in thread["messages"]] == [True]
    assert thread["messages"][0]["fichiers"][0]["nom"] == "demande.pdf"
    detail = api.get(f"/api/v1/candidatures/{candidature.pk}").json()
    assert "sollicitation" in {echeance["nature"] for echeance in detail["echeances"]}
    url = f"/api/v1/candidatures/{candidature.pk}/sollicitations/{thread['id']}/messages"
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            url, {"texte": "Le NIL est page 3.", "fichiers": [_pdf("nil.pdf"), _pdf("annexe.pdf")]}
        )
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["premiere_reponse"] is True
    assert sorted(f["nom"] for f in created["fichiers"]) == ["annexe.pdf", "nil.pdf"]
    thread = _thread(api, candidature)
    assert thread["statut"]["code"] == "repondue" and thread["repondue_le"]
    answer = thread["messages"][-1]
    assert (answer["de_l_ans"], answer["texte"]) == (False, "Le NIL est page 3.")
    assert {f["statut"]["code"] for f in answer["fichiers"]} == {"acceptee"}
    detail = api.get(f"/api/v1/candidatures/{candidature.pk}").json()
    assert "sollicitation" not in {echeance["nature"] for echeance in detail["echeances"]}
    again = api.post(url, {"texte": "Précision : version 2.1."})
    assert again.status_code == 201 and again.json()["premiere_reponse"] is False


def test_a_refused_attachment_cancels_the_answer(api, company, django_capture_on_commit_callbacks):
    _member, candidature = company
    thread = _thread(api, candidature)
    url = f"/api/v1/candidatures/{candidature.pk}/sollicitations/{thread['id']}/messages"
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            url,
            {
                "texte": "Voici la capture.",
                "fichiers": [SimpleUploadedFile("capture.pdf", samples.elf_bytes())],
            },
        )
    assert response.status_code == 201 and response.json()["premiere_reponse"] is True
    thread = _thread(api, candidature)
    (fichier,) = thread["messages"][-1]["fichiers"]
    assert fichier["statut"]["code"] == "refusee" and fichier["motif_refus"]
    assert (thread["statut"]["code"], thread["repondue_le"]) == ("ouverte", None)


def test_an_answer_is_refused_with_the_pages_words(api, company):
    _member, candidature = company
    thread = _thread(api, candidature)
    url = f"/api/v1/candidatures/{candidature.pk}/sollicitations/{thread['id']}/messages"
    body = problem(api.post(url, {"texte": "  "}), 422, "action-refusee")
    assert body["errors"] == [
        {"champ": "texte", "pointer": "#/texte", "detail": "Écrivez votre réponse à l’ANS."}
    ]
    body = problem(api.post(url, {"texte": "NIL\x00"}), 422, "donnees-invalides")
    assert body["errors"][0]["champ"] == "texte"
    body = problem(
        api.client.post(
            url,
            b"--x\r\n",
            content_type="multipart/form-data; boundary=x",
            CONTENT_LENGTH=str(2**30),
            headers=api.headers,
        ),
        413,
        "trop-volumineux",
    )
    assert "rien n’a été enregistré" in body["detail"]
    Sollicitation.objects.filter(pk=thread["id"]).update(
        due_at=timezone.now() - timedelta(minutes=1)
    )
    body = problem(api.post(url, {"texte": "Trop tard ?"}), 422, "action-refusee")
    assert body["detail"].startswith("Cette sollicitation n’attend plus de réponse : le délai a")
    assert Sollicitation.objects.get(pk=thread["id"]).messages.count() == 1


@pytest.fixture
def reserves(company):
    member, _instruction = company
    return _reserves_notified(member.editeur)


def _answer(api, candidature, reserve_id: int, comment: str, *files: str):
    return api.post(
        f"/api/v1/candidatures/{candidature.pk}/reserves/{reserve_id}/reponse",
        {"commentaire": comment, "fichiers": [_pdf(name) for name in files]},
    )


def test_answering_every_reserve_submits_the_lifting(
    api, reserves, django_capture_on_commit_callbacks
):
    base = f"/api/v1/candidatures/{reserves.pk}"
    listed = api.get(f"{base}/reserves").json()
    assert listed["decision"]["code"] == "reserves_non_bloquantes"
    assert [r["statut"]["code"] for r in listed["reserves"]] == ["a_lever", "a_lever"]
    first, second = (r["id"] for r in listed["reserves"])
    body = problem(_answer(api, reserves, first, "Corrigé."), 422, "action-refusee")
    assert body["errors"] == [
        {
            "champ": "fichiers",
            "pointer": "#/fichiers",
            "detail": "Joignez au moins un fichier qui prouve la correction.",
        }
    ]
    with django_capture_on_commit_callbacks(execute=True):
        response = _answer(api, reserves, first, "Corrigé en 2.1.", "correction.pdf")
    assert response.status_code == 201, response.content
    assert response.json()["commentaire"] == "Corrigé en 2.1."
    body = problem(_answer(api, reserves, first, "Encore.", "encore.pdf"), 422, "action-refusee")
    assert body["detail"] == "Cette réserve a déjà sa réponse : attendez l’avis de l’ANS."
    assert Candidature.objects.get(pk=reserves.pk).state == "reserves_non_bloquantes"
    with django_capture_on_commit_callbacks(execute=True):
        response = _answer(api, reserves, second, "Corrigé aussi.", "correction-2.pdf")
    assert response.status_code == 201, response.content
    listed = api.get(f"{base}/reserves").json()
    assert [r["statut"]["code"] for r in listed["reserves"]] == ["reponse_soumise"] * 2
    assert {
        f["statut"]["code"] for r in listed["reserves"] for f in r["reponses"][0]["fichiers"]
    } == {"acceptee"}
    assert Candidature.objects.get(pk=reserves.pk).state == "levee_soumise"


def test_a_reserve_is_not_answered_after_its_deadline(api, reserves):
    Decision.objects.filter(inscription__candidature=reserves).update(
        reserves_due_at=timezone.now() - timedelta(minutes=1)
    )
    reserve = Reserve.objects.filter(decision__inscription__candidature=reserves).first()
    body = problem(
        _answer(api, reserves, reserve.pk, "Corrigé.", "correction.pdf"), 422, "action-refusee"
    )
    assert body["detail"].startswith("Le délai de levée des réserves a expiré")


def test_no_decision_yet_is_404(api, company):
    _member, candidature = company
    body = problem(api.get(f"/api/v1/candidatures/{candidature.pk}/reserves"), 404, "introuvable")
    assert body["detail"] == "Aucune décision du collège n’est encore notifiée."


def _pdf_download(api, url: str) -> bytes:
    response = api.get(url)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment")
    content = b"".join(response.streaming_content)
    assert content.startswith(b"%PDF")
    return content


def test_the_sealed_receipt_and_attestation_are_downloaded_and_logged(api, company):
    member, instruction = company
    documents = api.get(f"/api/v1/candidatures/{instruction.pk}/documents").json()
    (recepisse,) = documents["recepisses"]
    assert documents["attestation"] is None
    _pdf_download(api, f"/api/v1/candidatures/{instruction.pk}/recepisse")
    body = problem(
        api.get(f"/api/v1/candidatures/{instruction.pk}/attestation"), 404, "introuvable"
    )
    assert body["detail"] == "Aucune attestation n’est encore délivrée."

    referenced = _referenced(member.editeur)
    documents = api.get(f"/api/v1/candidatures/{referenced.pk}/documents").json()
    assert documents["recepisses"] == []
    attestation = documents["attestation"]
    assert attestation["numero"] and attestation["fichier"]["statut"]["code"] == "acceptee"
    content = _pdf_download(api, f"/api/v1/candidatures/{referenced.pk}/attestation")
    assert len(content) == attestation["fichier"]["taille"]
    downloads = FichierDownload.objects.filter(user=member, kind=Consultation.TELECHARGEMENT)
    assert {str(pk) for pk in downloads.values_list("fichier_id", flat=True)} == {
        recepisse["fichier"]["id"],
        attestation["fichier"]["id"],
    }
