from django.urls import path

from preuves import views, views_dossier, views_lots, views_review

app_name = "preuves"
urlpatterns = [
    path("<uuid:pk>/", views.fichier_download, name="download"),
    path("<uuid:pk>/statut/", views.fichier_status, name="status"),
    path("<uuid:pk>/apercu/", views.fichier_preview, name="preview"),
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
        path("depots/<int:depot_id>/reutiliser/", views_dossier.depot_reuse, name="reuse"),
        path("lots/", views_lots.lot_new, name="lot_new"),
        path("lots/<uuid:lot_id>/", views_lots.lot_page, name="lot"),
        path("lots/<uuid:lot_id>/fichiers/", views_lots.lot_files, name="lot_files"),
        path("lots/<uuid:lot_id>/confirmer/", views_lots.lot_confirm, name="lot_confirm"),
        path("lots/<uuid:lot_id>/abandonner/", views_lots.lot_discard, name="lot_discard"),
        path("lots/<uuid:lot_id>/suivi/", views_lots.lot_progress, name="lot_progress"),
        path("cnda/", views_dossier.cnda_status, name="cnda"),
        path(
            "cnda/exigences/<int:exigence_id>/preuves/<int:preuve_id>/",
            views_dossier.cnda_deposit,
            name="cnda_deposit",
        ),
        path("cnda/certifier/", views_dossier.cnda_certify, name="cnda_certify"),
        path("soumettre/", views_dossier.dossier_submit, name="submit"),
        path("instruction/prendre/", views_dossier.instruction_take, name="take"),
        path("instruction/verdict/", views_dossier.verdict_record, name="verdict"),
        path("instruction/complement/", views_dossier.complement_request, name="complement"),
        path("instruction/clore/", views_dossier.instruction_close, name="close"),
        path("instruction/visite/", views_dossier.visite_schedule, name="visite"),
        path("visite/enregistrement/", views_dossier.visite_recording, name="recording"),
        path("revue/", views_review.review_page, name="review"),
        path(
            "revue/exigences/<int:exigence_id>/verdict/",
            views_review.review_verdict,
            name="review_verdict",
        ),
        path("revue/lot/", views_review.review_bulk, name="review_bulk"),
        path("revue/consultations/", views_review.review_consultations, name="consultations"),
        path("archive.zip", views_review.dossier_archive, name="archive"),
    ],
    "dossier",
)
