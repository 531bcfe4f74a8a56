"""The receipt of a complete dossier: a PDF listing every file with size and SHA-256."""

from django.db import transaction

from preuves.models import DossierSoumission
from preuves.services import fichier_store_generated, format_bytes
from segur_portal.clocks import format_paris_datetime
from segur_portal.pdf import render_pdf


def receipt_render(*, soumission_id: int):
    """Render and store the receipt once; a repeated task leaves it as it is."""
    soumission = DossierSoumission.objects.select_related(
        "candidature__editeur", "candidature__campagne__dsr", "candidature__rem_version",
        "submitted_by",
    ).get(pk=soumission_id)  # fmt: skip
    if soumission.receipt_id:
        return soumission.receipt
    files = [
        dict(entry, taille_lisible=format_bytes(entry["taille"]))
        for entry in soumission.manifest
        if entry["fichier"]
    ]
    links = [entry for entry in soumission.manifest if not entry["fichier"]]
    content = render_pdf(
        "pdf/receipt.html",
        {
            "soumission": soumission,
            "candidature": soumission.candidature,
            "received": format_paris_datetime(soumission.submitted_at),
            "files": files,
            "links": links,
            "total_size": format_bytes(sum(entry["taille"] for entry in files)),
        },
    )
    with transaction.atomic():
        locked = DossierSoumission.objects.select_for_update().get(pk=soumission_id)
        if locked.receipt_id:
            return locked.receipt
        locked.receipt = fichier_store_generated(
            content=content,
            name=f"recepisse-{soumission.candidature.reference}.pdf",
            mime="application/pdf",
            editeur=soumission.candidature.editeur,
            actor=soumission.submitted_by,
        )
        locked.save(update_fields=["receipt"])
    return locked.receipt
