"""The PDF documents: each is rendered to a PNG (pdftoppm) and its text read back
(pdftotext), so what is checked is what a reader sees. The PNGs of page 1 are kept in
var/test-artifacts/ to be looked at."""

import hashlib
import shutil
import subprocess
from datetime import UTC, date, datetime
from io import BytesIO
from pathlib import Path

import pytest
import segno
from django.conf import settings
from django.core.files.storage import default_storage
from PIL import Image

from candidatures.models import Exigence
from college import documents
from college.enums import DecisionKind, SeanceStatus
from college.models import (
    Attestation,
    ConflitInteret,
    Convention,
    Decision,
    Inscription,
    Reserve,
    Seance,
    SeanceMembre,
)
from preuves.models import DossierSoumission
from preuves.receipts import receipt_render
from tests.factories import (
    CandidatureFactory,
    DsrFactory,
    EditeurFactory,
    ProfilFactory,
    UserFactory,
    company_user,
    siret_with_check_digit,
)
from tests.preuves.factories import FichierFactory

pytestmark = pytest.mark.django_db

ARTIFACTS = Path(settings.BASE_DIR) / "var" / "test-artifacts"
SIRET = siret_with_check_digit("8123456780001")
ISSUED_AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
ISSUED_TEXT = "lundi 2 mars 2026 à 10:30"
VERIFY_URL = "http://testserver/verifier/SEGUR-MDV-LGC-Va2-2026-0042/"
# The agency's blue (DSFR "bleu France"), of the brand block and the titles.
AGENCY_BLUE = (0, 0, 145)


def poppler(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(
            f"{tool} introuvable : installez le paquet Debian poppler-utils (make test le fait)"
        )
    return path


def page_one_png(pdf: bytes, name: str, tmp_path: Path) -> Image.Image:
    """Page 1 at 50 dpi, also written to var/test-artifacts/pdf-<name>.png."""
    source = tmp_path / f"{name}.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        [poppler("pdftoppm"), "-png", "-r", "50", "-f", "1", "-l", "1", "-singlefile"]
        + [str(source), str(tmp_path / name)],
        check=True,
        timeout=60,
    )
    png = (tmp_path / f"{name}.png").read_bytes()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"pdf-{name}.png").write_bytes(png)
    image = Image.open(BytesIO(png)).convert("RGB")
    image.load()
    return image


def pdf_layout(pdf: bytes, tmp_path: Path) -> str:
    source = tmp_path / "text.pdf"
    source.write_bytes(pdf)
    result = subprocess.run(
        [poppler("pdftotext"), "-layout", str(source), "-"],
        check=True,
        timeout=60,
        capture_output=True,
    )
    return result.stdout.decode()


def flat(text: str) -> str:
    """Whitespace collapsed: a fact wrapped over two lines still reads as one phrase."""
    return " ".join(text.split())


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    return flat(pdf_layout(pdf, tmp_path))


def pdf_body(pdf: bytes, tmp_path: Path) -> str:
    """The text without the running header and footer of each page."""
    running = (
        "République française — Agence du Numérique en Santé",
        "Portail de référencement Ségur ",
    )
    return flat(
        "\n".join(
            line for line in pdf_layout(pdf, tmp_path).splitlines() if not line.startswith(running)
        )
    )


def assert_agency_page(image: Image.Image, text: str) -> None:
    """An A4 page 1 with ink on it in the agency's blue, and its running header and footer."""
    width, height = image.size
    assert abs(width - 413) <= 1
    assert abs(height - 585) <= 1
    colors = image.getcolors(maxcolors=width * height)
    inked = sum(count for count, color in colors if min(color) < 200)
    blue = sum(
        count
        for count, color in colors
        if max(abs(value - target) for value, target in zip(color, AGENCY_BLUE, strict=True)) < 40
    )
    assert inked > width * height // 100
    assert blue > 300
    assert "République française — Agence du Numérique en Santé" in text
    assert "Portail de référencement Ségur" in text
    assert "Page 1 / " in text


