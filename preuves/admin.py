from django.contrib import admin

from preuves.models import Fichier, FichierDownload


class ReadOnlyAdmin(admin.ModelAdmin):
    """Files change only through the services (storage and row together)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Fichier)
class FichierAdmin(ReadOnlyAdmin):
    list_display = [
        "original_name",
        "editeur",
        "status",
        "detected_mime",
        "size",
        "uploaded_by",
        "uploaded_at",
        "checked_at",
    ]
    list_filter = ["status", "uploaded_at"]
    list_select_related = ["editeur", "uploaded_by"]
    search_fields = ["original_name", "sha256", "editeur__raison_sociale", "uploaded_by__email"]
    date_hierarchy = "uploaded_at"


@admin.register(FichierDownload)
class FichierDownloadAdmin(ReadOnlyAdmin):
    list_display = ["fichier", "user", "at", "ip_address"]
    list_select_related = ["fichier", "user"]
    search_fields = ["fichier__original_name", "user__email", "ip_address"]
    date_hierarchy = "at"
