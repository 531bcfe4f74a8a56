from django.urls import path

from college import views

app_name = "college"
urlpatterns = [
    path("", views.seance_list, name="seances"),
    path("seances/<int:pk>/", views.seance_detail, name="seance"),
    path("seances/<int:pk>/ouvrir/", views.seance_open, name="seance_open"),
    path("seances/<int:pk>/presence/", views.seance_presence, name="seance_presence"),
    path("seances/<int:pk>/clore/", views.seance_close, name="seance_close"),
    path("inscriptions/<int:pk>/conflit/", views.conflict_declare, name="conflict"),
    path("inscriptions/<int:pk>/decision/", views.decision_record, name="decision"),
    path("reserves/<int:pk>/reponse/", views.reserve_answer, name="reserve_answer"),
    path("reserves/<int:pk>/lever/", views.reserve_lift, name="reserve_lift"),
    path("reserves/<int:pk>/renvoyer/", views.reserve_return, name="reserve_return"),
]

# Under candidatures/<int:pk>/ : the phase-3 actions on one candidature.
candidature_patterns = (
    [
        path("convention/signer/", views.convention_sign, name="convention_sign"),
        path("convention/emettre/", views.convention_issue, name="convention_issue"),
        path("levee/refuser/", views.levee_refuse, name="levee_refuse"),
        path("dereferencer/", views.dereference, name="dereference"),
    ],
    "phase3",
)
