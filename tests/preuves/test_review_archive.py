"""The whole dossier as one streamed ZIP: every accepted file once, the receipt, a
formula-safe manifest; each file logged; the readers of the dossier only; memory
bounded while it streams."""

import csv
import hashlib
import io
import tracemalloc
import zipfile

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from candidatures.models import CguAcceptance
from candidatures.proof_kinds import MO
from candidatures.services.onboarding import current_cgu
from college.models import Inscription, Seance
from preuves.enums import FichierStatus
from preuves.models import Depot, DossierSoumission, FichierDownload
from tests.factories import UserFactory, company_user
from tests.preuves.dossiers import eligible_candidature
from tests.preuves.factories import FichierFactory
from tests.preuves.reviews import instructing

pytestmark = pytest.mark.django_db


def _archive(client, candidature):
    response = client.get(reverse("dossier:archive", args=[candidature.pk]))
    assert response.status_code == 200, response.status_code
    body = b"".join(response.streaming_content)
    assert int(response["Content-Length"]) == len(body)
    return response, zipfile.ZipFile(io.BytesIO(body))


def _manifest(archive) -> list[dict]:
    text = archive.read("manifest.csv").decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text), delimiter=";"))


def _editor(candidature):
    user = company_user(candidature.editeur)
    CguAcceptance.objects.create(user=user, cgu=current_cgu())
    return user


