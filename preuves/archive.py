"""A whole proof dossier as one ZIP, streamed (zipstream-ng): the accepted file of each
current deposit, the receipt of the submission and a manifest.csv listing every
deposit. Nothing is held whole in memory nor written to disk: each file is read from
the storage chunk by chunk while the archive goes out, stored as it is (proofs are
videos, images and PDFs, already compressed), its length known in advance."""

import csv
import io
import re
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from zipstream import ZIP_STORED, ZipStream

from preuves.depot import dossier
from preuves.models import DossierSoumission, Fichier
from segur_portal.exports import csv_safe
from segur_portal.files import CHUNK_SIZE

MANIFEST_HEADER = [
    "exigence",
    "preuve",
    "nom du fichier",
    "taille (octets)",
    "sha256",
    "déposé le",
    "déposé par",
    "statut",
    "chemin dans l’archive",
]
# Path segments come from REM identifiers (« SC.DMP/UX.08 ») and section keys.
UNSAFE = re.compile(r"[\\/:*?\"<>|\x00-\x1f]+")


def _segment(text: str) -> str:
    return UNSAFE.sub("-", text).strip(" .") or "_"


def _chunks(storage_name: str):
    with default_storage.open(storage_name, "rb") as handle:
        while chunk := handle.read(CHUNK_SIZE):
            yield chunk


@dataclass
class DossierArchive:
    stream: ZipStream
    # The files that leave the portal in it: each is logged as downloaded.
    fichiers: list[Fichier]
    filename: str


def _unique(path: str, taken: set[str]) -> str:
    stem, dot, suffix = path.rpartition(".")
    if not dot or "/" in suffix:
        stem, suffix = path, ""
    candidate, n = path, 1
    while candidate in taken:
        n += 1
        candidate = f"{stem} ({n}).{suffix}" if suffix else f"{path} ({n})"
    taken.add(candidate)
    return candidate


def dossier_archive(candidature) -> DossierArchive:
    """The archive of the candidature's current dossier. A file linked to several
    proofs goes in once; the manifest names it for each. Files refused, infected or
    still being checked are listed, never included."""
    current = dossier(candidature)
    depots = [depot for item in current.items for depot in item.depots]
    users = get_user_model().objects.in_bulk({depot.deposited_by_id for depot in depots})
    stream = ZipStream(compress_type=ZIP_STORED, sized=True)
    taken: set[str] = set()
    paths: dict = {}
    fichiers = []
    rows = []
    for section, _title, blocks in current.sections:
        for block in blocks:
            for item in block.items:
                for depot in item.depots:
                    fichier = depot.fichier
                    path = ""
                    if fichier is not None and fichier.is_accepted:
                        path = paths.get(fichier.pk, "")
                        if not path:
                            path = _unique(
                                "/".join(
                                    [
                                        _segment(section),
                                        _segment(item.identifier),
                                        _segment(fichier.original_name),
                                    ]
                                ),
                                taken,
                            )
                            paths[fichier.pk] = path
                            stream.add(_chunks(fichier.storage_name), path, size=fichier.size)
                            fichiers.append(fichier)
                    by = users.get(depot.deposited_by_id)
                    rows.append(
                        [
                            item.exigence.identifier,
                            item.identifier,
                            fichier.original_name if fichier else depot.url,
                            fichier.size if fichier else "",
                            fichier.sha256 if fichier else "",
                            depot.deposited_at.isoformat(),
                            (by.get_full_name() or by.email) if by else "",
                            fichier.get_status_display() if fichier else "Lien",
                            path,
                        ]
                    )
    soumission = (
        DossierSoumission.objects.filter(candidature=candidature, receipt__isnull=False)
        .select_related("receipt")
        .order_by("submitted_at", "pk")
        .last()
    )
    if soumission is not None:
        receipt = soumission.receipt
        stream.add(_chunks(receipt.storage_name), "recepisse.pdf", size=receipt.size)
        fichiers.append(receipt)
    stream.add(_manifest(rows), "manifest.csv")
    return DossierArchive(
        stream=stream,
        fichiers=fichiers,
        filename=f"dossier-de-preuves-{_segment(candidature.reference)}.zip",
    )


def _manifest(rows: list[list]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(MANIFEST_HEADER)
    for row in rows:
        writer.writerow([csv_safe(cell) for cell in row])
    # The BOM makes spreadsheet programs read the file as UTF-8.
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
