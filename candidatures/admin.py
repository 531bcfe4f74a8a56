from django.contrib import admin

from candidatures.models import (
    Campagne,
    Candidature,
    CandidatureTransition,
    Cgu,
    Couloir,
    Dsr,
    Editeur,
    EditeurChange,
    Exigence,
    PreuveAttendue,
    Profil,
    RemVersion,
    Sollicitation,
)
from candidatures.services.referentiel import preuve_attendue_set_kind


@admin.register(Editeur)
class EditeurAdmin(admin.ModelAdmin):
    list_display = ["raison_sociale", "siret", "created_at"]
    search_fields = ["raison_sociale", "siret"]


class ProfilInline(admin.TabularInline):
    model = Profil
    extra = 0


@admin.register(Couloir)
class CouloirAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]


@admin.register(Dsr)
class DsrAdmin(admin.ModelAdmin):
    list_display = ["code", "title", "wave", "couloir"]
    list_filter = ["wave", "couloir"]
    search_fields = ["code", "title"]
    inlines = [ProfilInline]


@admin.register(RemVersion)
class RemVersionAdmin(admin.ModelAdmin):
    list_display = ["dsr", "label", "status", "published_on", "imported_at", "imported_by"]
    list_filter = ["status", "dsr"]
    # Versions change only through the import, publish and discard services.
    readonly_fields = [field.name for field in RemVersion._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Exigence)
class ExigenceAdmin(admin.ModelAdmin):
    list_display = ["identifier", "rem_version", "profil", "nature", "perimetre"]
    list_filter = ["nature", "perimetre", "rem_version__dsr"]
    search_fields = ["identifier", "statement"]
    readonly_fields = [field.name for field in Exigence._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(PreuveAttendue)
class PreuveAttendueAdmin(admin.ModelAdmin):
    list_display = ["identifier", "scenario", "kind", "kind_rule", "kind_corrected_by"]
    list_filter = ["kind", "kind_rule", "scenario__exigence__rem_version__dsr"]
    search_fields = ["identifier", "text"]
    fields = ["scenario", "identifier", "text", "kind", "kind_rule", "kind_corrected_by"]
    readonly_fields = ["scenario", "identifier", "text", "kind_rule", "kind_corrected_by"]

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        preuve_attendue_set_kind(
            preuve=PreuveAttendue.objects.get(pk=obj.pk), kind=obj.kind, actor=request.user
        )


@admin.register(Campagne)
class CampagneAdmin(admin.ModelAdmin):
    list_display = ["dsr", "label", "j1", "j2", "j7"]
    list_filter = ["dsr"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by the services only: visible, never edited by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TransitionInline(admin.TabularInline):
    model = CandidatureTransition
    extra = 0
    can_delete = False
    readonly_fields = ["at", "name", "from_state", "to_state", "actor", "reason"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Candidature)
class CandidatureAdmin(ReadOnlyAdmin):
    list_display = [
        "reference",
        "nom_commercial",
        "version_technique",
        "editeur",
        "state",
        "created_at",
    ]
    list_filter = ["state", "campagne__dsr"]
    search_fields = ["nom_commercial", "version_technique", "editeur__raison_sociale"]
    inlines = [TransitionInline]


@admin.register(Sollicitation)
class SollicitationAdmin(ReadOnlyAdmin):
    list_display = ["candidature", "phase", "status", "opened_at", "due_at", "answered_at"]
    list_filter = ["phase", "status"]


@admin.register(EditeurChange)
class EditeurChangeAdmin(ReadOnlyAdmin):
    list_display = ["editeur", "field", "changed_by", "changed_at"]


@admin.register(Cgu)
class CguAdmin(admin.ModelAdmin):
    """A new version is published by adding it; editors accept it before any deposit."""

    list_display = ["version", "published_at"]

    def has_change_permission(self, request, obj=None):
        # An accepted text never changes: publish a new version instead.
        return obj is None or not obj.acceptances.exists()

    def has_delete_permission(self, request, obj=None):
        return obj is not None and not obj.acceptances.exists()
