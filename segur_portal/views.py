import redis
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from candidatures.selectors.candidature import editor_dashboard, queue_counts
from candidatures.selectors.referentiel import referentiel_summary
from segur_portal import selectors, services
from segur_portal.enums import Role
from segur_portal.forms import InvitationAcceptForm, InvitationForm, SignupForm
from segur_portal.models import Invitation, Notification, PeriodicRun, User
from segur_portal.permissions import can_manage_team, role_required

# Public pages


@login_not_required
@require_GET
def home(request):
    return render(request, "segur_portal/home.html")


@login_not_required
@require_GET
def legal_page(request, template_name: str, title: str):
    return render(request, template_name, {"title": title})


def _check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:
        return {"status": "error", "error": type(error).__name__}
    return {"status": "ok", "vendor": connection.vendor}


def _check_broker() -> dict:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"status": "ok", "mode": "in-process"}
    try:
        client = redis.Redis.from_url(
            settings.CELERY_BROKER_URL, socket_connect_timeout=2, socket_timeout=2
        )
        client.ping()
        client.close()
    except redis.RedisError as error:
        return {"status": "error", "backend": "redis", "error": type(error).__name__}
    return {"status": "ok", "backend": "redis"}


@login_not_required
@require_GET
@never_cache
def healthz(request):
    checks = {"database": _check_database(), "broker": _check_broker()}
    healthy = all(check["status"] == "ok" for check in checks.values())
    body = {"status": "ok" if healthy else "error", **checks}
    if checks["database"]["status"] == "ok":
        run = PeriodicRun.objects.filter(name="sweep").first()
        body["sweep"] = {
            "last_finished_at": run.last_finished_at.isoformat()
            if run and run.last_finished_at
            else None
        }
    return JsonResponse(body, status=200 if healthy else 503)


# Signed-in pages


@require_GET
def dashboard(request):
    user = request.user
    context = {"title": "Tableau de bord"}
    if user.role == Role.EDITEUR:
        context.update(editor_dashboard(user))
        return render(request, "segur_portal/dashboard_editeur.html", context)
    if user.role == Role.INSTRUCTEUR:
        context["queues"] = queue_counts(now=timezone.now())
    if user.role == Role.ADMIN:
        context["referentiel"] = referentiel_summary()
    if user.role == Role.COLLEGE:
        from college.selectors import college_dashboard

        context.update(college_dashboard(now=timezone.now()))
    templates = {
        Role.INSTRUCTEUR: "segur_portal/dashboard_instructeur.html",
        Role.COLLEGE: "segur_portal/dashboard_college.html",
        Role.ADMIN: "segur_portal/dashboard_admin.html",
    }
    return render(request, templates[user.role], context)


@require_GET
def account(request):
    return render(request, "segur_portal/account.html", {"title": "Mon compte"})


@require_GET
def notification_list(request):
    page = Paginator(selectors.notifications_for(request.user), 20).get_page(
        request.GET.get("page")
    )
    return render(
        request, "segur_portal/notifications.html", {"title": "Notifications", "page_obj": page}
    )


