"""The ANS support (DSR §4.7): a company's questions about the procedure or the portal,
and the agency's inbox that answers them. Every lookup goes through
support_demandes_visible_to(user): another company's request is a 404."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from candidatures.forms.echanges import MessageForm, SupportDemandeForm
from candidatures.models import SupportDemande
from candidatures.permissions import runs_procedure, support_demandes_visible_to
from candidatures.selectors import support as selectors
from candidatures.services import support as services
from candidatures.services.sollicitation import ATTACHMENT_RULE
from candidatures.views.candidature import editor_ready
from candidatures.views.echanges import (
    MAX_ATTACHMENTS,
    NOT_SENT,
    add_service_error,
    send_from_form,
)
from preuves.uploads import bounded_upload
from segur_portal.enums import Role

MESSAGES_TEMPLATE = "candidatures/support/_conversation.html"


def _company_user(user) -> bool:
    return user.role == Role.EDITEUR and user.editeur_id is not None


@editor_ready
@require_http_methods(["GET", "POST"])
@bounded_upload(ATTACHMENT_RULE.max_bytes, max_files=MAX_ATTACHMENTS)
def support_home(request):
    """A company's questions to the support, and the form to ask a new one."""
    user = request.user
    if runs_procedure(user) and request.method == "GET":
        return redirect("support:inbox")
    if not _company_user(user):
        raise PermissionDenied
    form = SupportDemandeForm(request.POST or None, request.FILES or None, scope="demande")
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                demande = services.support_demande_open(
                    actor=user,
                    subject=form.cleaned_data["subject"],
                    text=form.cleaned_data["text"],
                    files=form.cleaned_data["files"],
                )
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(
                    request, "Question envoyée au support de l’ANS : sa réponse arrivera ici."
                )
                return redirect("support:demande", demande.pk)
        status = 422
    return render(
        request,
        "candidatures/support/home.html",
        {
            "title": "Support",
            "form": form,
            "demandes": selectors.support_demandes_of(user.editeur_id),
        },
        status=status,
    )


@editor_ready
@require_GET
def support_inbox(request):
    if not runs_procedure(request.user):
        raise PermissionDenied
    page = Paginator(selectors.support_inbox(), selectors.INBOX_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "candidatures/support/inbox.html",
        {"title": "Support des éditeurs", "page_obj": page},
    )


def _demande(request, pk: int) -> SupportDemande:
    try:
        return selectors.support_demande_with_messages(
            support_demandes_visible_to(request.user), pk
        )
    except SupportDemande.DoesNotExist:
        raise Http404 from None


def _context(request, demande, form=None, announce=""):
    return {
        "title": demande.subject,
        "demande": demande,
        "form": form or MessageForm(scope="support"),
        "agency_view": runs_procedure(request.user),
        "announce": announce,
    }


@editor_ready
@require_GET
def support_demande(request, pk: int):
    demande = _demande(request, pk)
    return render(request, "candidatures/support/demande.html", _context(request, demande))


@editor_ready
@require_POST
@bounded_upload(ATTACHMENT_RULE.max_bytes, max_files=MAX_ATTACHMENTS)
def support_message(request, pk: int):
    demande = _demande(request, pk)
    form = MessageForm(request.POST, request.FILES, scope="support")
    message = send_from_form(
        form, services.support_message_send, demande=demande, actor=request.user
    )
    if message is not None:
        announce = (
            "Réponse envoyée à l’éditeur."
            if message.from_agency
            else "Message envoyé au support de l’ANS."
        )
        if request.htmx:
            fresh = _demande(request, pk)
            return render(request, MESSAGES_TEMPLATE, _context(request, fresh, None, announce))
        messages.success(request, announce)
        return redirect("support:demande", pk)
    if request.htmx:
        # 200: htmx swaps it in; the errors are at their field.
        context = _context(request, demande, form, NOT_SENT) | {"announce_level": "error"}
        return render(request, MESSAGES_TEMPLATE, context)
    return render(
        request, "candidatures/support/demande.html", _context(request, demande, form), status=422
    )
