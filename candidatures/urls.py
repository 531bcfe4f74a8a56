from django.urls import path

from candidatures.views import (
    candidature,
    echanges,
    instruction,
    onboarding,
    referentiel,
    referentiel_admin,
    registre,
    support,
)

referentiel_patterns = (
    [
        path("", referentiel.dsr_list, name="list"),
        path("<str:code>/", referentiel.dsr_detail, name="dsr"),
        path("<str:code>/rem/", referentiel.rem_detail, name="rem"),
        path("<str:code>/rem.csv", referentiel.rem_csv, name="rem_csv"),
        path("<str:code>/versions/<int:version_id>/evolutions/", referentiel.rem_diff, name="diff"),
    ],
    "referentiel",
)

referentiel_admin_patterns = (
    [
        path("", referentiel_admin.home, name="home"),
        path("<str:code>/import/", referentiel_admin.rem_import, name="import"),
        path("versions/<int:pk>/", referentiel_admin.version_preview, name="version"),
        path("versions/<int:pk>/publier/", referentiel_admin.version_publish, name="publish"),
        path("versions/<int:pk>/supprimer/", referentiel_admin.version_discard, name="discard"),
        path("preuves/<int:pk>/type/", referentiel_admin.preuve_kind, name="proof_kind"),
        path(
            "<str:code>/campagnes/nouvelle/", referentiel_admin.campagne_edit, name="campagne_new"
        ),
        path(
            "<str:code>/campagnes/<int:pk>/", referentiel_admin.campagne_edit, name="campagne_edit"
        ),
    ],
    "referentiel_admin",
)

candidature_patterns = (
    [
        path("", candidature.candidature_list, name="list"),
        path("nouvelle/", candidature.candidature_new, name="new"),
        path("entreprise/declarer/", onboarding.editeur_declare, name="editeur_declare"),
        path("entreprise/modifier/", onboarding.editeur_edit, name="editeur_edit"),
        path("<int:pk>/", candidature.candidature_detail, name="detail"),
        path("<int:pk>/administratif/", candidature.candidature_admin_edit, name="admin_edit"),
        path("<int:pk>/soumettre/", candidature.submit_admin, name="submit_admin"),
        path("<int:pk>/valider/", candidature.validate_admin, name="validate_admin"),
        path("<int:pk>/eligibilite/", candidature.eligibility_edit, name="eligibility"),
        path("<int:pk>/eligibilite/parc/", candidature.parc_upload, name="parc_upload"),
        path(
            "<int:pk>/eligibilite/formulaire/",
            candidature.eligibility_read,
            name="eligibility_read",
        ),
        path(
            "<int:pk>/eligibilite/soumettre/",
            candidature.submit_eligibility,
            name="submit_eligibility",
        ),
        path(
            "<int:pk>/eligibilite/valider/",
            candidature.validate_eligibility,
            name="validate_eligibility",
        ),
        path("<int:pk>/rejeter/", candidature.reject, name="reject"),
        path("<int:pk>/retirer/", candidature.withdraw, name="withdraw"),
        path("<int:pk>/rem/", candidature.rem_move, name="rem_move"),
        path("<int:pk>/solliciter/", echanges.sollicitation_open, name="sollicitation_open"),
        path(
            "<int:pk>/sollicitations/<int:sid>/repondre/",
            echanges.sollicitation_answer,
            name="sollicitation_answer",
        ),
        path(
            "<int:pk>/sollicitations/<int:sid>/clore/",
            echanges.sollicitation_close,
            name="sollicitation_close",
        ),
        path(
            "<int:pk>/sollicitations/<int:sid>/statut/",
            echanges.sollicitation_status,
            name="sollicitation_status",
        ),
    ],
    "candidatures",
)

instruction_patterns = (
    [
        path("", instruction.queues, name="queue"),
        path("<str:phase>/", instruction.queues, name="queue_phase"),
    ],
    "instruction",
)

registre_patterns = (
    [
        path("en-cours/", registre.en_cours, name="en_cours"),
        path("en-cours.csv", registre.en_cours_csv, name="en_cours_csv"),
        path("en-cours.json", registre.en_cours_json, name="en_cours_json"),
        path("parcs/", registre.parc_index, name="parc_index"),
        path("parcs/modele.csv", registre.parc_model, name="parc_model"),
        path("parcs/<int:pk>/", registre.parc, name="parc"),
    ],
    "registre",
)

support_patterns = (
    [
        path("", support.support_home, name="home"),
        path("ans/", support.support_inbox, name="inbox"),
        path("<int:pk>/", support.support_demande, name="demande"),
        path("<int:pk>/repondre/", support.support_message, name="message"),
    ],
    "support",
)
