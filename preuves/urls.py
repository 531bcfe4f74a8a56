from django.urls import path

from preuves import views, views_dossier

app_name = "preuves"
urlpatterns = [
    path("<uuid:pk>/", views.fichier_download, name="download"),
    path("<uuid:pk>/statut/", views.fichier_status, name="status"),
]


dossier_patterns = (
    [
        path("", views_dossier.dossier_page, name="page"),
        path("synthese/", views_dossier.summary_fragment, name="summary"),
        path(
            "exigences/<int:exigence_id>/preuves/<int:preuve_id>/",
            views_dossier.item_fragment,
            name="item",
        ),
        path(
            "exigences/<int:exigence_id>/preuves/<int:preuve_id>/fichiers/",
            views_dossier.depot_upload,
            name="upload",
        ),
        path(
            "exigences/<int:exigence_id>/preuves/<int:preuve_id>/lien/",
            views_dossier.depot_link,
            name="link",
        ),
        path("depots/<int:depot_id>/retirer/", views_dossier.depot_remove, name="remove"),
        path("cnda/", views_dossier.cnda_status, name="cnda"),
        path("soumettre/", views_dossier.dossier_submit, name="submit"),
        path("instruction/prendre/", views_dossier.instruction_take, name="take"),
        path("instruction/verdict/", views_dossier.verdict_record, name="verdict"),
        path("instruction/complement/", views_dossier.complement_request, name="complement"),
        path("instruction/clore/", views_dossier.instruction_close, name="close"),
        path("instruction/visite/", views_dossier.visite_schedule, name="visite"),
        path("visite/enregistrement/", views_dossier.visite_recording, name="recording"),
    ],
    "dossier",
)
