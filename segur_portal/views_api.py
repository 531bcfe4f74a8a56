"""The API's pages: personal tokens in « Mon compte », webhooks in « Mon entreprise ».

A token or a secret is shown once, in the answer to the form that made it, and never
again (the page says so); nothing of it goes through the session or a redirect."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from candidatures.views.candidature import editor_ready
from segur_portal import api_tokens
from segur_portal.enums import Role
from segur_portal.forms_api import ApiTokenForm
from segur_portal.permissions import role_required

REVOKE_ITEMS = [
    "Le jeton ne vaudra plus pour aucun appel : un outil qui l’utilise recevra une erreur 401.",
    "Un jeton révoqué ne se réactive pas : créez-en un autre au besoin.",
]


def _tokens_page(request, form, *, new_token=None, raw="", status=200):
    user = request.user
    return render(
        request,
        "segur_portal/api_tokens.html",
        {
            "title": "Jetons d’accès à l’API",
            "form": form,
            "tokens": api_tokens.tokens_visible_to(user),
            "new_token": new_token,
            "raw": raw,
            "company_wide": user.is_mandataire,
            "revoke_items": REVOKE_ITEMS,
        },
        status=status,
    )


@role_required(Role.EDITEUR)
@editor_ready
@require_http_methods(["GET", "POST"])
def api_tokens_view(request):
    if not api_tokens.may_hold_tokens(request.user):
        raise PermissionDenied
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            token, raw = api_tokens.api_token_create(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return _tokens_page(request, ApiTokenForm(), new_token=token, raw=raw, status=201)
    # A form with errors is a page like any other (200): a 400 for a page the browser
    # navigated to is logged as a failed resource.
    return _tokens_page(request, form)


@role_required(Role.EDITEUR)
@editor_ready
@require_POST
def api_token_revoke(request, pk: int):
    token = get_object_or_404(api_tokens.tokens_visible_to(request.user), pk=pk)
    api_tokens.api_token_revoke(token=token, actor=request.user)
    messages.success(request, f"Jeton « {token.name} » révoqué : il ne vaut plus pour aucun appel.")
    return redirect("api_tokens")
