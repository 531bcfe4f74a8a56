"""The webhooks' pages in « Mon entreprise »: endpoints, their secrets (shown once),
deliveries and re-sending."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from candidatures.views.candidature import editor_ready
from segur_portal import webhooks
from segur_portal.enums import Role
from segur_portal.forms_webhooks import WebhookEndpointForm
from segur_portal.models_api import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from segur_portal.permissions import role_required

DISABLE_ITEMS = [
    "Le point de réception ne recevra plus aucun événement ; les livraisons en cours sont abandonnées.",
    "Il ne se réactive pas : enregistrez de nouveau l’adresse au besoin (avec un nouveau secret).",
]
ROTATE_ITEMS = [
    "Un nouveau secret signe chaque livraison ; il s’affiche une seule fois.",
    "L’ancien secret signe encore pendant 24 heures, à côté du nouveau, puis ne vaut plus.",
]


def retry_schedule() -> str:
    """The first delays between attempts, as the page says them: « 1, 2, 4… minutes »."""
    delays = [int(webhooks.retry_delay(n).total_seconds()) for n in (1, 2, 3)]
    if all(delay % 60 == 0 for delay in delays):
        return ", ".join(str(delay // 60) for delay in delays) + "… minutes"
    return ", ".join(str(delay) for delay in delays) + "… secondes"


def _webhooks_page(request, form, *, secret="", secret_for=None, status=200):
    editeur_id = request.user.editeur_id
    deliveries = list(
        webhooks.recent_deliveries(editeur_id).prefetch_related(
            Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("at", "id"))
        )
    )
    return render(
        request,
        "segur_portal/webhooks.html",
        {
            "title": "Webhooks",
            "form": form,
            "endpoints": webhooks.endpoints_of(editeur_id),
            "deliveries": deliveries,
            "can_manage": webhooks.can_manage_webhooks(request.user),
            "secret": secret,
            "secret_for": secret_for,
            "signature_header": webhooks.SIGNATURE_HEADER,
            "retry_schedule": retry_schedule(),
            "disable_items": DISABLE_ITEMS,
            "rotate_items": ROTATE_ITEMS,
        },
        status=status,
    )


def _company_user(request) -> None:
    if request.user.editeur_id is None:
        raise PermissionDenied


@role_required(Role.EDITEUR)
@editor_ready
@require_http_methods(["GET", "POST"])
def webhooks_view(request):
    _company_user(request)
    form = WebhookEndpointForm(request.POST or None)
    if request.method == "POST":
        if not webhooks.can_manage_webhooks(request.user):
            raise PermissionDenied
        if form.is_valid():
            try:
                endpoint, secret = webhooks.webhook_endpoint_create(
                    actor=request.user, **form.cleaned_data
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                return _webhooks_page(
                    request, WebhookEndpointForm(), secret=secret, secret_for=endpoint, status=201
                )
    # A form with errors is the page again, as every form of the portal (200).
    return _webhooks_page(request, form)


def _endpoint(request, pk: int) -> WebhookEndpoint:
    _company_user(request)
    return get_object_or_404(WebhookEndpoint, pk=pk, editeur_id=request.user.editeur_id)


@role_required(Role.EDITEUR)
@editor_ready
@require_POST
def webhook_rotate(request, pk: int):
    endpoint = _endpoint(request, pk)
    try:
        secret = webhooks.webhook_secret_rotate(endpoint=endpoint, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("webhooks")
    return _webhooks_page(request, WebhookEndpointForm(), secret=secret, secret_for=endpoint)


@role_required(Role.EDITEUR)
@editor_ready
@require_POST
def webhook_disable(request, pk: int):
    endpoint = _endpoint(request, pk)
    webhooks.webhook_endpoint_disable(endpoint=endpoint, actor=request.user)
    messages.success(
        request, f"Point de réception {endpoint.url} désactivé : il ne reçoit plus rien."
    )
    return redirect("webhooks")


@role_required(Role.EDITEUR)
@editor_ready
@require_POST
def webhook_redeliver(request, pk):
    _company_user(request)
    delivery = get_object_or_404(
        WebhookDelivery.objects.select_related("endpoint"),
        pk=pk,
        endpoint__editeur_id=request.user.editeur_id,
    )
    try:
        webhooks.webhook_redeliver(delivery=delivery, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            f"Événement {delivery.get_event_display().lower()} renvoyé à {delivery.endpoint.url}.",
        )
    return redirect("webhooks")
