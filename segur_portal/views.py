import redis
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.models import Count, Q
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from candidatures.permissions import can_edit_company
from candidatures.selectors.candidature import (
    editor_dashboard,
    editor_dashboard_facts,
    queue_counts,
)
from candidatures.selectors.referentiel import referentiel_summary
from candidatures.selectors.support import support_waiting_count
from candidatures.services.onboarding import cgu_accepted
from segur_portal import selectors, services
from segur_portal.cache import account_page
from segur_portal.enums import Role
from segur_portal.forms import (
    AccessRequestDecisionForm,
    AccessRequestForm,
    InvitationAcceptForm,
    InvitationForm,
    SignupForm,
)
from segur_portal.listing import page_of, sort_from
from segur_portal.models import AccessRequest, Invitation, Notification, User
from segur_portal.permissions import can_manage_team, role_required
from segur_portal.security import rate_limited, respond_no_sooner

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
        now = timezone.now()
        sweep = services.sweep_status(now=now)
        body["sweep"] = {
            "last_finished_at": sweep.last_finished_at.isoformat()
            if sweep.last_finished_at
            else None,
            "late": sweep.late,
        }
        # The probes call this every few seconds: the first to see the sweep late tells
        # the administrators (once per outage). A late sweep does not make the web
        # unhealthy: restarting it would not restart the clocks.
        if sweep.late:
            services.sweep_late_alert(now=now)
    return JsonResponse(body, status=200 if healthy else 503)


# Signed-in pages


@require_GET
def dashboard(request):
    user = request.user
    context = {"title": "Tableau de bord"}
    if user.role == Role.EDITEUR:
        # Served from the cache while what it shows stays the same: one query, against
        # a rendering of the company's candidatures and of the clocks of its exchanges.
        facts = editor_dashboard_facts(user)
        return account_page(
            request,
            name="dashboard_editeur",
            facts=facts,
            render=lambda: render(
                request,
                "segur_portal/dashboard_editeur.html",
                {
                    **context,
                    **editor_dashboard(user, facts=facts),
                    "unread_count": facts.unread_notifications,
                },
            ),
        )
    if user.role == Role.INSTRUCTEUR:
        context["queues"] = queue_counts(now=timezone.now())
        context["proofs"] = selectors.proof_queue_summary(user=user, now=timezone.now())
        context["support_waiting"] = support_waiting_count()
    if user.role == Role.ADMIN:
        context["referentiel"] = referentiel_summary()
        now = timezone.now()
        context["sweep"] = services.sweep_status(now=now)
        if context["sweep"].late:
            services.sweep_late_alert(now=now)
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


NOTIFICATION_SORTS = {"date": ["created_at", "id"]}


@require_GET
def notification_list(request):
    """Newest first by default; « non lues » keeps the unread ones only."""
    notifications = selectors.notifications_for(request.user)
    counts = notifications.aggregate(
        total=Count("pk"), unread=Count("pk", filter=Q(read_at__isnull=True))
    )
    unread_only = request.GET.get("etat") == "non_lues"
    if unread_only:
        notifications = notifications.filter(read_at__isnull=True)
    sort = sort_from(request.GET, NOTIFICATION_SORTS, "-date")
    return render(
        request,
        "segur_portal/notifications.html",
        {
            "title": "Notifications",
            "page_obj": page_of(request.GET, notifications.order_by(*sort.ordering), per_page=20),
            "sort": sort,
            "counts": counts,
            "unread_only": unread_only,
        },
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
            "access_requests": selectors.pending_access_requests(user.editeur_id),
            "decision_form": AccessRequestDecisionForm(),
            "can_manage": can_manage_team(user),
            "can_edit_company": can_edit_company(user),
            "form": form,
        },
    )


@role_required(Role.EDITEUR)
@require_POST
def team_access_request_decide(request, pk: int, accept: bool):
    if not can_manage_team(request.user):
        raise PermissionDenied
    access_request = get_object_or_404(
        AccessRequest.objects.select_related("requester"),
        pk=pk,
        editeur_id=request.user.editeur_id,
    )
    name = access_request.requester.get_full_name()
    try:
        if accept:
            form = AccessRequestDecisionForm(request.POST)
            if not form.is_valid():
                raise ValidationError("Choisissez le rôle de cette personne dans l’entreprise.")
            services.access_request_accept(
                actor=request.user,
                access_request=access_request,
                company_role=form.cleaned_data["company_role"],
            )
            messages.success(request, f"{name} a désormais accès à l’entreprise.")
        else:
            services.access_request_refuse(actor=request.user, access_request=access_request)
            messages.success(request, f"Demande de {name} refusée : un message l’en informe.")
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("team")


