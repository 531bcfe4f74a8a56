"""The hostile corpus through every form that stores a file, over HTTP.

Each form is posted one sample at a time, as the person who may use it; the checks run
in the test (Celery in process) against the session's real clamd. A sample gets the
verdict it gets through the service (tests/security/test_hostile_uploads.py), whatever
the form: forms share `bounded_upload` and `fichier_receive`, and this test shows they
do not skip them.
"""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from candidatures.models import CguAcceptance
from candidatures.services.onboarding import current_cgu
from candidatures.services.sollicitation import sollicitation_open
from college import services as college_services
from college.models import Reserve
from preuves import depot as depot_services
from preuves import instruction as instruction_services
from preuves.depot import dossier
from preuves.enums import FichierStatus
from preuves.models import Fichier, VisiteConformite
from tests.clamav import EICAR
from tests.college.phase3 import open_seance_with, signed_candidature
from tests.factories import CandidatureFactory, UserFactory, company_user
from tests.preuves import corpus
from tests.preuves.dossiers import deposit_everything, eligible_candidature

pytestmark = pytest.mark.django_db


def _ready(user):
    if not CguAcceptance.objects.filter(user=user).exists():
        CguAcceptance.objects.create(user=user, cgu=current_cgu())
    return user


def _member(candidature):
    return _ready(company_user(candidature.editeur))


# Each form: set up, sign in as the person who may use it, and return how to post one
# file (upload → response).


def _proof_deposit(client):
    candidature = eligible_candidature()
    client.force_login(_member(candidature))
    item = next(i for i in dossier(candidature).items if i.identifier == "INS.01.01.01")
    url = reverse("dossier:upload", args=[candidature.pk, item.exigence.pk, item.preuve.pk])
    return lambda upload: client.post(url, {"files": [upload]}, HTTP_X_UPLOAD="1")


def _sollicitation_answer(client):
    candidature = CandidatureFactory(admin_soumise=True)
    sollicitation = sollicitation_open(
        candidature=candidature, actor=UserFactory(instructeur=True), text="Précisez."
    )
    client.force_login(_member(candidature))
    url = reverse("candidatures:sollicitation_answer", args=[candidature.pk, sollicitation.pk])
    return lambda upload: client.post(url, {"text": "Voici la pièce.", "files": [upload]})


def _sollicitation_question(client):
    candidature = CandidatureFactory(admin_soumise=True)
    client.force_login(_ready(UserFactory(instructeur=True)))
    url = reverse("candidatures:sollicitation_open", args=[candidature.pk])
    return lambda upload: client.post(url, {"text": "Voyez la pièce jointe.", "files": [upload]})


def _eligibility_document(client):
    candidature = CandidatureFactory(admin_validee=True)
    client.force_login(_member(candidature))
    url = reverse("candidatures:eligibility", args=[candidature.pk])
    management = {
        f"{name}-{key}": "0"
        for name in ("composants", "membres", "distributeurs")
        for key in ("TOTAL_FORMS", "INITIAL_FORMS")
    }
    return lambda upload: client.post(url, {"cnda_depot": upload, **management})


def _reserve_answer(client):
    candidature = signed_candidature()
    seance, (member, *_) = open_seance_with(candidature)
    college_services.decision_record(
        inscription=seance.inscriptions.get(), actor=member, kind="reserves_non_bloquantes",
        text="À corriger.", reserves=[college_services.ReserveInput("Afficher l’INS", ["INS.01"])],
    )  # fmt: skip
    college_services.seance_close(seance=seance, actor=member)
    reserve = Reserve.objects.get(decision__inscription__candidature=candidature)
    client.force_login(_member(candidature))
    prefix = f"reserve-{reserve.pk}"
    url = reverse("college:reserve_answer", args=[reserve.pk])
    return lambda upload: client.post(
        url, {f"{prefix}-comment": "Corrigé.", f"{prefix}-fichiers": [upload]}
    )


def _visit_recording(client):
    candidature = eligible_candidature()
    member = _member(candidature)
    deposit_everything(candidature, member)
    depot_services.dossier_submit(candidature=candidature, actor=member)
    instructeur = UserFactory(instructeur=True)
    instruction_services.instruction_take(candidature=candidature, actor=instructeur)
    candidature.refresh_from_db()
    instruction_services.visite_schedule(
        candidature=candidature,
        scheduled_for=candidature.instruction_started_at + timedelta(days=1),
        actor=instructeur,
    )
    # The visit took place an hour ago.
    VisiteConformite.objects.filter(candidature=candidature).update(
        scheduled_for=timezone.now() - timedelta(hours=1)
    )
    client.force_login(member)
    url = reverse("dossier:recording", args=[candidature.pk])
    return lambda upload: client.post(url, {"recording": upload})


