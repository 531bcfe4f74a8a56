"""The public verification of an attestation: by its number, and of its PDF by its seal
and its stored hash; the seal's certificate published."""

import hashlib
import re

import pytest
from asn1crypto import pem
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from candidatures.proof_kinds import MO
from college import selectors, views_public
from college.models import Attestation
from segur_portal import demo_pki, seal
from tests.college.test_registre import REASON, attestation_pdf, referenced, withdraw
from tests.factories import CampagneFactory, EditeurFactory, ProfilFactory
from tests.segur_portal import seal_samples

pytestmark = pytest.mark.django_db


def _url(attestation: Attestation) -> str:
    return reverse("verifier:attestation", args=[attestation.numero])


def _upload(client, attestation: Attestation, content: bytes | None, name="attestation.pdf"):
    data = {"fichier": SimpleUploadedFile(name, content)} if content is not None else {}
    return client.post(_url(attestation), data)


@pytest.fixture
def hash_calls(monkeypatch):
    """The files the view hashed."""
    calls = []
    check = selectors.attestation_file_check

    def spy(*, attestation, upload):
        calls.append(upload.size)
        return check(attestation=attestation, upload=upload)

    monkeypatch.setattr(selectors, "attestation_file_check", spy)
    return calls


# By number


def test_a_valid_attestation_says_so_with_its_details(client):
    campagne = CampagneFactory(dsr__code="MDV-LGC-Va2", dsr__title="Logiciel de gestion de cabinet")
    teleconsultation = ProfilFactory(dsr=campagne.dsr, name="Téléconsultation")
    attestation = referenced(
        numero="SEGUR-MDV-LGC-VA2-2026-00042",
        campagne=campagne,
        editeur=EditeurFactory(raison_sociale="Cabinet Logiciels SAS"),
        nom_commercial="MédiCab",
        version_technique="7.2.1",
        profils=[campagne.dsr.profils.get(name="Général"), teleconsultation],
    )
    Attestation.objects.filter(pk=attestation.pk).update(issued_at="2026-03-03T09:00:00+00:00")

    response = client.get("/verifier/SEGUR-MDV-LGC-VA2-2026-00042/")
    assert response.status_code == 200
    content = response.content.decode()
    assert "Attestation valide" in content and "fr-alert--success" in content
    assert "retirée" not in content
    for detail in [
        "MDV-LGC-Va2 — Logiciel de gestion de cabinet",
        f"Cabinet Logiciels SAS — SIRET {attestation.candidature.editeur.siret}",
        "MédiCab",
        "7.2.1",
        "Général, Téléconsultation",
        "2 mars 2026",
        "3 mars 2026",
    ]:
        assert detail in content


def test_a_withdrawn_attestation_says_when_and_why(client):
    attestation = referenced()
    withdraw(attestation)

    response = client.get(_url(attestation))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Attestation retirée le 15 avril 2026" in content
    assert "fr-alert--error" in content
    assert REASON in content
    assert "Attestation valide" not in content
    assert attestation.candidature.nom_commercial in content


def test_an_unknown_number_is_a_404_in_french(client):
    response = client.get(reverse("verifier:attestation", args=["SEGUR-MDV-LGC-VA2-2026-99999"]))
    assert response.status_code == 404
    content = response.content.decode()
    assert "Aucune attestation ne porte ce numéro" in content
    assert "SEGUR-MDV-LGC-VA2-2026-99999" in content
    # The number typed stays in the field, to correct it.
    assert 'value="SEGUR-MDV-LGC-VA2-2026-99999"' in content


def test_a_number_typed_in_lower_case_leads_to_the_attestation(client):
    attestation = referenced(numero="SEGUR-MDV-LGC-VA2-2026-00007")
    response = client.get("/verifier/segur-mdv-lgc-va2-2026-00007/")
    assert response.status_code == 302
    assert response["Location"] == _url(attestation)


def test_the_lookup_form_redirects_to_the_attestation_page(client):
    response = client.get(reverse("verifier:lookup"), {"numero": "  SEGUR-MDV-LGC-VA2-2026-00042 "})
    assert response.status_code == 302
    assert response["Location"] == "/verifier/SEGUR-MDV-LGC-VA2-2026-00042/"


