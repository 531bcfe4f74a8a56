import uuid
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from candidatures.models import CguAcceptance
from candidatures.services.onboarding import current_cgu
from preuves import bulk
from preuves.depot import dossier
from preuves.models import Depot, DepotLot, Fichier
from tests.college.phase3 import signed_candidature
from tests.factories import UserFactory, company_user
from tests.preuves import corpus, samples, zips
from tests.preuves.dossiers import eligible_candidature

pytestmark = pytest.mark.django_db


def _ready(user):
    CguAcceptance.objects.create(user=user, cgu=current_cgu())
    return user


def _member(candidature):
    return _ready(company_user(candidature.editeur))


def _files():
    return [
        SimpleUploadedFile("INS.01.01.01_saisie.mp4", corpus.mp4_bytes()),
        SimpleUploadedFile("SC.SSI-07_capture.png", samples.png_bytes()),
        SimpleUploadedFile("INS.01.02.01.pdf", samples.pdf_bytes()),
        SimpleUploadedFile("notes.png", samples.png_bytes()),
    ]


def _key(candidature, identifier):
    return next(i.key for i in dossier(candidature).items if i.identifier == identifier)


@pytest.fixture
def staged(client):
    """A batch sent without script: one form, every file."""
    candidature = eligible_candidature()
    member = _member(candidature)
    client.force_login(member)
    response = client.post(reverse("dossier:lot_new", args=[candidature.pk]), {"files": _files()})
    lot = DepotLot.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("dossier:lot", args=[candidature.pk, lot.pk])
    return candidature, member, lot


def test_the_review_shows_the_proposed_mapping_and_the_confirmation_deposits(client, staged):
    candidature, _member_, lot = staged
    page = client.get(reverse("dossier:lot", args=[candidature.pk, lot.pk]))
    content = page.content.decode()
    assert (
        "4 fichier(s) reçu(s) : <strong>3 reconnu(s)</strong>, 0 ambigu(s), 1 non reconnu(s)"
        in content
    )
    assert content.count(" checked>") == 3
    assert '<datalist id="lot-preuves">' in content
    rows = {row.name: row for row in lot.fichiers.all()}
    data = {f"cible-{row.pk}": row.proposed for row in rows.values()}
    # The one nobody recognised: typed by its identifier, any spelling.
    data[f"autre-{rows['notes.png'].pk}"] = "ssi 07"
    response = client.post(reverse("dossier:lot_confirm", args=[candidature.pk, lot.pk]), data)
    assert response.status_code == 302 and response["Location"].endswith("#suivi-lot")
    assert Depot.objects.filter(candidature=candidature).count() == 4
    assert Fichier.objects.count() == 4
    followed = client.get(response["Location"]).content.decode()
    assert "4 fichier(s) déposé(s) pour 4 preuve(s)" in followed
    assert 'id="suivi-lot"' in followed and "Vérification" in followed


def test_a_refused_confirmation_keeps_the_choices_and_says_why_at_each_file(client, staged):
    candidature, _member_, lot = staged
    rows = {row.name: row for row in lot.fichiers.all()}
    png = rows["notes.png"]
    data = {f"cible-{row.pk}": row.proposed for row in rows.values()}
    data[f"cible-{png.pk}"] = [_key(candidature, "INS.01.02.01")]
    data[f"autre-{rows['INS.01.02.01.pdf'].pk}"] = "XYZ.99"
    response = client.post(reverse("dossier:lot_confirm", args=[candidature.pk, lot.pk]), data)
    assert response.status_code == 400
    content = response.content.decode()
    assert 'id="resume-erreurs"' in content
    assert f'<a href="#lot-fichier-{png.pk}">notes.png</a>' in content
    assert "INS.01.02.01 attend : PDF ; 10 Mo au plus" in content
    assert "« XYZ.99 » n’est pas une preuve attendue de ce dossier" in content
    assert 'value="XYZ.99"' in content
    assert not Depot.objects.exists() and not Fichier.objects.exists()


def test_the_script_sends_a_batch_in_several_requests(client):
    candidature = eligible_candidature()
    client.force_login(_member(candidature))
    created = client.post(
        reverse("dossier:lot_new", args=[candidature.pk]), {"section": ""}, HTTP_X_UPLOAD="1"
    )
    assert created.status_code == 201
    urls = created.json()
    for group in (_files()[:2], _files()[2:]):
        answer = client.post(urls["fichiers"], {"files": group}, HTTP_X_UPLOAD="1")
        assert answer.json() == {"recus": 2}
    assert DepotLot.objects.get().fichiers.count() == 4
    assert client.get(urls["revue"]).status_code == 200
    assert client.post(urls["abandon"], HTTP_X_UPLOAD="1").json() == {"abandonne": True}
    assert not DepotLot.objects.exists()


