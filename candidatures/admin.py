from django.contrib import admin

from candidatures.models import (
    Campagne,
    Candidature,
    CandidatureRemMove,
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
    SupportDemande,
)
from candidatures.services.referentiel import preuve_attendue_set_kind
from segur_portal.admin_tables import LargeTableAdmin


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


class ReadOnlyAdmin(LargeTableAdmin):
    """Records written by the services only: visible, never edited by hand; listed a
    page at a time however many (LargeTableAdmin)."""

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


class RemMoveInline(admin.TabularInline):
    model = CandidatureRemMove
    fk_name = "candidature"
    extra = 0
    can_delete = False
    readonly_fields = ["at", "from_version", "to_version", "actor", "reason"]
    exclude = ["impact"]

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
    list_select_related = ["editeur"]
    ordering = ["-pk"]
    search_fields = ["nom_commercial", "version_technique", "editeur__raison_sociale"]
    inlines = [TransitionInline, RemMoveInline]

    def get_search_results(self, request, queryset, search_term):
        # Ten thousand candidatures: the texts are searched as Django does, a number
        # (C-000123 without its prefix) finds the candidature itself.
        term = search_term.strip().removeprefix("C-")
        if term.isdigit():
            return queryset.filter(pk=int(term)), False
        return super().get_search_results(request, queryset, search_term)


@admin.register(Sollicitation)
class SollicitationAdmin(ReadOnlyAdmin):
    list_display = ["candidature", "phase", "status", "opened_at", "due_at", "answered_at"]
    list_filter = ["phase", "status"]
    list_select_related = ["candidature__editeur"]
    ordering = ["-pk"]
    search_by = {"number": "candidature_id"}
    search_fields = ["candidature__id"]
    search_help_text = "Numéro de la candidature."


@admin.register(SupportDemande)
class SupportDemandeAdmin(ReadOnlyAdmin):
    list_display = ["subject", "editeur", "created_at", "last_message_at", "waiting_since"]
    list_select_related = ["editeur"]
    search_fields = ["subject", "editeur__raison_sociale"]


@admin.register(EditeurChange)
class EditeurChangeAdmin(ReadOnlyAdmin):
    list_display = ["editeur", "field", "changed_by", "changed_at"]
    list_select_related = ["editeur", "changed_by"]


@admin.register(Cgu)
class CguAdmin(admin.ModelAdmin):
    """A new version is published by adding it; editors accept it before any deposit."""

    list_display = ["version", "published_at"]

    def has_change_permission(self, request, obj=None):
        # An accepted text never changes: publish a new version instead.
        return obj is None or not obj.acceptances.exists()

    def has_delete_permission(self, request, obj=None):
        return obj is not None and not obj.acceptances.exists()
