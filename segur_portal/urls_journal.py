"""URLs of the journal: its public pages join the `registre` namespace (see
segur_portal.urls), a candidature's history and proofs have their own."""

from django.urls import path

from segur_portal import views_journal

registre_journal_patterns = [
    path("journal/", views_journal.journal_index, name="journal"),
    path("journal.json", views_journal.journal_json, name="journal_json"),
    path("journal.atom", views_journal.journal_atom, name="journal_atom"),
    path("journal/<str:day>/horodatage.tsr", views_journal.journal_token, name="journal_token"),
    path("evolutions/", views_journal.registre_changes, name="evolutions"),
    path("evolutions.atom", views_journal.registre_changes_atom, name="evolutions_atom"),
]

historique_patterns = (
    [
        path("", views_journal.candidature_history, name="page"),
        path("preuves.json", views_journal.candidature_proofs, name="preuves"),
    ],
    "historique",
)