@pytest.fixture
def candidature():
    dsr = DsrFactory(code="MDV-LGC-Va2", title="Logiciel de gestion de cabinet")
    ProfilFactory(dsr=dsr, name="Téléconsultation", position=1)
    editeur = EditeurFactory(
        raison_sociale="Médicabinet Solutions SAS",
        siret=SIRET,
        representant_nom="Claire Dupont",
        representant_titre="Présidente",
    )
    return CandidatureFactory(
        editeur=editeur,
        campagne__dsr=dsr,
        rem_version__label="v1.1",
        nom_commercial="MédiLog Cabinet",
        version_technique="4.2.0",
        profils=list(dsr.profils.all()),
    )


def signed_convention(candidature) -> Convention:
    unsigned = documents.convention_pdf(candidature, issued_at=ISSUED_AT)
    signer = company_user(
        candidature.editeur, first_name="Claire", last_name="Dupont", email="claire@medicabinet.fr"
    )
    sha256 = hashlib.sha256(unsigned).hexdigest()
    return Convention.objects.create(
        candidature=candidature,
        document=FichierFactory(editeur=candidature.editeur, content=unsigned),
        sha256=sha256,
        issued_at=ISSUED_AT,
        issued_by=UserFactory(instructeur=True),
        signed_at=datetime(2026, 3, 4, 15, 5, tzinfo=UTC),
        signed_by=signer,
        signer_name="Claire Dupont",
        signer_email="claire@medicabinet.fr",
        signer_capacity="Présidente, représentant légal déclaré (mandataire)",
        consent_text="J’ai lu la convention de référencement Ségur ci-dessus ; je l’accepte et "
        "la signe au nom de Médicabinet Solutions SAS, que j’ai qualité pour engager.",
        signed_sha256=sha256,
    )


def test_convention_pdf_names_parties_software_and_awaits_signature(candidature, tmp_path):
    pdf = documents.convention_pdf(candidature, issued_at=ISSUED_AT)

    image = page_one_png(pdf, "convention", tmp_path)
    text = pdf_text(pdf, tmp_path)
    assert_agency_page(image, text)
    assert "Convention de référencement Ségur" in text
    assert (
        "Modèle de convention — le texte juridique de référence est celui publié par l’ANS" in text
    )
    assert "Médicabinet Solutions SAS, SIRET " + SIRET in text
    assert "représentée par Claire Dupont, Présidente" in text
    assert "Dénomination commerciale MédiLog Cabinet" in text
    assert "Version technique 4.2.0" in text
    assert f"Candidature {candidature.reference}" in text
    assert "DSR MDV-LGC-Va2 — Logiciel de gestion de cabinet" in text
    assert "Version du REM v1.1" in text
    assert "Profils Général, Téléconsultation" in text
    assert f"Convention émise le {ISSUED_TEXT}" in text
    for heading in [
        "Article 3 — Engagements de l’Éditeur",
        "Article 4 — Engagements de l’ANS",
        "Article 5 — Durée du référencement",
        "Article 9 — Compatibilité ascendante",
        "Article 10 — Déréférencement",
        "Article 12 — Données à caractère personnel",
    ]:
        assert heading in text
    assert "jusqu’au terme de la validité de ce DSR" in text
    assert "Signature Document à signer électroniquement dans le portail." in text


