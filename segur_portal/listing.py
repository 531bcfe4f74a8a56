"""What every list of the portal shares: its sort and its page, read from the query
string, so that a filtered, sorted page is a link one bookmarks or sends.

    sort = sort_from(request.GET, {"editeur": ["editeur__raison_sociale", "pk"]}, "editeur")
    page = page_of(request.GET, queryset.order_by(*sort.ordering), per_page=50)

Templates draw the headers with {% sort_header %} and the pages with
partials/pagination.html (segur_portal/templatetags/listing.py).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from django.core.paginator import Page, Paginator
from django.db.models import F, OrderBy

SORT_PARAM = "tri"
PAGE_PARAM = "page"
# The query string of a list carries filters, a sort and a page; a longer value than
# this is nobody's search.
MAX_TEXT = 200


@dataclass(frozen=True)
class Sort:
    key: str
    descending: bool
    ordering: list = field(default_factory=list, compare=False)

    @property
    def param(self) -> str:
        return f"-{self.key}" if self.descending else self.key


def _reversed(term):
    if isinstance(term, str):
        return term[1:] if term.startswith("-") else f"-{term}"
    if isinstance(term, F):
        return term.desc()
    if isinstance(term, OrderBy):
        flipped = term.copy()
        flipped.reverse_ordering()
        return flipped
    raise TypeError(f"Ordre de tri inattendu : {term!r}")


def sort_from(params: Mapping, sorts: Mapping[str, Sequence], default: str) -> Sort:
    """The sort asked for in `params` (« tri=editeur », « tri=-editeur » for descending)
    among `sorts` (key -> ordering, ascending), else `default`. An unknown key is not an
    error: the list keeps its default order."""
    raw = str(params.get(SORT_PARAM, "") or default)
    key, descending = raw.removeprefix("-"), raw.startswith("-")
    if key not in sorts:
        key, descending = default.removeprefix("-"), default.startswith("-")
    ordering = list(sorts[key])
    if descending:
        ordering = [_reversed(term) for term in ordering]
    return Sort(key, descending, ordering)


def text_param(params: Mapping, name: str) -> str:
    return str(params.get(name, "") or "").strip()[:MAX_TEXT]


def page_of(params: Mapping, items, *, per_page: int, param: str = PAGE_PARAM) -> Page:
    """The page asked for (the last one past the end, the first one for anything that is
    not a number), with the page numbers to link, elided around the current page as the
    DSFR pagination shows them."""
    page = Paginator(items, per_page).get_page(params.get(param))
    page.param = param
    page.pages_list = list(
        page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)
    )
    return page
