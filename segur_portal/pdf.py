"""PDF documents of the portal (receipts, conventions, minutes, attestations): one
template layer, templates/pdf/base.html, with the agency's look.

Every PDF leaves `render_pdf` as PDF/A-3b (archiving) and sealed with the portal's
electronic seal, timestamped (segur_portal/seal.py): its callers store and hash those
bytes, so the stored SHA-256 is the sealed document's.
"""

from functools import cache
from importlib.resources import files
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string

# The name each document goes by in its seal's reason.
TITLES = {
    "pdf/attestation.html": "Attestation de référencement",
    "pdf/convention.html": "Convention de référencement",
    "pdf/minutes.html": "Procès-verbal de séance du collège technique",
    "pdf/receipt.html": "Récépissé de dépôt du dossier de preuves",
}
PDF_VARIANT = "pdf/a-3b"
# PDF/A needs an output intent: WeasyPrint's own sRGB profile, declared in
# templates/pdf/base.html (WeasyPrint's built-in way leaves the profile's file open).
OUTPUT_INTENT = "--srgb"


def font_url(name: str) -> str:
    """A file URL to one of the design system's Marianne fonts."""
    path = finders.find(f"dsfr/dist/fonts/{name}")
    return Path(path).as_uri() if path else ""


@cache
def srgb_profile_url() -> str:
    return Path(str(files("weasyprint.pdf") / "sRGB2014.icc")).as_uri()


def document_title(template: str, context: dict) -> str:
    title = TITLES.get(template, "Document")
    # The convention's signature block is filled in: the editor has signed it.
    if template == "pdf/convention.html" and context.get("signed"):
        return f"{title} signée par l’éditeur"
    return title


def render_pdf(template: str, context: dict) -> bytes:
    # Imported here: WeasyPrint and pyHanko take seconds to import, and the URL
    # configuration imports this module through the views that issue documents.
    from weasyprint import HTML

    from segur_portal.seal import seal_pdf

    html = render_to_string(
        template,
        {
            **context,
            "portal_name": settings.PORTAL_NAME,
            "srgb_profile": srgb_profile_url(),
            "fonts": {
                "regular": font_url("Marianne-Regular.woff2"),
                "bold": font_url("Marianne-Bold.woff2"),
            },
        },
    )
    content = HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf(
        pdf_variant=PDF_VARIANT, output_intent=OUTPUT_INTENT
    )
    return seal_pdf(content, title=document_title(template, context))