def test_signed_convention_pdf_adds_the_signature_to_the_same_text(candidature, tmp_path):
    convention = signed_convention(candidature)

    pdf = documents.signed_convention_pdf(convention)

    image = page_one_png(pdf, "convention-signee", tmp_path)
    text = pdf_text(pdf, tmp_path)
    assert_agency_page(image, text)
    assert f"Convention de référencement {candidature.reference} — signée" in text
    assert "Document à signer électroniquement dans le portail" not in text
    assert "Signée par Claire Dupont" in text
    assert "Courriel claire@medicabinet.fr" in text
    assert "Qualité Présidente, représentant légal déclaré (mandataire)" in text
    assert "Signée le mercredi 4 mars 2026 à 16:05" in text
    assert "« J’ai lu la convention de référencement Ségur ci-dessus ; je l’accepte" in text
    assert f"Empreinte SHA-256 du document signé : {convention.signed_sha256}" in text
    assert text.count(f"Convention émise le {ISSUED_TEXT}") == 2
    # The signature block may move the page breaks: their headers and footers aside, the
    # text before it is the unsigned convention's.
    unsigned = documents.convention_pdf(candidature, issued_at=ISSUED_AT)
    body, _signature = pdf_body(pdf, tmp_path).split(" Signature Signée par ")
    assert pdf_body(unsigned, tmp_path) == (
        f"{body} Signature Document à signer électroniquement dans le portail."
    )
    # Each rendering is sealed and timestamped at its own instant: the same text, never the
    # same bytes (the stored document is the one whose hash the signer saw).
    assert hashlib.sha256(unsigned).hexdigest() != convention.signed_sha256


def test_signed_convention_pdf_refuses_an_unsigned_convention(candidature):
    convention = Convention(candidature=candidature, sha256="0" * 64, issued_at=ISSUED_AT)

    with pytest.raises(ValueError, match="n’est pas signée"):
        documents.signed_convention_pdf(convention)


@pytest.fixture
def seance(candidature):
    chair = UserFactory(college=True, first_name="Hélène", last_name="Martin")
    seance = Seance.objects.create(
        date=date(2026, 3, 12),
        starts_at=datetime(2026, 3, 12, 13, 0, tzinfo=UTC),
        status=SeanceStatus.CLOSE,
        opened_at=datetime(2026, 3, 12, 13, 2, tzinfo=UTC),
        opened_by=chair,
        closed_at=datetime(2026, 3, 12, 15, 40, tzinfo=UTC),
        closed_by=chair,
    )
    SeanceMembre.objects.create(seance=seance, user=chair, present=True)
    for first_name, last_name, present in [
        ("Jean", "Bernard", True),
        ("Sophie", "Lefèvre", True),
        ("Paul", "Roux", False),
    ]:
        SeanceMembre.objects.create(
            seance=seance,
            user=UserFactory(college=True, first_name=first_name, last_name=last_name),
            present=present,
        )
    referenced = CandidatureFactory(nom_commercial="CabiNet Pro", version_technique="12.0")
    with_reserves = candidature
    carried = CandidatureFactory(nom_commercial="DocSanté", version_technique="2.3.1")
    first, second, third = (
        Inscription.objects.create(
            seance=seance,
            candidature=item,
            signed_at=datetime(2026, 3, day, 10, 0, tzinfo=UTC),
            carried_over=item is carried,
        )
        for day, item in [(2, referenced), (3, with_reserves), (4, carried)]
    )
    Decision.objects.create(
        inscription=first,
        kind=DecisionKind.SANS_RESERVE,
        text="Le collège attribue le référencement.",
        recorded_by=chair,
        recorded_at=datetime(2026, 3, 12, 13, 30, tzinfo=UTC),
    )
    decision = Decision.objects.create(
        inscription=second,
        kind=DecisionKind.RESERVES_NON_BLOQUANTES,
        text="Deux corrections mineures sont attendues.",
        recorded_by=chair,
        recorded_at=datetime(2026, 3, 12, 14, 0, tzinfo=UTC),
        # End of Thursday 9 April 2026, Paris: 4 weeks after the notification.
        reserves_due_at=datetime(2026, 4, 9, 22, 0, tzinfo=UTC),
    )
    general = candidature.profils.get(name="Général")
    ins_1, ins_2, dmp_3 = (
        Exigence.objects.create(
            rem_version=candidature.rem_version,
            identifier=identifier,
            perimetre="vague_2",
            profil=general,
            nature="exigence",
            statement="Le système DOIT le faire.",
            position=position,
        )
        for position, identifier in enumerate(["INS 1.1", "INS 1.2", "DMP 3"])
    )
    Reserve.objects.create(decision=decision, position=2, text="Alimenter le DMP.").exigences.set(
        [dmp_3]
    )
    Reserve.objects.create(
        decision=decision, position=1, text="Afficher l’identité INS qualifiée."
    ).exigences.set([ins_2, ins_1])
    ConflitInteret.objects.create(
        inscription=first,
        user=seance.membres.get(user__last_name="Bernard").user,
        note="Ancien salarié de l’éditeur",
        declared_at=datetime(2026, 3, 12, 13, 5, tzinfo=UTC),
    )
    return seance


