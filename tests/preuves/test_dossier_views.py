import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from candidatures.enums import CandidatureState
from candidatures.models import CguAcceptance
from candidatures.services.onboarding import current_cgu
from preuves.depot import dossier
from preuves.models import Depot
from tests.candidatures.sheets import Row
from tests.factories import CandidatureFactory, UserFactory, company_user
from tests.preuves import samples
from tests.preuves.dossiers import deposit_everything, eligible_candidature, published_rem

pytestmark = pytest.mark.django_db
S = CandidatureState


def _member(candidature):
    user = company_user(candidature.editeur)
    CguAcceptance.objects.create(user=user, cgu=current_cgu())
    return user


def _upload_url(candidature, identifier):
    item = next(i for i in dossier(candidature).items if i.identifier == identifier)
    return reverse(
        "dossier:upload",
        args=[candidature.pk, item.exigence.pk, item.preuve.pk if item.preuve else 0],
    )


def test_dossier_page_shows_completeness_and_filters(client):
    candidature = eligible_candidature()
    client.force_login(_member(candidature))
    url = reverse("dossier:page", args=[candidature.pk])
    content = client.get(url).content.decode()
    assert "0 / 5 preuves fournies" in content
    assert "INS.01.01.01" in content and "GAZ.05.01.01" in content
    response = client.get(url, {"section": "GAZ"})
    assert [key for key, _title, _blocks in response.context["sections"]] == ["GAZ"]
    deposit_everything(candidature)
    assert "5 / 5 preuves fournies" in client.get(url).content.decode()
    assert client.get(url, {"statut": "manquante"}).context["sections"] == []


def test_dossier_page_runs_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    small = eligible_candidature()
    deposit_everything(small)
    rows = [
        Row(f"R.{n:03}", scenario=f"R.{n:03}.01", proofs=[(f"R.{n:03}.01.01", "Vidéo")])
        for n in range(80)
    ]
    version = published_rem(rows=rows)
    big = CandidatureFactory(eligible=True, campagne__dsr=version.dsr, rem_version=version)
    deposit_everything(big)
    counts = []
    for candidature in (small, big):
        client.force_login(_member(candidature))
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("dossier:page", args=[candidature.pk])).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
    with django_assert_max_num_queries(30):
        client.get(reverse("dossier:page", args=[big.pk]))


def test_upload_from_the_page_returns_the_proof_block(client, django_capture_on_commit_callbacks):
    candidature = eligible_candidature()
    client.force_login(_member(candidature))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            _upload_url(candidature, "INS.01.01.01"),
            {
                "files": [
                    SimpleUploadedFile("saisie.png", samples.png_bytes()),
                    SimpleUploadedFile("saisie.pdf", samples.pdf_bytes()),
                ]
            },  # fmt: skip
            HTTP_X_UPLOAD="1",
        )
    assert response.status_code == 200
    content = response.content.decode()
    assert 'id="item-' in content and "saisie.png" in content
    assert Depot.objects.filter(candidature=candidature).count() == 2


def test_upload_over_the_kind_limit_is_stopped_and_nothing_is_saved(client):
    candidature = eligible_candidature()
    client.force_login(_member(candidature))
    response = client.post(
        _upload_url(candidature, "INS.01.01.02"),  # a log: 1 Mo
        {"files": SimpleUploadedFile("trace.log", b"x" * (2**20 + 1))},
        HTTP_X_UPLOAD="1",
    )
    assert response.status_code == 413
    assert "dépasse la taille maximale de ce type de preuve (1 Mo)" in response.content.decode()
    assert not Depot.objects.exists()


def test_upload_without_script_redirects_back_to_the_proof(client):
    candidature = eligible_candidature()
    client.force_login(_member(candidature))
    response = client.post(
        _upload_url(candidature, "SSI.07"),
        {"files": SimpleUploadedFile("a.png", samples.png_bytes())},
    )
    assert response.status_code == 302
    assert "#item-" in response["Location"]