@role_required(Role.EDITEUR)
@require_http_methods(["GET", "POST"])
def company_join(request):
    """Ask the mandataire of a company already on the portal for access."""
    user = request.user
    if user.editeur_id is not None:
        return redirect("team")
    if user.email_verified_at is None:
        return redirect("signup_pending")
    if not cgu_accepted(user):
        return redirect(f"{reverse('cgu')}?next={request.path}")
    form = AccessRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.access_request_create(
                requester=user,
                siret=form.cleaned_data["siret"],
                message=form.cleaned_data["message"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, services.ACCESS_REQUEST_SENT)
            return redirect("company_join")
    return render(
        request,
        "segur_portal/company_join.html",
        {
            "title": "Rejoindre une entreprise déjà inscrite",
            "form": form,
            "pending": selectors.own_pending_access_request(user),
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


def _invalid_link(request, message: str):
    # One page, one status for every refused link: unknown, forged, reused, expired,
    # someone else's. Nothing tells them apart, and nothing changes.
    return render(
        request,
        "segur_portal/link_invalid.html",
        {"title": "Lien non valable", "message": message},
        status=400,
    )


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def invitation_accept(request, token: str):
    invitation = services.invitation_find(token)
    if invitation is None or not invitation.is_pending():
        return _invalid_link(request, services.INVALID_INVITATION)
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
            # The link opened the account; signing in takes the password, like any login.
            # A session of someone else on this browser ends: two identities do not mix.
            if request.user.is_authenticated:
                logout(request)
            messages.success(
                request,
                f"Votre compte {user.editeur.raison_sociale} est ouvert. "
                "Connectez-vous avec votre adresse et le mot de passe choisi.",
            )
            return redirect("login")
    return render(
        request,
        "segur_portal/invitation_accept.html",
        {"title": "Rejoindre mon entreprise", "invitation": invitation, "form": form},
    )


@login_not_required
@never_cache
@rate_limited("RATELIMIT_ACCOUNT_FORMS", method=["POST"])
@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("dashboard")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.account_signup(
                email=form.cleaned_data["email"],
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
                password=form.cleaned_data["password1"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            # The same answer for a new address and a known one: no session, a page that
            # says an e-mail is on its way.
            request.session["signup_email"] = form.cleaned_data["email"]
            return redirect("signup_sent")
    return render(
        request, "segur_portal/signup.html", {"title": "Créer un compte éditeur", "form": form}
    )


@login_not_required
@never_cache
@require_GET
def signup_sent(request):
    return render(
        request,
        "segur_portal/signup_sent.html",
        {"title": "Vérifiez votre messagerie", "email": request.session.get("signup_email", "")},
    )


@never_cache
@require_http_methods(["GET", "POST"])
def signup_pending(request):
    user = request.user
    if user.email_verified_at is not None:
        return redirect("dashboard")
    if request.method == "POST":
        if services.account_send_verification(user=user):
            messages.success(request, f"Un nouveau lien vient d’être envoyé à {user.email}.")
        else:
            messages.error(
                request,
                f"Trois liens ont déjà été envoyés à {user.email} dans l’heure : "
                "ouvrez le plus récent, ou réessayez plus tard.",
            )
        return redirect("signup_pending")
    return render(request, "segur_portal/signup_pending.html", {"title": "Confirmez votre adresse"})


@login_not_required
@never_cache
@require_GET
def signup_confirm(request, uidb64: str, token: str):
    try:
        user = services.account_verify_email(uidb64=uidb64, token=token)
    except ValidationError as error:
        return _invalid_link(request, " ".join(error.messages))
    # The link proved the address; it does not sign in (it can be forwarded, logged,
    # guessed for a confirmed account): the password does.
    if request.user.is_authenticated and request.user.pk == user.pk:
        messages.success(
            request, "Adresse confirmée. Étape suivante : les conditions d’utilisation."
        )
        return redirect("cgu")
    messages.success(
        request, "Adresse confirmée. Connectez-vous avec votre mot de passe pour continuer."
    )
    return redirect("login")


@method_decorator(login_not_required, name="dispatch")
class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's view, with the invalid-link page of every other token view (400)."""

    def dispatch(self, *args, **kwargs):
        response = super().dispatch(*args, **kwargs)
        # A good token answers with a redirect (to the form, token kept in the session);
        # only a refused one renders the page without a valid link.
        if not self.validlink and response.status_code == 200:
            return _invalid_link(
                self.request,
                "Ce lien de réinitialisation n’est pas valable : il est incomplet, a déjà "
                "servi ou a expiré. Demandez-en un nouveau.",
            )
        return response


@method_decorator(
    [
        login_not_required,
        rate_limited("RATELIMIT_ACCOUNT_FORMS", method=["POST"]),
        respond_no_sooner("PASSWORD_RESET_MIN_SECONDS"),
    ],
    name="dispatch",
)
class PasswordResetView(auth_views.PasswordResetView):
    """Django's view; the e-mail goes through the outbox (PasswordResetForm.send_mail) and
    the answer takes the same time whether the address has an account or not."""


@login_not_required
def csrf_failure(request, reason=""):
    return render(request, "403_csrf.html", {"title": "Session expirée"}, status=403)


@login_not_required
def robots_txt(request):
    return HttpResponse("User-agent: *\nDisallow: /\n", content_type="text/plain")