def test_minutes_pdf_lists_members_conflicts_decisions_and_reserves(
    seance, tmp_path, django_assert_num_queries
):
    with django_assert_num_queries(9):
        pdf = documents.minutes_pdf(seance)

    image = page_one_png(pdf, "proces-verbal", tmp_path)
    text = pdf_text(pdf, tmp_path)
    assert_agency_page(image, text)
    assert "Procès-verbal du collège technique de référencement" in text
    assert "Séance du jeudi 12 mars 2026" in text
    assert "Ouverte le jeudi 12 mars 2026 à 14:02, par Hélène Martin" in text
    assert "Close le jeudi 12 mars 2026 à 16:40, par Hélène Martin" in text
    assert "Ordre du jour 3 candidatures, 2 décisions enregistrées" in text
    assert "Présents (3) Jean Bernard, Sophie Lefèvre, Hélène Martin" in text
    assert "Absents (1) Paul Roux" in text
    assert "Jean Bernard Ancien salarié de l’éditeur" in text
    referenced, with_reserves, carried = (
        inscription.candidature for inscription in seance.inscriptions.all()
    )
    assert f"1. {referenced.reference} — CabiNet Pro 12.0" in text
    assert "Référencement attribué sans réserve" in text
    assert f"2. {with_reserves.reference} — MédiLog Cabinet 4.2.0" in text
    assert f"Éditeur : Médicabinet Solutions SAS (SIRET {SIRET}) DSR : MDV-LGC-Va2" in text
    assert text.count("Homologations CNDA : non obtenues (Statut non renseigné)") == 3
    assert "Référencement non attribué : réserves non bloquantes" in text
    assert "Deux corrections mineures sont attendues." in text
    assert "1 Afficher l’identité INS qualifiée. INS 1.1, INS 1.2" in text
    assert "2 Alimenter le DMP. DMP 3" in text
    assert "Levée des réserves attendue jusqu’au jeudi 9 avril 2026 inclus." in text
    assert f"3. {carried.reference} — DocSanté 2.3.1" in text
    assert "Inscription reportée d’une séance précédente" in text
    assert "Non examinée — reportée à la séance suivante." in text
    assert text.index("1 Afficher") < text.index("2 Alimenter") < text.index("3. ")


@pytest.fixture
def attestation(candidature):
    return Attestation.objects.create(
        candidature=candidature,
        numero="SEGUR-MDV-LGC-Va2-2026-0042",
        referenced_on=date(2026, 3, 1),
        issued_at=datetime(2026, 3, 12, 15, 45, tzinfo=UTC),
    )


def test_attestation_pdf_states_the_referencing_and_its_verification_url(attestation, tmp_path):
    pdf = documents.attestation_pdf(attestation, verify_url=VERIFY_URL)

    image = page_one_png(pdf, "attestation", tmp_path)
    text = pdf_text(pdf, tmp_path)
    assert_agency_page(image, text)
    assert "Attestation de référencement Ségur" in text
    assert "Numéro de référencement SEGUR-MDV-LGC-Va2-2026-0042" in text
    assert "par décision du collège technique de référencement du 1er mars 2026" in text
    assert "Dénomination commerciale MédiLog Cabinet" in text
    assert "Version technique 4.2.0" in text
    assert "Éditeur Médicabinet Solutions SAS" in text
    assert f"SIRET {SIRET}" in text
    assert "DSR MDV-LGC-Va2 — Logiciel de gestion de cabinet" in text
    assert "Profils Général, Téléconsultation" in text
    assert "Date de la décision 1er mars 2026" in text
    assert f"Vérifier cette attestation : {VERIFY_URL}" in text