FORMS = {
    "dépôt de preuve": _proof_deposit,
    "réponse à une sollicitation": _sollicitation_answer,
    "sollicitation de l’ANS": _sollicitation_question,
    "document d’éligibilité": _eligibility_document,
    "réponse à une réserve": _reserve_answer,
    "enregistrement de visite": _visit_recording,
}

# (name, content, verdict). Every form of FORMS accepts images and videos except the
# visit recording (videos only) and the eligibility documents (PDF or images), so the
# accepted sample is the one each of them takes.
SAMPLES = {
    "EICAR": ("rapport.mp4", EICAR, FichierStatus.INFECTEE),
    "EICAR dans un zip": ("traces.mp4", corpus.zip_bytes(), FichierStatus.REFUSEE),
    "exécutable renommé": ("capture.mp4", corpus.pe_bytes(), FichierStatus.REFUSEE),
    "HTML présenté comme image": ("capture.png", corpus.html_bytes(), FichierStatus.REFUSEE),
    "MP4 réduit à son en-tête": ("video.mp4", corpus.mp4_bytes()[:24], FichierStatus.REFUSEE),
}


def _new_fichier(before: set) -> Fichier:
    (fichier,) = Fichier.objects.exclude(pk__in=before)
    return fichier


@pytest.mark.parametrize("sample", SAMPLES)
@pytest.mark.parametrize("form", FORMS)
def test_a_hostile_file_gets_its_verdict_through_every_form(
    client, django_capture_on_commit_callbacks, form, sample
):
    name, content, verdict = SAMPLES[sample]
    post = FORMS[form](client)
    before = set(Fichier.objects.values_list("pk", flat=True))
    with django_capture_on_commit_callbacks(execute=True):
        response = post(SimpleUploadedFile(name, content))
    assert response.status_code in (200, 302), response.content[:400]
    fichier = _new_fichier(before)
    fichier.refresh_from_db()
    assert fichier.status == verdict, (form, sample, fichier.status, fichier.refusal_reason)
    if verdict != FichierStatus.INFECTEE:
        return
    assert "eicar" in fichier.virus_signature.lower()
    # An infected file is never served, to anyone.
    for user in (fichier.uploaded_by, UserFactory(instructeur=True)):
        client.force_login(_ready(user))
        response = client.get(reverse("preuves:download", args=[fichier.pk]))
        assert response.status_code in (403, 404), (form, sample, response.status_code)


@pytest.mark.parametrize("form", FORMS)
def test_a_traversal_name_is_cleaned_in_every_form(
    client, django_capture_on_commit_callbacks, form
):
    post = FORMS[form](client)
    before = set(Fichier.objects.values_list("pk", flat=True))
    content = corpus.mp4_bytes() if form == "enregistrement de visite" else corpus.png_bytes()
    name = "../../etc/passwd\r\n\u202egnp.mp4" if form == "enregistrement de visite" else (
        "../../etc/passwd\r\n\u202egnp.png"
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        response = post(SimpleUploadedFile(name, content))
    assert response.status_code in (200, 302), response.content[:400]
    fichier = _new_fichier(before)
    fichier.refresh_from_db()
    assert fichier.status == FichierStatus.ACCEPTEE, fichier.refusal_reason
    for forbidden in ("/", "\\", "\r", "\n", "\u202e", ".."):
        assert forbidden not in fichier.original_name, fichier.original_name


@pytest.mark.parametrize("form", FORMS)
def test_an_empty_file_is_refused_with_a_message_and_nothing_stored(client, form, media_root):
    post = FORMS[form](client)
    before = set(Fichier.objects.values_list("pk", flat=True))
    response = post(SimpleUploadedFile("vide.pdf", b""))
    assert response.status_code in (200, 302, 400, 422)
    assert not Fichier.objects.exclude(pk__in=before).exists()
    if response.status_code == 302:
        response = client.get(response["Location"])
    assert "vide" in response.content.decode()
