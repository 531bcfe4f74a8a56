from django.contrib import admin

from college.models import Attestation, Convention, Decision, Seance


class ReadOnlyAdmin(admin.ModelAdmin):
    """Phase-3 records change only through the portal's procedure, never by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Seance)
class SeanceAdmin(ReadOnlyAdmin):
    list_display = ["date", "status", "opened_at", "closed_at"]
    list_filter = ["status"]


@admin.register(Convention)
class ConventionAdmin(ReadOnlyAdmin):
    list_display = ["candidature", "issued_at", "signed_at", "signer_name"]
    search_fields = ["candidature__reference", "signer_name"]


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = ["inscription", "kind", "recorded_at", "notified_at"]
    list_filter = ["kind"]


@admin.register(Attestation)
class AttestationAdmin(ReadOnlyAdmin):
    list_display = ["numero", "candidature", "referenced_on", "status"]
    list_filter = ["status"]
    search_fields = ["numero", "candidature__nom_commercial"]
