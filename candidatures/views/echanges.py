"""Sollicitations as conversations, on the candidature's page: the instructor asks, the
company and the agency exchange messages until the instructor closes the exchange, or
the jalon ends it.

Each form posts normally (the page comes back, with errors at their field) and, with
htmx, replaces only its own thread; status changes are announced in the thread's
aria-live region.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from candidatures.enums import SollicitationStatus
from candidatures.forms.echanges import MessageForm
from candidatures.models import Candidature, Sollicitation, SollicitationMessage
from candidatures.permissions import is_company_member, reads_exchanges, runs_procedure
from candidatures.selectors.candidature import sollicitation_clocks
from candidatures.services import sollicitation as services
from candidatures.services.sollicitation import ATTACHMENT_RULE
from candidatures.views.candidature import _candidature, candidature_detail_render, editor_ready
from preuves.uploads import bounded_upload

# Attachments one message may carry.
MAX_ATTACHMENTS = 10
THREAD_TEMPLATE = "candidatures/echanges/_thread_response.html"
OPEN_FORM_SCOPE = "nouvelle"


def add_service_error(form, error: ValidationError) -> None:
    """A service's refusal at its field: an attachment too large at the files."""
    if hasattr(error, "error_dict"):
        form.add_error(None, error)
    elif error.code == "size":
        form.add_error("files", error)
    else:
        form.add_error(None, error)


def send_from_form(form, send, **kwargs):
    """Send the form's message through the service `send`; its refusal goes to the
    form. The message sent, or None."""
    if not form.is_valid():
        return None
    try:
        return send(text=form.cleaned_data["text"], files=form.cleaned_data["files"], **kwargs)
    except ValidationError as error:
        add_service_error(form, error)
        return None


def _threads_queryset():
    return Sollicitation.objects.select_related("opened_by", "closed_by").prefetch_related(
        Prefetch(
            "messages",
            queryset=SollicitationMessage.objects.select_related("author").prefetch_related(
                "fichiers"
            ),
        )
    )


def _decorate(sollicitation: Sollicitation, user, now, form=None) -> Sollicitation:
    """What a page shows of one exchange, computed from its stored instants."""
    open_to_messages = services.accepts_messages(sollicitation, now)
    sollicitation.clocks = sollicitation_clocks(sollicitation, now)
    sollicitation.writable = open_to_messages and (
        is_company_member(user, sollicitation.candidature) or runs_procedure(user)
    )
    sollicitation.can_close = runs_procedure(user) and services.closable(sollicitation, now)
    sollicitation.ended = not open_to_messages and sollicitation.status in (
        SollicitationStatus.OUVERTE,
        SollicitationStatus.REPONDUE,
    )
    sollicitation.form = form or MessageForm(scope=f"s{sollicitation.pk}")
    sollicitation.target = f"#sollicitation-{sollicitation.pk}-fil"
    sollicitation.status_key = f"{sollicitation.status}{'-clos' if sollicitation.ended else ''}"
    return sollicitation


def sollicitations_context(request, candidature: Candidature, now, *, forms=None) -> dict:
    """The exchanges part of the candidature's page (candidature_detail_render).

    `forms` carries a refused form back, by sollicitation id ("open" for a new one)."""
    user = request.user
    forms = forms or {}
    sollicitations = []
    if reads_exchanges(user, candidature):
        sollicitations = list(_threads_queryset().filter(candidature=candidature))
    for sollicitation in sollicitations:
        sollicitation.candidature = candidature
        _decorate(sollicitation, user, now, forms.get(sollicitation.pk))
    return {
        "sollicitations": sollicitations,
        "can_open_sollicitation": runs_procedure(user)
        and not candidature.is_closed
        and services.phase_of(candidature) is not None
        and not any(s.status == SollicitationStatus.OUVERTE for s in sollicitations),
        "sollicitation_form": forms.get("open") or MessageForm(scope=OPEN_FORM_SCOPE),
    }


def _sollicitation(request, pk: int, sid: int) -> Sollicitation:
    """The exchange, for those who read it: another company or a forged id of another
    candidature is a 404, and so is the collège, which never reads exchanges."""
    candidature = _candidature(request, pk)
    if not reads_exchanges(request.user, candidature):
        raise Http404
    sollicitation = get_object_or_404(_threads_queryset(), pk=sid, candidature=candidature)
    sollicitation.candidature = candidature
    return sollicitation


NOT_SENT = "Message non envoyé : voyez l’erreur indiquée au formulaire."


