"""The journal's pages: the published daily digests (HTML, JSON, Atom) and their
timestamp tokens, the registry's changes (HTML, Atom), and for a candidature its full
history and the inclusion proofs of its events."""

import json
from datetime import date

from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.views.decorators.http import require_GET

from candidatures.enums import CandidatureState
from candidatures.permissions import (
    candidatures_visible_to,
    is_company_member,
    reads_exchanges,
    runs_procedure,
)
from candidatures.selectors.candidature import timeline_entries, timeline_entry
from candidatures.views.candidature import editor_ready
from segur_portal import journal_selectors as selectors
from segur_portal.models import JournalDigest
from segur_portal.security import rate_limited
from segur_portal.services import absolute_url

ATOM_ENTRIES = 50
HISTORY_PER_PAGE = 50
REGISTRE_EVENTS = {
    "publiee": "Candidature publiée en cours de référencement",
    "referencee": "Logiciel référencé",
    "dereferencee": "Logiciel déréférencé",
    "sortie": "Candidature sortie de la liste des candidatures en cours",
}


def _token_url(digest) -> str:
    if digest.timestamped_at is None:
        return ""
    return absolute_url(reverse("registre:journal_token", args=[digest.day.isoformat()]))


# Daily digests


@login_not_required
@require_GET
def journal_index(request):
    page = selectors.digests_page(request.GET.get("page"))
    return render(
        request,
        "registre/journal.html",
        {"title": "Journal des événements : empreintes quotidiennes", "page_obj": page},
    )


@login_not_required
@rate_limited("RATELIMIT_PUBLIC_FEED", group="public-feed")
@require_GET
def journal_json(request):
    page = selectors.digests_page(request.GET.get("page"))
    base = absolute_url(reverse("registre:journal_json"))
    return JsonResponse(
        {
            "format": "segur-journal-digests/1",
            "documentation": "docs/JOURNAL.md",
            "page": page.number,
            "pages": page.paginator.num_pages,
            "next": f"{base}?page={page.next_page_number()}" if page.has_next() else None,
            "previous": f"{base}?page={page.previous_page_number()}"
            if page.has_previous()
            else None,
            "digests": [
                selectors.digest_record(digest, token_url=_token_url(digest)) for digest in page
            ],
        },
        json_dumps_params={"ensure_ascii": False, "indent": 1},
    )


@login_not_required
@rate_limited("RATELIMIT_PUBLIC_FEED", group="public-feed")
@require_GET
def journal_atom(request):
    feed = Atom1Feed(
        title="Portail Ségur — empreintes quotidiennes du journal",
        link=absolute_url(reverse("registre:journal")),
        description="Chaque jour clos : racine de Merkle de ses événements, chaînée au jour "
        "précédent et horodatée (RFC 3161).",
        language="fr",
        feed_url=absolute_url(reverse("registre:journal_atom")),
    )
    for digest in selectors.digests_recent(ATOM_ENTRIES):
        record = selectors.digest_record(digest, token_url=_token_url(digest))
        feed.add_item(
            title=f"Journal du {digest.day:%d/%m/%Y} : {digest.size} événement(s)",
            link=absolute_url(reverse("registre:journal")) + f"#jour-{digest.day.isoformat()}",
            unique_id=f"urn:segur:journal:{digest.day.isoformat()}:{digest.digest}",
            pubdate=digest.closed_at,
            updateddate=digest.timestamped_at or digest.closed_at,
            description=json.dumps(record, ensure_ascii=False),
        )
    return HttpResponse(feed.writeString("utf-8"), content_type="application/atom+xml")


@login_not_required
@require_GET
def journal_token(request, day: str):
    try:
        parsed = date.fromisoformat(day)
    except ValueError as error:
        raise Http404 from error
    digest = get_object_or_404(JournalDigest, day=parsed, timestamp_token__isnull=False)
    response = HttpResponse(
        bytes(digest.timestamp_token), content_type="application/timestamp-reply"
    )
    response["Content-Disposition"] = f'attachment; filename="journal-{day}.tsr"'
    return response


