from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, reverse_lazy

from candidatures.urls import (
    candidature_patterns,
    instruction_patterns,
    referentiel_admin_patterns,
    referentiel_patterns,
    registre_patterns,
    support_patterns,
)
from candidatures.views.onboarding import cgu
from candidatures.views.pilotage import statistics
from college.urls import candidature_patterns as phase3_patterns
from college.urls_public import registre_referencees_patterns, verifier_patterns
from preuves.urls import dossier_patterns
from segur_portal import views, views_api, views_webhooks
from segur_portal.api.urls import urlpatterns as api_patterns
from segur_portal.forms import LoginForm, PasswordChangeForm, PasswordResetForm, SetPasswordForm
from segur_portal.urls_journal import historique_patterns, registre_journal_patterns

admin.site.site_header = "Administration — Portail de référencement Ségur"
admin.site.site_title = "Administration Ségur"
admin.site.index_title = "Référentiel, campagnes et comptes"

auth_patterns = [
    path(
        "connexion/",
        auth_views.LoginView.as_view(
            authentication_form=LoginForm,
            redirect_authenticated_user=True,
            extra_context={"title": "Connexion"},
        ),
        name="login",
    ),
    path("deconnexion/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "mot-de-passe/oubli/",
        views.PasswordResetView.as_view(
            form_class=PasswordResetForm,
            subject_template_name="emails/password_reset_subject.txt",
            email_template_name="emails/password_reset.txt",
            extra_context={"title": "Mot de passe oublié"},
        ),
        name="password_reset",
    ),
    path(
        "mot-de-passe/oubli/envoye/",
        auth_views.PasswordResetDoneView.as_view(extra_context={"title": "Courriel envoyé"}),
        name="password_reset_done",
    ),
    path(
        "mot-de-passe/reinitialisation/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(
            form_class=SetPasswordForm, extra_context={"title": "Nouveau mot de passe"}
        ),
        name="password_reset_confirm",
    ),
    path(
        "mot-de-passe/reinitialisation/terminee/",
        auth_views.PasswordResetCompleteView.as_view(
            extra_context={"title": "Mot de passe modifié"}
        ),
        name="password_reset_complete",
    ),
    path(
        "compte/mot-de-passe/",
        auth_views.PasswordChangeView.as_view(
            form_class=PasswordChangeForm,
            success_url=reverse_lazy("password_change_done"),
            extra_context={"title": "Changer mon mot de passe"},
        ),
        name="password_change",
    ),
    path(
        "compte/mot-de-passe/modifie/",
        auth_views.PasswordChangeDoneView.as_view(extra_context={"title": "Mot de passe modifié"}),
        name="password_change_done",
    ),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("robots.txt", views.robots_txt),
    path(
        "mentions-legales/",
        views.legal_page,
        {"template_name": "pages/mentions_legales.html", "title": "Mentions légales"},
        name="legal_notice",
    ),
    path(
        "donnees-personnelles/",
        views.legal_page,
        {"template_name": "pages/donnees_personnelles.html", "title": "Données personnelles"},
        name="personal_data",
    ),
    path(
        "accessibilite/",
        views.legal_page,
        {"template_name": "pages/accessibilite.html", "title": "Accessibilité"},
        name="accessibility",
    ),
    *auth_patterns,
    path("tableau-de-bord/", views.dashboard, name="dashboard"),
    path("compte/", views.account, name="account"),
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/compteur/", views.notification_badge, name="notification_badge"),
    path("notifications/tout-lire/", views.notifications_mark_all_read, name="notifications_read"),
    path("notifications/<int:pk>/ouvrir/", views.notification_open, name="notification_open"),
    path("entreprise/", views.team, name="team"),
    path("entreprise/rejoindre/", views.company_join, name="company_join"),
    path(
        "entreprise/demandes/<int:pk>/accepter/",
        views.team_access_request_decide,
        {"accept": True},
        name="team_access_accept",
    ),
    path(
        "entreprise/demandes/<int:pk>/refuser/",
        views.team_access_request_decide,
        {"accept": False},
        name="team_access_refuse",
    ),
    path("entreprise/membres/<int:pk>/retirer/", views.team_member_remove, name="team_remove"),
    path(
        "entreprise/invitations/<int:pk>/retirer/",
        views.team_invitation_revoke,
        name="team_invitation_revoke",
    ),
    path("invitation/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("inscription/", views.signup, name="signup"),
    path("inscription/envoye/", views.signup_sent, name="signup_sent"),
    path("inscription/confirmation/", views.signup_pending, name="signup_pending"),
    path("inscription/confirmer/<uidb64>/<token>/", views.signup_confirm, name="signup_confirm"),
    path("cgu/", cgu, name="cgu"),
    path("candidatures/", include(candidature_patterns)),
    path("candidatures/<int:pk>/preuves/", include(dossier_patterns)),
    path("candidatures/<int:pk>/", include(phase3_patterns)),
    path("candidatures/<int:pk>/historique/", include(historique_patterns)),
    path("college/", include("college.urls")),
    path("instruction/", include(instruction_patterns)),
    path("statistiques/", statistics, name="statistics"),
    path("support/", include(support_patterns)),
    # One public registry: candidatures in progress (phases 1-2) and referenced software.
    path(
        "registre/",
        include(
            (
                [*registre_patterns[0], *registre_referencees_patterns, *registre_journal_patterns],
                registre_patterns[1],
            )
        ),
    ),
    path("verifier/", include(verifier_patterns)),
    path("referentiel/", include(referentiel_patterns)),
    path("fichiers/", include("preuves.urls")),
    path("administration/referentiel/", include(referentiel_admin_patterns)),
    path("admin/", admin.site.urls),
    # The editors' API (docs/API.md) and its pages in « Mon compte », « Mon entreprise ».
    *api_patterns,
    path("compte/api/", views_api.api_tokens_view, name="api_tokens"),
    path("compte/api/<int:pk>/revoquer/", views_api.api_token_revoke, name="api_token_revoke"),
    path("entreprise/webhooks/", views_webhooks.webhooks_view, name="webhooks"),
    path(
        "entreprise/webhooks/<int:pk>/secret/",
        views_webhooks.webhook_rotate,
        name="webhook_rotate",
    ),
    path(
        "entreprise/webhooks/<int:pk>/desactiver/",
        views_webhooks.webhook_disable,
        name="webhook_disable",
    ),
    path(
        "entreprise/webhooks/livraisons/<uuid:pk>/renvoyer/",
        views_webhooks.webhook_redeliver,
        name="webhook_redeliver",
    ),
]

handler403 = "segur_portal.errors.permission_denied"
handler404 = "segur_portal.errors.page_not_found"
handler500 = "segur_portal.errors.server_error"