def test_a_zip_bomb_sent_through_the_page_is_refused_with_nothing_kept(client, media_root):
    candidature = eligible_candidature()
    client.force_login(_member(candidature))
    response = client.post(
        reverse("dossier:lot_new", args=[candidature.pk]),
        {"files": [SimpleUploadedFile("preuves.zip", zips.deflate_bomb(30 * 2**20))]},
        HTTP_X_UPLOAD="1",
    )
    assert response.status_code == 422
    assert "bombe de décompression" in response.json()["erreur"]
    assert not DepotLot.objects.exists()
    assert not (media_root / "lots").exists() or not any((media_root / "lots").rglob("*.*"))


def test_a_zip_with_traversal_names_is_shown_cleaned(client):
    candidature = eligible_candidature()
    client.force_login(_member(candidature))
    archive = zips.zip_of({"../../../etc/SSI.07.png": samples.png_bytes()})
    response = client.post(
        reverse("dossier:lot_new", args=[candidature.pk]),
        {"files": [SimpleUploadedFile("preuves.zip", archive)]},
        follow=True,
    )
    content = response.content.decode()
    assert ">SSI.07.png<" in content and "etc/SSI.07.png" in content
    assert "../" not in content.split("<table>")[1].split("</table>")[0]


def test_oversize_uploads_stop_before_anything_is_stored(client, media_root, monkeypatch):
    candidature = eligible_candidature()
    client.force_login(_member(candidature))
    url = reverse("dossier:lot_new", args=[candidature.pk])
    declared = client.post(
        url,
        b"--x\r\n",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(2**30),
        HTTP_X_UPLOAD="1",
    )
    assert declared.status_code == 413 and "rien n’a été enregistré" in declared.json()["erreur"]
    monkeypatch.setattr(bulk, "LOT_FILE_MAX_BYTES", 1000)
    streamed = client.post(
        url, {"files": [SimpleUploadedFile("SSI.07.png", b"x" * 1001)]}, HTTP_X_UPLOAD="1"
    )
    assert streamed.status_code == 413 and "« SSI.07.png » dépasse" in streamed.json()["erreur"]
    assert not DepotLot.objects.exists()
    assert not (media_root / "lots").exists()


def test_after_j6_the_bulk_deposit_is_closed_as_single_uploads_are(client):
    candidature = eligible_candidature()
    now = timezone.now()
    type(candidature.campagne).objects.filter(pk=candidature.campagne.pk).update(
        **{f"j{n}": now - timedelta(days=70 - 10 * n) for n in range(1, 7)},
        j7=now + timedelta(days=30),
    )
    client.force_login(_member(candidature))
    response = client.post(
        reverse("dossier:lot_new", args=[candidature.pk]), {"files": _files()}, follow=True
    )
    assert "(J6) : ce délai est passé" in response.content.decode()
    assert not DepotLot.objects.exists()
    page = client.get(reverse("dossier:page", args=[candidature.pk])).content.decode()
    assert 'id="depot-groupe"' not in page


def test_nobody_else_reaches_a_batch(client, staged):
    candidature, _member_, lot = staged
    forged = uuid.uuid4()
    urls = {
        "lot": reverse("dossier:lot", args=[candidature.pk, lot.pk]),
        "confirm": reverse("dossier:lot_confirm", args=[candidature.pk, lot.pk]),
        "files": reverse("dossier:lot_files", args=[candidature.pk, lot.pk]),
        "discard": reverse("dossier:lot_discard", args=[candidature.pk, lot.pk]),
        "progress": reverse("dossier:lot_progress", args=[candidature.pk, lot.pk]),
    }
    # Anonymous: to the login page.
    client.logout()
    for url in urls.values():
        assert client.post(url).status_code == 302
    # Another company, by the victim's URL or through its own candidature.
    intruder = _ready(UserFactory(mandataire=True))
    own = eligible_candidature(editeur=intruder.editeur)
    client.force_login(intruder)
    for url in urls.values():
        assert client.get(url).status_code in {404, 405}
        assert client.post(url, {"files": _files()}).status_code in {404, 405}
    assert client.get(reverse("dossier:lot", args=[own.pk, lot.pk])).status_code == 404
    assert client.post(reverse("dossier:lot_new", args=[candidature.pk])).status_code == 404
    # A colleague of the company reaches it; a forged id is a 404.
    client.force_login(_member(candidature))
    assert client.get(urls["lot"]).status_code == 200
    assert client.get(reverse("dossier:lot", args=[candidature.pk, forged])).status_code == 404
    # The agency sees the dossier, not the company's batches, and cannot send one.
    client.force_login(_ready(UserFactory(instructeur=True)))
    assert client.get(urls["lot"]).status_code == 404
    assert client.post(urls["confirm"]).status_code == 404
    assert client.post(reverse("dossier:lot_new", args=[candidature.pk])).status_code == 403
    lot.refresh_from_db()
    assert lot.confirmed_at is None and not Depot.objects.exists()


