"""Sort headers and page links that keep the rest of the query string (the filters),
for the lists built with segur_portal.listing.

    {% load listing %}
    <th scope="col"{% aria_sort "editeur" %}>{% sort_link "editeur" "Éditeur" %}</th>
    <a href="{% list_url page=3 %}">…</a>
    {% include "partials/pagination.html" with page_obj=page %}
"""

from django import template
from django.utils.html import format_html

from segur_portal.listing import PAGE_PARAM, SORT_PARAM

register = template.Library()

DIRECTION = {False: "croissant", True: "décroissant"}


@register.simple_tag(takes_context=True)
def list_url(context, **changes) -> str:
    """The current query string with `changes` (None or "" removes a parameter); any
    change of sort or filter sends back to the first page."""
    params = context["request"].GET.copy()
    if not any(name.startswith(PAGE_PARAM) for name in changes):
        for name in [name for name in params if name.startswith(PAGE_PARAM)]:
            del params[name]
    for name, value in changes.items():
        if value in (None, ""):
            params.pop(name, None)
        else:
            params[name] = str(value)
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.simple_tag(takes_context=True)
def page_url(context, page, number) -> str:
    return list_url(context, **{getattr(page, "param", PAGE_PARAM): number})


@register.simple_tag(takes_context=True)
def aria_sort(context, key: str) -> str:
    """aria-sort on the header of the column the list is sorted by, and on it only."""
    sort = context.get("sort")
    if sort is None or sort.key != key:
        return ""
    return format_html(' aria-sort="{}"', "descending" if sort.descending else "ascending")


@register.simple_tag(takes_context=True)
def sort_link(context, key: str, label: str) -> str:
    """A header that sorts by its column; a second click reverses the order. The link
    says, to a screen reader too, what it will do."""
    sort = context.get("sort")
    active = sort is not None and sort.key == key
    descending = active and not sort.descending
    href = list_url(context, **{SORT_PARAM: f"-{key}" if descending else key})
    icon = ""
    if active:
        icon = "fr-icon-arrow-down-s-line" if sort.descending else "fr-icon-arrow-up-s-line"
    return format_html(
        '<a class="portal-sort-link" href="{}">{}<span class="fr-sr-only"> : trier par ordre {}'
        "</span>{}</a>",
        href,
        label,
        DIRECTION[descending],
        format_html(' <span class="{} fr-icon--sm" aria-hidden="true"></span>', icon)
        if icon
        else "",
    )