@pytest.mark.parametrize(
    ("numero", "message"),
    [
        ("", "Saisissez le numéro inscrit sur l’attestation."),
        ("SEGUR/../admin", "ne contient que des lettres, des chiffres et des tirets"),
    ],
)
def test_the_lookup_form_explains_a_wrong_entry_at_the_field(client, numero, message):
    response = client.get(reverse("verifier:lookup"), {"numero": numero})
    assert response.status_code == 200
    content = response.content.decode()
    assert "fr-input-group--error" in content
    assert message in content


def test_the_lookup_page_starts_without_error(client):
    content = client.get(reverse("verifier:lookup")).content.decode()
    assert "Numéro de référencement" in content and "fr-input-group--error" not in content


def test_verification_needs_no_login(client):
    pdf = attestation_pdf()
    attestation = referenced(pdf=pdf)
    assert client.get(reverse("verifier:lookup")).status_code == 200
    assert client.get(_url(attestation)).status_code == 200
    assert _upload(client, attestation, pdf).status_code == 200


# By the PDF's seal and hash

GENUINE = "Ce fichier est l’attestation délivrée par l’ANS : cachet du portail valide et empreinte identique"
NOT_IT = "Ce fichier n’est pas l’attestation délivrée par l’ANS"


def _checks(content: str) -> dict[str, bool]:
    """Each line of the result: its label, and whether it says « Vérifié »."""
    lines = re.findall(
        r'fr-badge--(success|error)">[^<]*</span>\s*<strong>([^<]+)</strong>', content
    )
    return {label: kind == "success" for kind, label in lines}


def test_the_delivered_pdf_passes_every_check(client, hash_calls):
    pdf = seal_samples.genuine_pdf()
    attestation = referenced(pdf=pdf)

    response = _upload(client, attestation, pdf)
    content = response.content.decode()
    assert GENUINE in content
    assert NOT_IT not in content
    assert _checks(content) == {
        "Intégrité": True,
        "Signataire": True,
        "Horodatage": True,
        "Modifications": True,
        "Empreinte enregistrée": True,
    }
    assert demo_pki.SEAL_NAME in content and demo_pki.TSA_NAME in content
    assert "Document de démonstration" in content
    assert hash_calls == [len(pdf)]


def test_a_re_saved_pdf_is_told_apart(client):
    pdf = seal_samples.genuine_pdf()
    attestation = referenced(pdf=pdf)

    content = _upload(client, attestation, seal_samples.resaved_pdf(pdf)).content.decode()
    assert f"{NOT_IT} : il a pu être modifié ou contrefait" in content
    checks = _checks(content)
    assert (checks["Intégrité"], checks["Signataire"]) == (True, True)
    assert (checks["Modifications"], checks["Empreinte enregistrée"]) == (False, False)
    assert "a été modifié après son scellement" in content


def test_a_forged_pdf_is_told_apart(client):
    attestation = referenced(pdf=seal_samples.genuine_pdf())

    content = _upload(client, attestation, seal_samples.forged_pdf()).content.decode()
    assert f"{NOT_IT} : il a pu être modifié ou contrefait" in content
    checks = _checks(content)
    assert (checks["Signataire"], checks["Empreinte enregistrée"]) == (False, False)
    assert checks["Intégrité"] and checks["Horodatage"]
    assert "n’est pas le cachet du portail" in content


def test_another_document_of_the_portal_is_not_this_attestation(client):
    attestation = referenced(pdf=seal_samples.genuine_pdf())

    content = _upload(client, attestation, seal_samples.genuine_pdf("Autre")).content.decode()
    assert (
        "Ce fichier porte le cachet du portail, mais ce n’est pas l’attestation délivrée" in content
    )
    assert _checks(content)["Empreinte enregistrée"] is False


def test_a_modified_pdf_does_not_match_and_both_hashes_are_shown(client):
    pdf = seal_samples.genuine_pdf()
    attestation = referenced(pdf=pdf)
    modified = seal_samples.plain_pdf("Version 9.9.9")

    response = _upload(client, attestation, modified)
    assert response.status_code == 200
    content = response.content.decode().replace("<wbr>", "")
    assert f"{NOT_IT} : il a pu être modifié ou contrefait" in content
    assert "Ce PDF ne porte aucun cachet électronique" in content
    assert hashlib.sha256(modified).hexdigest() in content
    assert hashlib.sha256(pdf).hexdigest() in content