def test_link_for_a_test_space_report(client):
    candidature = eligible_candidature()
    client.force_login(_member(candidature))
    item = next(i for i in dossier(candidature).items if i.accepts_url)
    url = reverse("dossier:link", args=[candidature.pk, item.exigence.pk, item.preuve.pk])
    response = client.post(url, {"url": "ftp://x"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert "https://" in response.content.decode()
    client.post(url, {"url": "https://gazelle.example/rapport/9"}, HTTP_HX_REQUEST="true")
    assert Depot.objects.get().url == "https://gazelle.example/rapport/9"


def test_submit_from_the_page(client, django_capture_on_commit_callbacks):
    candidature = eligible_candidature()
    member = _member(candidature)
    deposit_everything(candidature, member)
    client.force_login(member)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("dossier:submit", args=[candidature.pk]), follow=True)
    assert "Dossier de preuves complet soumis" in response.content.decode()
    assert (
        "Récépissé de dépôt (PDF)"
        in client.get(reverse("dossier:page", args=[candidature.pk])).content.decode()
    )


def test_instruction_actions_are_for_instructors(client):
    candidature = eligible_candidature()
    deposit_everything(candidature)
    Candidature = type(candidature)
    Candidature.objects.filter(pk=candidature.pk).update(state=S.DOSSIER_SOUMIS)
    client.force_login(_member(candidature))
    assert client.post(reverse("dossier:take", args=[candidature.pk])).status_code == 403
    client.force_login(UserFactory(instructeur=True))
    client.post(reverse("dossier:take", args=[candidature.pk]))
    candidature.refresh_from_db()
    assert candidature.state == S.EN_INSTRUCTION


def test_another_company_never_sees_the_dossier(client):
    candidature = eligible_candidature()
    intruder = UserFactory(mandataire=True)
    CguAcceptance.objects.create(user=intruder, cgu=current_cgu())
    client.force_login(intruder)
    assert client.get(reverse("dossier:page", args=[candidature.pk])).status_code == 404
    response = client.post(
        _upload_url(candidature, "SSI.07"),
        {"files": SimpleUploadedFile("a.png", samples.png_bytes())},
    )
    assert response.status_code == 404


def test_the_page_head_counts_again_after_a_deposit(client, django_capture_on_commit_callbacks):
    candidature = eligible_candidature()
    client.force_login(_member(candidature))
    summary = reverse("dossier:summary", args=[candidature.pk])
    assert "0 / 5 preuves fournies" in client.get(summary).content.decode()
    item = next(i for i in dossier(candidature).items if i.accepts_url)
    response = client.post(
        reverse("dossier:link", args=[candidature.pk, item.exigence.pk, item.preuve.pk]),
        {"url": "https://gazelle.example/rapport/9"},
        HTTP_HX_REQUEST="true",
    )
    # The block returned tells the page to fetch its head again.
    assert response["HX-Trigger"] == "depot-changed"
    content = client.get(summary).content.decode()
    assert "1 / 5 preuves fournies" in content and "Il manque 4 preuve(s)" in content


def _in_instruction(client):
    candidature = eligible_candidature()
    deposit_everything(candidature)
    type(candidature).objects.filter(pk=candidature.pk).update(state=S.DOSSIER_SOUMIS)
    client.force_login(UserFactory(instructeur=True))
    client.post(reverse("dossier:take", args=[candidature.pk]))
    return candidature


def test_a_refused_verdict_shows_its_error_at_the_field_and_keeps_the_choice(client):
    candidature = _in_instruction(client)
    exigence = candidature.rem_version.exigences.get(identifier="GAZ.05")
    response = client.post(
        reverse("dossier:verdict", args=[candidature.pk]),
        {"exigence": exigence.pk, "verdict": "non_conforme", "comment": "  "},
    )
    assert response.status_code == 400
    content = response.content.decode()
    assert (
        f'<p class="fr-error-text" id="commentaire-{exigence.pk}-error">'
        "Dites en quoi l’exigence n’est pas satisfaite.</p>"
    ) in content
    assert '<option value="non_conforme" selected>' in content
    response = client.post(
        reverse("dossier:verdict", args=[candidature.pk]),
        {"exigence": exigence.pk, "verdict": "non_conforme", "comment": "Rapport en échec."},
    )
    assert response["Location"].endswith(f"#exigence-{exigence.pk}")
    page = client.get(response["Location"]).content.decode()
    assert '<option value="non_conforme" selected>' in page  # the latest verdict, preselected


def test_a_refused_complement_request_keeps_what_was_typed_and_ticked(client):
    candidature = _in_instruction(client)
    exigence = candidature.rem_version.exigences.get(identifier="INS.01")
    url = reverse("dossier:complement", args=[candidature.pk])
    response = client.post(url, {"exigences": [exigence.pk], "text": ""})
    assert response.status_code == 400
    content = response.content.decode()
    assert "Écrivez la demande adressée à l’éditeur." in content
    assert f'id="complement-{exigence.pk}" form="complement" checked' in content
    response = client.post(url, {"text": "La vidéo est illisible."})
    content = response.content.decode()
    assert "Cochez au moins une exigence concernée." in content
    assert ">La vidéo est illisible.</textarea>" in content
    assert not candidature.sollicitations.exists()
