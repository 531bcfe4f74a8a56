"""Deposits through the API under the page's rules: the proof's size limit while the
body streams (413), the content check and the antivirus after the 201 (the status read
back), J6 and J7, links, removal, the bulk deposit's refusals, the submission; each
refusal a problem+json with the page's French message."""

import io
import json
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from candidatures.models import Campagne, Candidature
from preuves.models import Depot, DepotLot, Fichier
from tests.api.conftest import problem
from tests.preuves import samples
from tests.preuves.dossiers import deposit_everything

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def _stored(media_root) -> list:
    """The files the portal stored, but the REM the candidature was made from."""
    return [
        path
        for path in media_root.rglob("*")
        if path.is_file() and path.relative_to(media_root).parts[0] != "rem"
    ]


def _preuve(api, candidature, identifiant: str) -> dict:
    dossier = api.get(f"/api/v1/candidatures/{candidature.pk}/preuves").json()
    return next(p for p in dossier["preuves"] if p["identifiant"] == identifiant)


def _upload_url(candidature, preuve: dict) -> str:
    return (
        f"/api/v1/candidatures/{candidature.pk}/preuves/"
        f"{preuve['exigence_id']}/{preuve['preuve_id']}/fichiers"
    )


def _send(api, candidature, identifiant: str, name: str, content: bytes, capture):
    url = _upload_url(candidature, _preuve(api, candidature, identifiant))
    with capture(execute=True):
        return api.post(url, {"fichier": SimpleUploadedFile(name, content)})


def _send_pdf(api, candidature, capture):
    """A real PDF for the CNDA justification (a PDF, 10 Mo at most)."""
    return _send(api, candidature, "INS.01.02.01", "justificatif.pdf", samples.pdf_bytes(), capture)


def test_a_file_over_its_proofs_limit_is_stopped_and_nothing_saved(
    api, candidature, media_root, django_capture_on_commit_callbacks
):
    # A log: 1 Mo at most, as the API's list says.
    preuve = _preuve(api, candidature, "INS.01.01.02")
    assert preuve["regle"]["taille_max_octets"] == 2**20
    response = _send(
        api,
        candidature,
        "INS.01.01.02",
        "trace.log",
        b"x" * (2**20 + 1),
        django_capture_on_commit_callbacks,
    )
    body = problem(response, 413, "trop-volumineux")
    assert body["detail"] == (
        "« trace.log » dépasse la taille maximale de ce type de preuve (1 Mo) : rien n’a été "
        "enregistré."
    )
    assert not Depot.objects.exists() and not Fichier.objects.exists()
    assert _stored(media_root) == []


def test_a_declared_gigabyte_is_refused_before_reading(api, candidature):
    preuve = _preuve(api, candidature, "INS.01.01.02")
    response = api.client.post(
        _upload_url(candidature, preuve),
        b"--x\r\n",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(2**30),
        headers=api.headers,
    )
    body = problem(response, 413, "trop-volumineux")
    assert "un fichier de 1 Mo au plus" in body["detail"]


