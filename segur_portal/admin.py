from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from dsfr.models import DsfrConfig

from segur_portal.admin_tables import LargeTableAdmin
from segur_portal.forms import AdminUserChangeForm, AdminUserCreationForm
from segur_portal.journal_events import journal_account
from segur_portal.models import (
    AccessRequest,
    Invitation,
    Notification,
    OutboundEmail,
    PeriodicRun,
    User,
)

# Rights come from User.role; Django's groups are not used. The design system's
# settings are fixed in segur_portal.context_processors, not stored.
admin.site.unregister(Group)
admin.site.unregister(DsfrConfig)

ROLE_FIELDS = {"role", "editeur", "company_role", "is_active"}


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = AdminUserChangeForm
    add_form = AdminUserCreationForm
    ordering = ["last_name", "first_name"]
    list_display = [
        "email",
        "last_name",
        "first_name",
        "role",
        "editeur",
        "company_role",
        "is_active",
    ]
    list_filter = ["role", "company_role", "is_active"]
    # The company of each row read with it: 2 queries for the page, not one per person.
    list_select_related = ["editeur"]
    show_full_result_count = False
    search_fields = ["email", "last_name", "first_name", "editeur__raison_sociale"]
    autocomplete_fields = ["editeur"]
    readonly_fields = ["date_joined", "last_login", "removed_at", "removed_by"]
    filter_horizontal = []
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Identité", {"fields": ["first_name", "last_name"]}),
        ("Rôle", {"fields": ["role", "editeur", "company_role", "is_active"]}),
        ("Traces", {"fields": ["date_joined", "last_login", "removed_at", "removed_by"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": [
                    "email",
                    "first_name",
                    "last_name",
                    "role",
                    "editeur",
                    "company_role",
                    "password1",
                    "password2",
                ],
            },
        )
    ]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # The administration changes roles and access outside the services: the journal
        # records it all the same (the admin view runs in one transaction).
        changed = sorted(ROLE_FIELDS & set(form.changed_data))
        if changed or not change:
            journal_account(
                obj,
                event="administration" if change else "administration_creation",
                actor=request.user,
                fields=changed,
            )


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "editeur", "company_role", "created_at", "expires_at", "accepted_at"]
    list_filter = ["company_role"]
    search_fields = ["email", "editeur__raison_sociale"]
    exclude = ["token_hash"]
    readonly_fields = ["accepted_user", "accepted_at", "invited_by", "created_at"]


@admin.register(AccessRequest)
class AccessRequestAdmin(admin.ModelAdmin):
    """Read only: the company's mandataire decides, in « Mon entreprise »."""

    list_display = ["requester", "siret", "editeur", "status", "created_at", "decided_by"]
    list_filter = ["status"]
    search_fields = ["requester__email", "siret", "editeur__raison_sociale"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(LargeTableAdmin):
    list_display = ["title", "recipient", "created_at", "read_at"]
    list_select_related = ["recipient"]
    ordering = ["-pk"]
    search_fields = ["title"]
    search_by = {"email": "recipient__email", "text": "title__icontains"}
    search_help_text = "Adresse électronique du destinataire, ou objet (3 caractères au moins)."
    raw_id_fields = ["recipient"]


@admin.register(OutboundEmail)
class OutboundEmailAdmin(LargeTableAdmin):
    list_display = ["subject", "to", "created_at", "sent_at", "attempts", "failed_at", "last_error"]
    list_filter = [
        ("failed_at", admin.EmptyFieldListFilter),
        ("sent_at", admin.EmptyFieldListFilter),
    ]
    ordering = ["-pk"]
    search_fields = ["subject"]
    search_by = {"email": "to", "text": "subject__icontains"}
    search_help_text = "Adresse du destinataire, ou objet (3 caractères au moins)."
    readonly_fields = ["notification"]


@admin.register(PeriodicRun)
class PeriodicRunAdmin(admin.ModelAdmin):
    list_display = ["name", "last_started_at", "last_finished_at", "late_alerted_at", "last_error"]
