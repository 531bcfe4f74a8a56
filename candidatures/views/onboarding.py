"""An editor's first steps: account, CGU, company."""

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from candidatures.forms.candidature import CguAcceptForm, EditeurForm
from candidatures.permissions import can_edit_company
from candidatures.services import onboarding as services
from segur_portal.enums import Role
from segur_portal.security import client_ip


def _safe_next(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


@login_not_required
@require_http_methods(["GET", "POST"])
def cgu(request):
    cgu = services.current_cgu()
    user = request.user
    accepted = user.is_authenticated and user.role == Role.EDITEUR and services.cgu_accepted(user)
    form = CguAcceptForm(request.POST or None)
    if request.method == "POST":
        if not (user.is_authenticated and user.role == Role.EDITEUR):
            raise PermissionDenied
        if form.is_valid():
            try:
                services.cgu_accept(user=user, cgu=cgu, ip_address=client_ip(request))
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, f"CGU version {cgu.version} acceptées.")
                default = "candidatures:editeur_declare" if user.editeur_id is None else "dashboard"
                return redirect(_safe_next(request, "") or default)
    return render(
        request,
        "candidatures/cgu.html",
        {
            "title": "Conditions générales d’utilisation",
            "cgu": cgu,
            "form": form,
            "accepted": accepted,
            "can_accept": user.is_authenticated and user.role == Role.EDITEUR and not accepted,
            "next": _safe_next(request, ""),
        },
    )


@require_http_methods(["GET", "POST"])
def editeur_declare(request):
    user = request.user
    if user.role != Role.EDITEUR:
        raise PermissionDenied
    if user.editeur_id is not None:
        return redirect("team")
    if user.email_verified_at is None:
        return redirect("signup_pending")
    if not services.cgu_accepted(user):
        return redirect(f"/cgu/?next={request.path}")
    form = EditeurForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            editeur = services.editeur_create(actor=user, data=form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                f"Entreprise {editeur.raison_sociale} déclarée : vous en êtes le mandataire. "
                "Vous pouvez maintenant créer une candidature.",
            )
            return redirect("dashboard")
    return render(
        request,
        "candidatures/editeur_form.html",
        {"title": "Déclarer mon entreprise", "form": form, "creating": True},
    )


@require_http_methods(["GET", "POST"])
def editeur_edit(request):
    user = request.user
    if not can_edit_company(user):
        raise PermissionDenied
    editeur = user.editeur
    initial = {field: getattr(editeur, field) for field in EditeurForm.Meta.fields}
    form = EditeurForm(request.POST or None, initial=initial, creating=False)
    if request.method == "POST" and form.is_valid():
        try:
            changes = services.editeur_update(editeur=editeur, actor=user, data=form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                f"{len(changes)} modification(s) enregistrée(s)."
                if changes
                else "Aucun changement.",
            )
            return redirect("team")
    return render(
        request,
        "candidatures/editeur_form.html",
        {
            "title": "Modifier les informations de l’entreprise",
            "form": form,
            "creating": False,
            "changes": editeur.changes.select_related("changed_by")[:50],
        },
    )