# The registry's changes


def _change(entry) -> dict:
    data = entry.data
    return {
        "seq": entry.seq,
        "at": entry.at,
        "event": data["event"],
        "label": REGISTRE_EVENTS.get(data["event"], data["event"]),
        "state": CandidatureState(data["state"]).label
        if data["state"] in CandidatureState.values
        else data["state"],
        "dsr": data["dsr"],
        "editeur": data["editeur"],
        "nom_commercial": data["nom_commercial"],
        "version_technique": data["version_technique"],
        "numero": data.get("numero", ""),
        "reason": data.get("reason", ""),
        "hash": entry.hash,
    }


@login_not_required
@require_GET
def registre_changes(request):
    page = selectors.registre_changes_page(request.GET.get("page"))
    return render(
        request,
        "registre/evolutions.html",
        {
            "title": "Évolutions du registre",
            "page_obj": page,
            "changes": [_change(entry) for entry in page],
        },
    )


@login_not_required
@rate_limited("RATELIMIT_PUBLIC_FEED", group="public-feed")
@require_GET
def registre_changes_atom(request):
    feed = Atom1Feed(
        title="Portail Ségur — évolutions du registre",
        link=absolute_url(reverse("registre:evolutions")),
        description="Chaque changement des listes publiques : candidature publiée, logiciel "
        "référencé, déréférencé, candidature retirée ou close.",
        language="fr",
        feed_url=absolute_url(reverse("registre:evolutions_atom")),
    )
    for entry in selectors.registre_changes_recent(ATOM_ENTRIES):
        change = _change(entry)
        lines = [
            f"{change['label']} — {change['state']}",
            f"DSR {change['dsr']} · {change['editeur']} · {change['nom_commercial']} "
            f"(version {change['version_technique']})",
        ]
        if change["numero"]:
            lines.append(f"Numéro de référencement : {change['numero']}")
        if change["reason"]:
            lines.append(f"Motif : {change['reason']}")
        feed.add_item(
            title=f"{change['label']} : {change['nom_commercial']} ({change['editeur']})",
            link=absolute_url(reverse("registre:evolutions")) + f"#evenement-{entry.seq}",
            unique_id=f"urn:segur:journal:entree:{entry.seq}:{entry.hash}",
            pubdate=entry.at,
            description="\n".join(lines),
        )
    return HttpResponse(feed.writeString("utf-8"), content_type="application/atom+xml")


# A candidature's history and its proofs


def _candidature(request, pk: int):
    return get_object_or_404(
        candidatures_visible_to(request.user).select_related("editeur", "campagne__dsr"), pk=pk
    )


@editor_ready
@require_GET
def candidature_history(request, pk: int):
    candidature = _candidature(request, pk)
    agency = request.user.is_agency
    entries = timeline_entries(
        candidature,
        for_agency=agency,
        with_exchanges=reads_exchanges(request.user, candidature),
    )
    page = Paginator(entries, HISTORY_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "candidatures/historique.html",
        {
            "title": f"Historique — {candidature.reference}",
            "candidature": candidature,
            "page_obj": page,
            "timeline": [timeline_entry(entry, for_agency=agency) for entry in page],
            "proofs": _reads_proofs(request.user, candidature),
        },
    )


def _reads_proofs(user, candidature) -> bool:
    """The company for its candidature, and the agents who run the procedure; not the
    collège, which reads no exchange."""
    return is_company_member(user, candidature) or runs_procedure(user)


@editor_ready
@require_GET
def candidature_proofs(request, pk: int):
    candidature = _candidature(request, pk)
    if not _reads_proofs(request.user, candidature):
        raise Http404
    proofs = selectors.inclusion_proofs(candidature, full_content=runs_procedure(request.user))
    proofs["published"] = absolute_url(reverse("registre:journal_json"))
    response = JsonResponse(proofs, json_dumps_params={"ensure_ascii": False, "indent": 1})
    response["Content-Disposition"] = (
        f'attachment; filename="preuves-journal-{candidature.reference}.json"'
    )
    return response