def test_no_file_or_no_multipart_is_said_at_the_field(api, candidature):
    url = _upload_url(candidature, _preuve(api, candidature, "INS.01.01.02"))
    body = problem(api.post(url, {"autre": "x"}), 422, "donnees-invalides")
    assert body["errors"] == [
        {
            "champ": "fichier",
            "pointer": "#/fichier",
            "detail": "Envoyez le fichier dans le champ « fichier ».",
        }
    ]
    body = problem(
        api.post(url, json.dumps({"fichier": "x"}), content_type="application/json"),
        400,
        "requete-invalide",
    )
    assert "multipart/form-data" in body["detail"]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        # HTML named as a PDF: the type is read in the content, not in the name.
        ("justificatif.pdf", samples.HTML_PAGE, "text/html"),
        ("justificatif.pdf", EICAR, "antivirus"),
    ],
)
def test_the_content_check_refuses_after_the_201_and_the_status_says_why(
    api, candidature, django_capture_on_commit_callbacks, name, content, reason
):
    response = _send(
        api, candidature, "INS.01.02.01", name, content, django_capture_on_commit_callbacks
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["fichier"]["statut"]["code"] == "en_verification"
    status = api.get(f"/api/v1/fichiers/{created['fichier']['id']}").json()
    assert status["statut"]["code"] in {"refusee", "infectee"}
    assert reason in status["motif_refus"].lower() or reason in status["type_detecte"]
    assert _preuve(api, candidature, "INS.01.02.01")["statut"]["code"] == "refusee"
    # Never served back.
    if status["statut"]["code"] == "infectee":
        download = api.get(f"/api/v1/fichiers/{created['fichier']['id']}/contenu")
        problem(download, 404, "introuvable")


def test_an_accepted_file_is_fournie_and_downloadable(
    api, candidature, django_capture_on_commit_callbacks
):
    response = _send_pdf(api, candidature, django_capture_on_commit_callbacks)
    fichier_id = response.json()["fichier"]["id"]
    status = api.get(f"/api/v1/fichiers/{fichier_id}").json()
    assert (status["statut"]["code"], status["type_detecte"]) == ("acceptee", "application/pdf")
    assert _preuve(api, candidature, "INS.01.02.01")["statut"]["code"] == "fournie"
    download = api.get(f"/api/v1/fichiers/{fichier_id}/contenu")
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert b"".join(download.streaming_content) == samples.pdf_bytes()


def _move_jalons(candidature, **moments) -> None:
    """The jalons in order, J1 a month ago, then `moments`."""
    start = timezone.now() - timezone.timedelta(days=30)
    earlier = {f"j{n}": start + timezone.timedelta(days=n) for n in range(1, 6)}
    Campagne.objects.filter(pk=candidature.campagne_id).update(**earlier, **moments)


@pytest.mark.parametrize(
    ("jalons", "state", "message"),
    [
        (
            {"j6": -1},
            "eligible",
            "(J6) : ce délai est passé.",
        ),
        (
            {"j6": -2, "j7": -1},
            "eligible",
            "(J7) : plus aucune preuve ne peut changer.",
        ),
        (
            {},
            "en_instruction",
            "Le dossier est en instruction : seules les preuves des exigences visées par une "
            "demande de complément de l’ANS peuvent changer.",
        ),
    ],
)
def test_j6_j7_and_instruction_refuse_a_deposit_with_the_pages_words(
    api, candidature, django_capture_on_commit_callbacks, jalons, state, message
):
    now = timezone.now()
    if jalons:
        _move_jalons(
            candidature, **{name: now + timezone.timedelta(hours=h) for name, h in jalons.items()}
        )
    Candidature.objects.filter(pk=candidature.pk).update(state=state)
    response = _send_pdf(api, candidature, django_capture_on_commit_callbacks)
    body = problem(response, 422, "action-refusee")
    assert message in body["detail"]
    assert not Depot.objects.exists() and not Fichier.objects.exists()


def test_a_link_is_deposited_for_a_test_report_only(api, candidature):
    base = f"/api/v1/candidatures/{candidature.pk}/preuves"
    gazelle = _preuve(api, candidature, "GAZ.05.01.01")
    assert gazelle["accepte_un_lien"]
    url = f"{base}/{gazelle['exigence_id']}/{gazelle['preuve_id']}/lien"
    body = problem(
        api.post(url, {"url": "http://gazelle.example/r"}, content_type="application/json"),
        422,
        "donnees-invalides",
    )
    assert body["errors"][0]["champ"] == "url"
    response = api.post(
        url, {"url": "https://gazelle.example/rapport/7"}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["url"] == "https://gazelle.example/rapport/7"
    assert _preuve(api, candidature, "GAZ.05.01.01")["statut"]["code"] == "fournie"
    log = _preuve(api, candidature, "INS.01.01.02")
    response = api.post(
        f"{base}/{log['exigence_id']}/{log['preuve_id']}/lien",
        {"url": "https://gazelle.example/rapport/7"},
        content_type="application/json",
    )
    body = problem(response, 422, "action-refusee")
    assert body["errors"] == [
        {
            "champ": "url",
            "pointer": "#/url",
            "detail": "Cette preuve se dépose sous forme de fichier.",
        }
    ]


def test_a_json_body_past_djangos_cap_is_413_not_500(api, candidature, settings):
    gazelle = _preuve(api, candidature, "GAZ.05.01.01")
    url = (
        f"/api/v1/candidatures/{candidature.pk}/preuves/"
        f"{gazelle['exigence_id']}/{gazelle['preuve_id']}/lien"
    )
    padding = "a" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = api.post(
        url, {"url": f"https://gazelle.example/{padding}"}, content_type="application/json"
    )
    body = problem(response, 413, "trop-volumineux")
    assert "rien n’a été enregistré" in body["detail"]
    assert not Depot.objects.exists()


def test_a_deposit_is_removed_once(api, candidature, django_capture_on_commit_callbacks):
    created = _send_pdf(api, candidature, django_capture_on_commit_callbacks).json()
    url = f"/api/v1/candidatures/{candidature.pk}/depots/{created['depot']}"
    assert api.delete(url).status_code == 204
    assert Depot.objects.get(pk=created["depot"]).removed_at is not None
    assert _preuve(api, candidature, "INS.01.02.01")["statut"]["code"] == "manquante"
    problem(api.delete(url), 404, "introuvable")


def _zip(members: dict[str, bytes]) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return SimpleUploadedFile("preuves.zip", buffer.getvalue())


def test_bulk_matches_names_tolerantly_and_deposits_in_one_call(
    api, candidature, django_capture_on_commit_callbacks
):
    url = f"/api/v1/candidatures/{candidature.pk}/depot-groupe"
    files = {
        # Case, separators and a prefix do not matter.
        "fichiers": [
            SimpleUploadedFile("ins-01-02-01 justificatif CNDA.pdf", samples.pdf_bytes()),
            _zip({"logs/INS_01_01_02_appels.log": b"200 OK\n"}),
        ]
    }
    simulation = api.post(url, {**files, "simulation": "true"})
    assert simulation.status_code == 200, simulation.content
    report = simulation.json()
    assert report["deposes"] == 0 and not Depot.objects.exists()
    assert {row["correspondance"]["code"] for row in report["fichiers"]} == {"reconnu"}
    for upload in files["fichiers"]:
        upload.seek(0)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(url, files)
    assert response.status_code == 201, response.content
    assert response.json()["deposes"] == 2
    assert {
        _preuve(api, candidature, identifiant)["statut"]["code"]
        for identifiant in ("INS.01.02.01", "INS.01.01.02")
    } == {"fournie"}


def test_bulk_refuses_all_or_nothing_with_a_reason_per_file(
    api, candidature, media_root, django_capture_on_commit_callbacks
):
    url = f"/api/v1/candidatures/{candidature.pk}/depot-groupe"

    def refused(data: dict, slug: str) -> dict:
        with django_capture_on_commit_callbacks(execute=True):
            return problem(api.post(url, data), 422, slug)

    body = refused(
        {"fichiers": [SimpleUploadedFile("vacances.pdf", samples.pdf_bytes())]}, "action-refusee"
    )
    assert body["detail"].startswith("Aucun fichier ne correspond à une preuve attendue")
    assert body["errors"] == [
        {
            "champ": "vacances.pdf",
            "pointer": "#/vacances.pdf",
            "detail": "Aucun identifiant de preuve dans le nom : indiquez la preuve.",
        }
    ]
    # A PNG given for the CNDA justification, which is a PDF: the whole call is refused.
    body = refused(
        {
            "fichiers": [
                SimpleUploadedFile("capture.png", samples.png_bytes()),
                SimpleUploadedFile("INS.01.01.02.log", b"200 OK\n"),
            ],
            "correspondances": json.dumps({"capture.png": ["INS.01.02.01"]}),
        },
        "action-refusee",
    )
    assert "rien n’a été déposé" in body["detail"]
    assert [error["champ"] for error in body["errors"]] == ["capture.png"]
    # A mapping that is not JSON, one that names no expected proof.
    upload = SimpleUploadedFile("rapport.pdf", samples.pdf_bytes())
    body = refused({"fichiers": [upload], "correspondances": "{pas du json"}, "donnees-invalides")
    assert body["errors"][0]["champ"] == "correspondances"
    upload.seek(0)
    body = refused(
        {"fichiers": [upload], "correspondances": json.dumps({"rapport.pdf": ["ZZZ.99"]})},
        "action-refusee",
    )
    assert "« ZZZ.99 » ne désigne pas une preuve attendue" in body["errors"][0]["detail"]
    assert not Depot.objects.exists() and not DepotLot.objects.exists()
    # The staged files are gone with their batches.
    assert _stored(media_root) == []


def test_bulk_lists_a_file_of_the_wrong_type_and_deposits_the_others(
    api, candidature, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"/api/v1/candidatures/{candidature.pk}/depot-groupe",
            {
                "fichiers": [
                    SimpleUploadedFile("INS.01.02.01.png", samples.png_bytes()),
                    SimpleUploadedFile("INS.01.01.02.log", b"200 OK\n"),
                ]
            },
        )
    assert response.status_code == 201, response.content
    report = response.json()
    assert report["deposes"] == 1
    png, log = report["fichiers"]
    assert (png["correspondance"]["code"], png["fichier"]) == ("type_inadapte", None)
    assert png["motif"] == (
        "Le contenu est de type image/png (PNG) ; INS.01.02.01 attend : PDF ; 10 Mo au plus."
    )
    assert (log["preuves"], log["fichier"] is not None) == (["INS.01.01.02"], True)


def test_bulk_over_the_file_limit_is_413(api, candidature):
    response = api.post(
        f"/api/v1/candidatures/{candidature.pk}/depot-groupe",
        {"fichiers": [SimpleUploadedFile("INS.01.02.01.pdf", samples.padded_pdf(50 * 2**20 + 1))]},
    )
    body = problem(response, 413, "trop-volumineux")
    assert "« INS.01.02.01.pdf » dépasse la taille permise" in body["detail"]
    assert not Fichier.objects.exists()


def test_bulk_with_more_files_than_a_call_carries_is_413(api, candidature, settings):
    files = [
        SimpleUploadedFile(f"INS.01.01.02_{n}.log", b"200 OK\n")
        for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FILES + 1)
    ]
    response = api.post(f"/api/v1/candidatures/{candidature.pk}/depot-groupe", {"fichiers": files})
    body = problem(response, 413, "trop-volumineux")
    assert f"plus de {settings.DATA_UPLOAD_MAX_NUMBER_FILES} fichiers" in body["detail"]
    assert not Fichier.objects.exists()


def test_an_incomplete_dossier_is_not_submitted_a_complete_one_is(
    api, candidature, django_capture_on_commit_callbacks
):
    url = f"/api/v1/candidatures/{candidature.pk}/soumission"
    body = problem(api.post(url), 422, "action-refusee")
    assert body["detail"]
    assert Candidature.objects.get(pk=candidature.pk).state == "eligible"
    deposit_everything(candidature)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(url)
    assert response.status_code == 201, response.content
    assert response.json()["etat"]["code"] == "dossier_soumis"
    problem(api.post(url), 422, "action-refusee")
