from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from dsfr.models import DsfrConfig

from segur_portal.forms import AdminUserChangeForm, AdminUserCreationForm
from segur_portal.models import Invitation, Notification, OutboundEmail, PeriodicRun, User

# Rights come from User.role; Django's groups are not used. The design system's
# settings are fixed in segur_portal.context_processors, not stored.
admin.site.unregister(Group)
admin.site.unregister(DsfrConfig)


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


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "editeur", "company_role", "created_at", "expires_at", "accepted_at"]
    list_filter = ["company_role"]
    search_fields = ["email", "editeur__raison_sociale"]
    exclude = ["token_hash"]
    readonly_fields = ["accepted_user", "accepted_at", "invited_by", "created_at"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["title", "recipient", "created_at", "read_at"]
    search_fields = ["title", "recipient__email"]
    raw_id_fields = ["recipient"]


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    list_display = ["subject", "to", "created_at", "sent_at", "attempts"]
    search_fields = ["subject", "to"]
    readonly_fields = ["notification"]


@admin.register(PeriodicRun)
class PeriodicRunAdmin(admin.ModelAdmin):
    list_display = ["name", "last_started_at", "last_finished_at", "last_error"]