@require_POST
def notification_open(request, pk: int):
    notification = get_object_or_404(Notification, pk=pk, recipient=request.user)
    services.notification_mark_read(notification=notification, user=request.user)
    if notification.url and url_has_allowed_host_and_scheme(
        notification.url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(notification.url)
    return redirect("notifications")


@require_POST
def notifications_mark_all_read(request):
    count = services.notifications_mark_all_read(user=request.user)
    messages.success(request, f"{count} notification(s) marquée(s) comme lue(s).")
    return redirect("notifications")


@require_GET
@never_cache
def notification_badge(request):
    """The header's unread counter, refreshed by htmx."""
    return render(request, "partials/notification_badge.html")


# Company accounts


@role_required(Role.EDITEUR)
@require_http_methods(["GET", "POST"])
def team(request):
    user = request.user
    if user.editeur_id is None:
        raise PermissionDenied
    form = InvitationForm()
    if request.method == "POST":
        if not can_manage_team(user):
            raise PermissionDenied
        form = InvitationForm(request.POST)
        if form.is_valid():
            try:
                invitation, _token = services.invitation_create(
                    actor=user,
                    email=form.cleaned_data["email"],
                    company_role=form.cleaned_data["company_role"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(
                    request,
                    f"Invitation envoyée à {invitation.email}. Le lien est valable "
                    f"jusqu’au {invitation.expires_at:%d/%m/%Y à %H:%M}.",
                )
                return redirect("team")
    return render(
        request,
        "segur_portal/team.html",
        {
            "title": "Mon entreprise",
            "editeur": user.editeur,
            "members": selectors.team_members(user.editeur_id),
            "invitations": selectors.pending_invitations(user.editeur_id),
            "can_manage": can_manage_team(user),
            "form": form,
        },
    )


@role_required(Role.EDITEUR)
@require_POST
def team_member_remove(request, pk: int):
    if not can_manage_team(request.user):
        raise PermissionDenied
    member = get_object_or_404(User, pk=pk, editeur_id=request.user.editeur_id)
    try:
        services.member_remove(actor=request.user, member=member)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"L’accès de {member.get_full_name()} est fermé.")
    return redirect("team")


@role_required(Role.EDITEUR)
@require_POST
def team_invitation_revoke(request, pk: int):
    if not can_manage_team(request.user):
        raise PermissionDenied
    invitation = get_object_or_404(Invitation, pk=pk, editeur_id=request.user.editeur_id)
    services.invitation_revoke(actor=request.user, invitation=invitation)
    messages.success(request, f"L’invitation de {invitation.email} est retirée.")
    return redirect("team")


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def invitation_accept(request, token: str):
    invitation = services.invitation_find(token)
    if invitation is None or not invitation.is_pending():
        return render(
            request,
            "segur_portal/invitation_invalid.html",
            {"title": "Invitation expirée"},
            status=410 if invitation else 404,
        )
    if request.user.is_authenticated:
        # Accepting while signed in as someone else would mix two identities.
        logout(request)
    form = InvitationAcceptForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.invitation_accept(
                token=token,
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
                password=form.cleaned_data["password1"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(
                request, f"Bienvenue ! Votre compte {user.editeur.raison_sociale} est ouvert."
            )
            return redirect("dashboard")
    return render(
        request,
        "segur_portal/invitation_accept.html",
        {"title": "Rejoindre mon entreprise", "invitation": invitation, "form": form},
    )


@login_not_required
@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("dashboard")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.account_signup(
                email=form.cleaned_data["email"],
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
                password=form.cleaned_data["password1"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("signup_pending")
    return render(
        request, "segur_portal/signup.html", {"title": "Créer un compte éditeur", "form": form}
    )


@require_http_methods(["GET", "POST"])
def signup_pending(request):
    user = request.user
    if user.email_verified_at is not None:
        return redirect("dashboard")
    if request.method == "POST":
        services.account_send_verification(user=user)
        messages.success(request, f"Un nouveau lien vient d’être envoyé à {user.email}.")
        return redirect("signup_pending")
    return render(request, "segur_portal/signup_pending.html", {"title": "Confirmez votre adresse"})


@login_not_required
@never_cache
@require_GET
def signup_confirm(request, uidb64: str, token: str):
    try:
        user = services.account_verify_email(uidb64=uidb64, token=token)
    except ValidationError as error:
        return render(
            request,
            "segur_portal/signup_invalid.html",
            {"title": "Lien non valable", "message": " ".join(error.messages)},
            status=400,
        )
    if not request.user.is_authenticated:
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    messages.success(request, "Adresse confirmée. Étape suivante : les conditions d’utilisation.")
    return redirect("cgu")


@login_not_required
def csrf_failure(request, reason=""):
    return render(request, "403_csrf.html", {"title": "Session expirée"}, status=403)


@login_not_required
def robots_txt(request):
    return HttpResponse("User-agent: *\nDisallow: /\n", content_type="text/plain")
