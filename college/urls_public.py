"""Public URLs of phase 3. The registry's join the `registre` namespace of the lists of
candidatures in progress (see segur_portal.urls); the verification has its own."""

from django.urls import path

from college import views_public

registre_referencees_patterns = [
    path("", views_public.referencees, name="referencees"),
    path("referencees.csv", views_public.referencees_csv, name="referencees_csv"),
    path("referencees.json", views_public.referencees_json, name="referencees_json"),
]

verifier_patterns = (
    [
        path("", views_public.lookup, name="lookup"),
        path("certificat/", views_public.certificat, name="certificat"),
        path("certificat/cachet.pem", views_public.certificat_cachet, name="certificat_cachet"),
        path("certificat/ac.pem", views_public.certificat_racines, name="certificat_racines"),
        path("<str:numero>/", views_public.attestation, name="attestation"),
    ],
    "verifier",
)