def test_the_college_reaches_no_batch(client):
    judged = signed_candidature()
    lot = DepotLot.objects.create(
        candidature=judged,
        editeur=judged.editeur,
        created_by=judged.editeur.members.first(),
        expires_at=judged.created_at.replace(year=2099),
    )
    client.force_login(_ready(UserFactory(college=True)))
    assert client.get(reverse("dossier:lot", args=[judged.pk, lot.pk])).status_code == 404
    # It sees the candidature on its agenda, and may not act on it.
    assert client.post(reverse("dossier:lot_new", args=[judged.pk])).status_code == 403


def test_one_deposited_file_answers_another_proof_without_being_sent_again(client):
    candidature = eligible_candidature()
    member = _member(candidature)
    client.force_login(member)
    items = {i.identifier: i for i in dossier(candidature).items}
    pdf = items["INS.01.02.01"]
    client.post(
        reverse("dossier:upload", args=[candidature.pk, pdf.exigence.pk, pdf.preuve.pk]),
        {"files": [SimpleUploadedFile("homologation.pdf", samples.pdf_bytes())]},
    )
    depot = Depot.objects.get()
    fragment = client.get(
        reverse("dossier:item", args=[candidature.pk, pdf.exigence.pk, pdf.preuve.pk]),
        HTTP_X_FRAGMENT="1",
    ).content.decode()
    # Offered where it fits (PDF): the free proof SSI.07 and the log INS.01.01.02; not the
    # video INS.01.01.01 (a PDF is no video) nor itself.
    offered = fragment[fragment.index('name="cible"') : fragment.index("</select>")]
    assert "SSI.07" in offered and "INS.01.01.02" in offered
    assert "INS.01.01.01" not in offered and "INS.01.02.01" not in offered
    url = reverse("dossier:reuse", args=[candidature.pk, depot.pk])
    response = client.post(url, {"cible": items["SSI.07"].key}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["HX-Trigger"] == "depot-changed"
    content = response.content.decode()
    assert "déposé aussi pour : SSI.07" in content
    assert "répond aussi à SSI.07, sans nouvel envoi" in content
    assert Fichier.objects.count() == 1 and Depot.objects.count() == 2
    refused = client.post(url, {"cible": items["INS.01.01.01"].key}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 422
    assert "INS.01.01.01 attend" in refused.content.decode() or "vérification est en cours" in (
        refused.content.decode()
    )
    again = client.post(url, {"cible": items["SSI.07"].key}, HTTP_HX_REQUEST="true")
    assert "répond déjà à SSI.07" in again.content.decode()
    assert Depot.objects.count() == 2
    # The agency sees it as one file under two proofs.
    client.force_login(_ready(UserFactory(instructeur=True)))
    page = client.get(reverse("dossier:page", args=[candidature.pk])).content.decode()
    assert "déposé aussi pour : SSI.07" in page and "déposé aussi pour : INS.01.02.01" in page
    # Another company cannot reuse it, nor see it.
    client.force_login(_ready(UserFactory(mandataire=True)))
    assert client.post(url, {"cible": items["INS.01.01.02"].key}).status_code == 404
    assert Depot.objects.count() == 2


def test_the_progress_of_a_confirmed_batch_tells_the_page_when_a_file_is_decided(
    client, staged, django_capture_on_commit_callbacks
):
    candidature, member, lot = staged
    data = {f"cible-{row.pk}": row.proposed for row in lot.fichiers.all()}
    client.post(reverse("dossier:lot_confirm", args=[candidature.pk, lot.pk]), data)
    url = reverse("dossier:lot_progress", args=[candidature.pk, lot.pk])
    response = client.get(url, {"vus": 0})
    assert "0 / 3 fichier(s) vérifié(s)" in response.content.decode()
    assert "HX-Trigger" not in response
    Fichier.objects.update(status="acceptee", checked_at=lot.created_at)
    response = client.get(url, {"vus": 0})
    assert response["HX-Trigger"] == "fichier-decided"
    assert "Vérification terminée : 3 fichier(s) accepté(s)" in response.content.decode()