def _thread_response(request, sollicitation, *, announce="", form=None, status=200):
    now = timezone.now()
    fresh = _threads_queryset().get(pk=sollicitation.pk)
    fresh.candidature = sollicitation.candidature
    context = {
        "sollicitation": _decorate(fresh, request.user, now, form),
        "candidature": sollicitation.candidature,
        "is_member": is_company_member(request.user, sollicitation.candidature),
        "runs_procedure": runs_procedure(request.user),
        "announce": announce,
        "announce_level": "error" if form is not None and form.errors else "success",
    }
    return render(request, THREAD_TEMPLATE, context, status=status)


@editor_ready
@require_POST
@bounded_upload(ATTACHMENT_RULE.max_bytes, max_files=MAX_ATTACHMENTS)
def sollicitation_open(request, pk: int):
    candidature = _candidature(request, pk)
    if not runs_procedure(request.user):
        raise PermissionDenied
    form = MessageForm(request.POST, request.FILES, scope=OPEN_FORM_SCOPE)
    sollicitation = send_from_form(
        form, services.sollicitation_open, candidature=candidature, actor=request.user
    )
    if sollicitation is not None:
        messages.success(request, "Sollicitation envoyée à l’éditeur.")
        return redirect(services.sollicitation_url(sollicitation))
    return candidature_detail_render(request, pk, status=422, echanges_forms={"open": form})


def _sent_announcement(message) -> str:
    if message.from_agency:
        return "Message envoyé à l’éditeur."
    if message.first_answer:
        return "Réponse envoyée à l’ANS : le délai de la sollicitation est arrêté."
    return "Réponse envoyée à l’ANS."


@editor_ready
@require_POST
@bounded_upload(ATTACHMENT_RULE.max_bytes, max_files=MAX_ATTACHMENTS)
def sollicitation_answer(request, pk: int, sid: int):
    """A message in the exchange, from the company or from the agency."""
    sollicitation = _sollicitation(request, pk, sid)
    user = request.user
    if not (is_company_member(user, sollicitation.candidature) or runs_procedure(user)):
        raise PermissionDenied
    form = MessageForm(request.POST, request.FILES, scope=f"s{sid}")
    message = send_from_form(
        form, services.sollicitation_message_send, sollicitation=sollicitation, actor=user
    )
    if message is not None:
        announce = _sent_announcement(message)
        if request.htmx:
            return _thread_response(request, sollicitation, announce=announce)
        messages.success(request, announce)
        return redirect(services.sollicitation_url(sollicitation))
    if request.htmx:
        # 200: htmx swaps it in (and the browser logs no failed request); the errors are
        # at their field and announced.
        return _thread_response(request, sollicitation, form=form, announce=NOT_SENT)
    return candidature_detail_render(request, pk, status=422, echanges_forms={sid: form})


@editor_ready
@require_POST
def sollicitation_close(request, pk: int, sid: int):
    sollicitation = _sollicitation(request, pk, sid)
    if not runs_procedure(request.user):
        raise PermissionDenied
    try:
        services.sollicitation_close(sollicitation=sollicitation, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Échange clos : ni l’ANS ni l’éditeur n’y écrivent plus.")
    return redirect(services.sollicitation_url(sollicitation))


STATUS_ANNOUNCEMENTS = {
    SollicitationStatus.OUVERTE: (
        "La sollicitation attend de nouveau une réponse : une pièce jointe de la réponse a "
        "été refusée.",
        "warning",
    ),
    SollicitationStatus.REPONDUE: ("Réponse reçue : le délai est arrêté.", "success"),
    SollicitationStatus.EXPIREE: ("La sollicitation est close sans réponse.", "warning"),
    SollicitationStatus.CLOSE: ("L’échange est clos.", "info"),
}


@editor_ready
@require_GET
def sollicitation_status(request, pk: int, sid: int):
    """The exchange's status, asked again when a file check ends: a refused attachment
    reopens an answered sollicitation, and the page says so. 204 while what the page
    shows (`vu`) is still right."""
    sollicitation = _decorate(_sollicitation(request, pk, sid), request.user, timezone.now())
    if request.GET.get("vu") == sollicitation.status_key:
        return HttpResponse(status=204)
    announce, level = STATUS_ANNOUNCEMENTS[sollicitation.status]
    if sollicitation.ended:
        announce, level = STATUS_ANNOUNCEMENTS[SollicitationStatus.CLOSE]
    return render(
        request,
        "candidatures/echanges/_status.html",
        {"sollicitation": sollicitation, "announce": announce, "announce_level": level},
    )