def test_the_archive_holds_each_accepted_file_the_receipt_and_a_manifest(client):
    candidature, instructeur = instructing()
    member = candidature.editeur.members.first()
    receipt = FichierFactory(editeur=candidature.editeur, accepted=True, original_name="r.pdf")
    DossierSoumission.objects.create(candidature=candidature, submitted_by=member,
                                     submitted_at=timezone.now(), manifest=[], receipt=receipt)  # fmt: skip
    # A file still being checked, a refused one: listed, never included.
    ssi = Depot.objects.get(candidature=candidature, exigence__identifier="SSI.07")
    pending = FichierFactory(editeur=candidature.editeur, original_name="attente.png",
                             status=FichierStatus.EN_VERIFICATION)  # fmt: skip
    refused = FichierFactory(editeur=candidature.editeur, refused=True, original_name="=cmd|x.pdf")
    for fichier in (pending, refused):
        Depot.objects.create(candidature=candidature, exigence_id=ssi.exigence_id,
                             fichier=fichier, deposited_by=member)  # fmt: skip
    # instructing() gives each file a SHA-256 of its own: here, the real ones.
    for depot in Depot.objects.filter(candidature=candidature, fichier__isnull=False):
        with default_storage.open(depot.fichier.storage_name, "rb") as handle:
            real = hashlib.sha256(handle.read()).hexdigest()
        type(depot.fichier).objects.filter(pk=depot.fichier_id).update(sha256=real)
    client.force_login(instructeur)

    response, archive = _archive(client, candidature)

    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == (
        f'attachment; filename="dossier-de-preuves-{candidature.reference}.zip"'
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    names = archive.namelist()
    assert "recepisse.pdf" in names and "manifest.csv" in names
    rows = _manifest(archive)
    assert list(rows[0]) == [
        "exigence", "preuve", "nom du fichier", "taille (octets)", "sha256", "déposé le",
        "déposé par", "statut", "chemin dans l’archive",
    ]  # fmt: skip
    by_name = {row["nom du fichier"]: row for row in rows}
    # Formula-safe: a cell that a spreadsheet would run starts with a quote.
    assert "'=cmd|x.pdf" in by_name
    assert by_name["'=cmd|x.pdf"]["chemin dans l’archive"] == ""
    assert by_name["attente.png"]["statut"] == "En cours de vérification"
    assert by_name["https://gazelle.example/rapport/1"]["statut"] == "Lien"
    included = [row for row in rows if row["chemin dans l’archive"]]
    assert len(included) == 4  # INS.01.01.01, INS.01.01.02, INS.01.02.01, SSI.07
    for row in included:
        content = archive.read(row["chemin dans l’archive"])
        assert hashlib.sha256(content).hexdigest() == row["sha256"]
        assert len(content) == int(row["taille (octets)"])
        depot = Depot.objects.filter(fichier__sha256=row["sha256"]).first()
        assert row["déposé par"] == depot.deposited_by.get_full_name()
    assert "INS/INS.01.01.01/compte-rendu.pdf" in names
    assert len(set(names)) == len(names)
    # Each file that left is in the log, once, as part of an archive.
    logged = sorted(FichierDownload.objects.values_list("kind", "user"))
    assert logged == [("archive", instructeur.pk)] * 5


def test_a_file_linked_to_several_proofs_goes_in_once(client):
    candidature, instructeur = instructing()
    depots = list(Depot.objects.filter(candidature=candidature, fichier__isnull=False))
    shared = depots[0].fichier
    Depot.objects.filter(pk__in=[d.pk for d in depots[1:3]]).update(fichier=shared)
    client.force_login(instructeur)
    _response, archive = _archive(client, candidature)
    rows = [row for row in _manifest(archive) if row["chemin dans l’archive"]]
    paths = {row["chemin dans l’archive"] for row in rows}
    assert len(rows) == 4 and len(paths) == 2
    assert FichierDownload.objects.count() == 2


def test_who_downloads_the_archive(client):
    candidature, _instructeur = instructing()
    url = reverse("dossier:archive", args=[candidature.pk])
    assert client.get(url).status_code == 302  # anonymous: to the login page
    # Its own company: yes. Another company, the collège off its agenda: 404.
    editor = _editor(candidature)
    client.force_login(editor)
    _archive(client, candidature)
    assert FichierDownload.objects.filter(user=editor, kind="archive").count() == 4
    client.force_login(_editor(eligible_candidature()))
    assert client.get(url).status_code == 404
    member = UserFactory(college=True)
    client.force_login(member)
    assert client.get(url).status_code == 404
    seance = Seance.objects.create(
        date=timezone.localdate() + timezone.timedelta(days=7),
        starts_at=timezone.now() + timezone.timedelta(days=7),
    )
    Inscription.objects.create(seance=seance, candidature=candidature, signed_at=timezone.now())
    _archive(client, candidature)
    assert FichierDownload.objects.filter(user=member, kind="archive").count() == 4


def test_an_infected_file_never_goes_in(client):
    candidature, instructeur = instructing()
    depot = Depot.objects.filter(candidature=candidature, fichier__isnull=False).first()
    type(depot.fichier).objects.filter(pk=depot.fichier_id).update(
        status=FichierStatus.INFECTEE, virus_signature="Eicar-Test-Signature"
    )
    client.force_login(instructeur)
    _response, archive = _archive(client, candidature)
    row = next(r for r in _manifest(archive) if r["sha256"] == depot.fichier.sha256)
    assert (row["statut"], row["chemin dans l’archive"]) == ("Infectée", "")
    assert not FichierDownload.objects.filter(fichier=depot.fichier).exists()


def test_the_archive_streams_without_holding_its_files_in_memory(client):
    """20 files of 2 Mo (40 Mo): the Python heap never holds more than a few chunks.
    bench/archive.py measures 200 files of 50 Mo."""
    candidature, instructeur = instructing()
    member = candidature.editeur.members.first()
    depot = Depot.objects.filter(candidature=candidature, fichier__isnull=False).first()
    block = b"\x00" * MO
    for _n in range(20):
        fichier = FichierFactory(editeur=candidature.editeur, accepted=True, content=b"x")
        with default_storage.open(fichier.storage_name, "wb") as handle:
            handle.write(block)
            handle.write(block)
        type(fichier).objects.filter(pk=fichier.pk).update(size=2 * MO)
        Depot.objects.create(candidature=candidature, exigence_id=depot.exigence_id,
                             preuve_attendue_id=depot.preuve_attendue_id, fichier=fichier,
                             deposited_by=member, deposited_at=timezone.now())  # fmt: skip
        del fichier
    client.force_login(instructeur)
    response = client.get(reverse("dossier:archive", args=[candidature.pk]))
    total = 0
    tracemalloc.start()
    try:
        for chunk in response.streaming_content:
            total += len(chunk)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == int(response["Content-Length"]) > 40 * MO
    assert peak < 8 * MO, f"pic {peak / MO:.1f} Mo"
