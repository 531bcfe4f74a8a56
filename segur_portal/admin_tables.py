"""Django admin on tables of a million rows (issue 12): a changelist reads one page in
the order of an index, counts without a second full count, loads the rows it shows
with their foreign keys, and searches only where an index answers.

A search term is read for what it is (an e-mail address, an IP address, a number, a
SHA-256, a UUID) and looked up by equality on its indexed column; any other text goes
to the columns the admin names, which have a trigram index on PostgreSQL. A text
shorter than a trigram finds nothing and says why, instead of reading the whole table.
"""

import ipaddress
import re
import uuid

from django.contrib import admin, messages

SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
MIN_TEXT = 3


def search_kind(term: str) -> str:
    """ "email", "ip", "number", "sha256", "uuid" or "text"."""
    if "@" in term:
        return "email"
    if term.isdigit():
        return "number"
    if SHA256.match(term):
        return "sha256"
    try:
        uuid.UUID(term)
        return "uuid"
    except ValueError:
        pass
    try:
        ipaddress.ip_address(term)
        return "ip"
    except ValueError:
        return "text"


class LargeTableAdmin(admin.ModelAdmin):
    """A changelist that costs one page, whatever the table's size.

    `search_by` maps a kind of term (search_kind) to the lookup it is searched with,
    e.g. {"number": "candidature_id", "text": "fichier__original_name__icontains"};
    a kind not listed is searched as text, if the admin searches text. Without
    `search_by`, Django's own search over search_fields."""

    show_full_result_count = False
    list_per_page = 50
    search_by: dict[str, str] = {}

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not self.search_by:
            # A small table: Django's search over search_fields.
            return super().get_search_results(request, queryset, search_term)
        if not term:
            return queryset, False
        kind = search_kind(term)
        lookup = self.search_by.get(kind)
        if lookup is None:
            # "2024" or "a@b" in a file's name: the text it also is.
            kind, lookup = "text", self.search_by.get("text")
        if lookup is None:
            return queryset.none(), False
        if kind == "text" and len(term) < MIN_TEXT:
            messages.warning(
                request, f"Saisissez au moins {MIN_TEXT} caractères pour chercher dans le texte."
            )
            return queryset.none(), False
        if kind in ("email", "sha256"):
            term = term.lower()
        elif kind == "uuid":
            term = uuid.UUID(term)
        return queryset.filter(**{lookup: term}), False