def test_attestation_qr_code_is_the_code_of_the_verify_url(attestation, tmp_path):
    """No QR decoder is installed (zbarimg is not): what is checked is that the image
    the PDF carries is, module for module, the QR code segno makes of the URL."""
    source = tmp_path / "attestation.pdf"
    source.write_bytes(documents.attestation_pdf(attestation, verify_url=VERIFY_URL))

    subprocess.run(
        [poppler("pdfimages"), "-png", str(source), str(tmp_path / "image")],
        check=True,
        timeout=60,
    )

    [extracted] = sorted(tmp_path.glob("image-*.png"))
    image = Image.open(extracted).convert("L")
    expected = segno.make_qr(VERIFY_URL, error="m")
    size = expected.symbol_size(scale=1, border=documents.QR_BORDER)
    assert image.size == size
    dark = [[image.getpixel((x, y)) < 128 for x in range(size[0])] for y in range(size[1])]
    assert dark == [
        [bool(module) for module in row]
        for row in expected.matrix_iter(scale=1, border=documents.QR_BORDER)
    ]


def test_receipt_pdf_shares_the_template_layer(candidature, tmp_path):
    soumission = DossierSoumission.objects.create(
        candidature=candidature,
        submitted_by=company_user(candidature.editeur, first_name="Marc", last_name="Lemoine"),
        submitted_at=datetime(2026, 2, 20, 13, 59, tzinfo=UTC),
        manifest=[
            {
                "exigence": "INS 1.1",
                "preuve": "INS 1.1.01.01",
                "fichier": "5b0f6c1e-0000-4000-8000-000000000001",
                "nom": "saisie-ins.mp4",
                "taille": 3 * 2**20,
                "sha256": "a" * 64,
                "depose_le": "2026-02-19T10:00:00+00:00",
            },
            {
                "exigence": "GAZ 5",
                "preuve": "GAZ 5.01.01",
                "fichier": None,
                "nom": "https://gazelle.example/rapport/42",
                "taille": None,
                "sha256": None,
                "depose_le": "2026-02-19T11:00:00+00:00",
            },
        ],
    )

    fichier = receipt_render(soumission_id=soumission.pk)

    with default_storage.open(fichier.storage_name) as stored:
        pdf = stored.read()
    image = page_one_png(pdf, "recepisse", tmp_path)
    text = pdf_text(pdf, tmp_path)
    assert_agency_page(image, text)
    assert "Récépissé de dépôt du dossier de preuves complet" in text
    assert f"Candidature {candidature.reference} — MédiLog Cabinet 4.2.0" in text
    assert f"Éditeur Médicabinet Solutions SAS (SIRET {SIRET})" in text
    assert "Reçu le vendredi 20 février 2026 à 14:59" in text
    assert "saisie-ins.mp4" in text
    assert "a" * 64 in text.replace(" ", "")


def test_minutes_pdf_says_which_decision_was_not_retained_and_why(seance, tmp_path):
    first = seance.inscriptions.order_by("signed_at").first()
    first.deferred_reason = (
        "Quorum non atteint en séance du 12/03/2026 : 1 membre présent sans conflit d’intérêts "
        "sur cette candidature, il en faut 2 ; aucune décision ne pouvait être prise."
    )
    first.save()
    text = pdf_text(documents.minutes_pdf(seance), tmp_path)
    assert "Quorum : 2 membres présents sans conflit d’intérêts pour chaque décision." in text
    assert "Décision proposée, non retenue : Référencement attribué sans réserve." in text
    assert "Reportée à la séance suivante — Quorum non atteint en séance du 12/03/2026" in text
    assert "Ordre du jour 3 candidatures, 1 décision enregistrée" in text
