from django.contrib import admin

from preuves.models import Depot, Fichier, FichierDownload
from segur_portal.admin_tables import LargeTableAdmin


class ReadOnlyAdmin(LargeTableAdmin):
    """Files change only through the services (storage and row together); a million of
    them list page by page (LargeTableAdmin)."""

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
    # Index fichier_uploaded; the name through its trigram index (fichier_name_trgm).
    ordering = ["-uploaded_at"]
    search_fields = ["original_name"]
    search_by = {
        "sha256": "sha256",
        "uuid": "pk",
        "text": "original_name__icontains",
    }
    search_help_text = (
        "Nom du fichier (3 caractères au moins), empreinte SHA-256 complète ou identifiant."
    )


@admin.register(Depot)
class DepotAdmin(ReadOnlyAdmin):
    list_display = ["candidature", "exigence", "fichier", "url", "deposited_at", "removed_at"]
    list_filter = [("removed_at", admin.EmptyFieldListFilter)]
    list_select_related = ["candidature__editeur", "exigence", "fichier"]
    ordering = ["-pk"]
    search_fields = ["fichier__original_name"]
    search_by = {"number": "candidature_id", "text": "fichier__original_name__icontains"}
    search_help_text = "Numéro de la candidature, ou nom du fichier (3 caractères au moins)."


@admin.register(FichierDownload)
class FichierDownloadAdmin(ReadOnlyAdmin):
    list_display = ["fichier", "user", "kind", "at", "ip_address"]
    list_filter = ["kind", "at"]
    list_select_related = ["fichier", "user"]
    ordering = ["-pk"]
    search_fields = ["fichier__original_name"]
    search_by = {
        "email": "user__email",
        "ip": "ip_address",
        "uuid": "fichier_id",
        "text": "fichier__original_name__icontains",
    }
    search_help_text = (
        "Adresse électronique de l’utilisateur, adresse IP, identifiant du fichier ou nom du "
        "fichier (3 caractères au moins)."
    )