def test_a_stored_pdf_without_seal_matches_its_hash_but_not_its_seal(client):
    pdf = seal_samples.plain_pdf()
    attestation = referenced(pdf=pdf)

    content = _upload(client, attestation, pdf).content.decode()
    assert f"{NOT_IT} : son cachet ne se vérifie pas" in content
    assert _checks(content) == {"Cachet électronique": False, "Empreinte enregistrée": True}


def test_the_genuine_pdf_of_a_withdrawn_attestation_matches_but_is_no_longer_valid(client):
    pdf = seal_samples.genuine_pdf()
    attestation = referenced(pdf=pdf)
    withdraw(attestation)

    content = _upload(client, attestation, pdf).content.decode()
    assert GENUINE in content
    assert "Elle n’est cependant plus valide" in content


def test_an_empty_submission_is_refused_at_the_field(client, hash_calls):
    attestation = referenced(pdf=attestation_pdf())
    response = _upload(client, attestation, None)
    assert response.status_code == 200
    content = response.content.decode()
    assert "fr-input-group--error" in content
    assert "Choisissez le fichier PDF de l’attestation à vérifier." in content
    assert hash_calls == []


def test_an_empty_file_is_refused_at_the_field(client, hash_calls):
    attestation = referenced(pdf=attestation_pdf())
    response = _upload(client, attestation, b"")
    assert response.status_code == 200
    assert "Le fichier envoyé est vide." in response.content.decode()
    assert hash_calls == []


def test_a_file_over_5_mo_is_refused_without_being_hashed(client, hash_calls):
    attestation = referenced(pdf=attestation_pdf())
    response = _upload(client, attestation, b"%PDF-1.7\n" + b"0" * (5 * MO))
    assert response.status_code == 200
    content = response.content.decode()
    assert "fr-input-group--error" in content
    assert views_public.TOO_LARGE in content
    # Stopped while it arrived: the file never reached the form.
    assert response.wsgi_request.upload_too_large == "attestation.pdf"
    assert "fichier" not in response.wsgi_request.FILES
    assert hash_calls == []


def test_a_file_of_exactly_5_mo_is_compared(client, hash_calls):
    attestation = referenced(pdf=attestation_pdf())
    response = _upload(client, attestation, b"0" * (5 * MO))
    assert "il a pu être modifié" in response.content.decode()
    assert hash_calls == [5 * MO]


def test_a_pdf_not_rendered_yet_is_announced_and_nothing_is_hashed(client, hash_calls):
    attestation = referenced()
    content = client.get(_url(attestation)).content.decode()
    assert "Le PDF de cette attestation est en cours de préparation" in content
    assert 'type="file"' not in content

    response = _upload(client, attestation, attestation_pdf())
    assert response.status_code == 200
    assert "en cours de préparation" in response.content.decode()
    assert hash_calls == []


def test_a_withdrawn_attestation_without_pdf_does_not_announce_one(client):
    attestation = referenced()
    withdraw(attestation)
    content = client.get(_url(attestation)).content.decode()
    assert "Aucun fichier n’a été délivré pour cette attestation." in content
    assert "en cours de préparation" not in content


def test_the_file_check_needs_the_csrf_token():
    attestation = referenced(pdf=attestation_pdf())
    client = Client(enforce_csrf_checks=True)
    assert _upload(client, attestation, attestation_pdf()).status_code == 403

    client.get(_url(attestation))
    token = client.cookies["csrftoken"].value
    response = client.post(
        _url(attestation),
        {
            "csrfmiddlewaretoken": token,
            "fichier": SimpleUploadedFile("a.pdf", attestation_pdf()),
        },
    )
    assert response.status_code == 200
    assert "Empreinte enregistrée" in response.content.decode()


# The seal's certificate, published


def test_the_seal_certificate_is_published_without_login(client):
    response = client.get(reverse("verifier:certificat"))
    assert response.status_code == 200
    content = response.content.decode().replace("<wbr>", "")
    certificate = seal.seal_certificate()
    assert demo_pki.SEAL_NAME in content and demo_pki.CA_NAME in content
    assert hashlib.sha256(certificate.dump()).hexdigest() in content
    assert "Portail de démonstration" in content

    cachet = client.get(reverse("verifier:certificat_cachet"))
    assert cachet["Content-Disposition"] == 'attachment; filename="cachet-portail-segur.pem"'
    _, _, der = pem.unarmor(cachet.content)
    assert der == certificate.dump()

    roots = client.get(reverse("verifier:certificat_racines"))
    assert roots.content == demo_pki.demo_pki().ca_path.read_bytes()
