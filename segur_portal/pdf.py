"""PDF documents of the portal (receipts, conventions, minutes, attestations): one
template layer, templates/pdf/base.html, with the agency's look."""

from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from weasyprint import HTML


def font_url(name: str) -> str:
    """A file URL to one of the design system's Marianne fonts."""
    path = finders.find(f"dsfr/dist/fonts/{name}")
    return Path(path).as_uri() if path else ""


def render_pdf(template: str, context: dict) -> bytes:
    html = render_to_string(
        template,
        {
            **context,
            "portal_name": settings.PORTAL_NAME,
            "fonts": {
                "regular": font_url("Marianne-Regular.woff2"),
                "bold": font_url("Marianne-Bold.woff2"),
            },
        },
    )
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()
