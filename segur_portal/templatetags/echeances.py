"""Deadlines in templates, with the one wording of segur_portal.clocks.due_display:
`{{ candidature.campagne.j6|echeance }}` → "jusqu’au vendredi 11 décembre 2026 inclus"."""

from django import template

from segur_portal.clocks import due_display, format_paris_datetime

register = template.Library()


@register.filter
def echeance(value):
    return due_display(value) if value else ""


@register.filter
def jalon_moment(value, jalon):
    """A campaign's jalon: J1 opens the guichet (a start, not a deadline); the others
    close something."""
    if not value:
        return ""
    if jalon == "j1":
        return f"à partir du {format_paris_datetime(value)}"
    return due_display(value)
