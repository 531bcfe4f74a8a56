"""Phase 3 through the views: rights per request and per object, errors at their field."""

import pytest
from django.urls import reverse

from candidatures.enums import CandidatureState
from candidatures.models import CguAcceptance
from candidatures.services.onboarding import current_cgu
from college import services
from college.models import Convention, Decision, Reserve
from tests.college.phase3 import mandataire, open_seance_with, signed_candidature
from tests.college.phase3 import validated_candidature as validated
from tests.factories import TEST_PASSWORD, UserFactory, company_user
from tests.preuves import samples
from tests.preuves.dossiers import upload

pytestmark = pytest.mark.django_db
S = CandidatureState


def _editor(client, candidature, **kwargs):
    user = mandataire(candidature) if not kwargs else company_user(candidature.editeur, **kwargs)
    if not CguAcceptance.objects.filter(user=user).exists():
        CguAcceptance.objects.create(user=user, cgu=current_cgu())
    client.force_login(user)
    return user


def test_the_convention_is_signed_from_its_page_with_errors_at_their_field(client):
    candidature = validated()
    convention = services.convention_issue(candidature=candidature, actor=candidature.instructeur)
    _editor(client, candidature)
    detail = client.get(reverse("candidatures:detail", args=[candidature.pk])).content.decode()
    assert "Lire et signer la convention" in detail
    url = reverse("phase3:convention_sign", args=[candidature.pk])
    page = client.get(url).content.decode()
    assert convention.sha256 in page and candidature.editeur.raison_sociale in page
    response = client.post(url, {"document_sha256": convention.sha256, "password": "faux"})
    assert response.status_code == 400
    content = response.content.decode()
    assert "Cochez la case pour exprimer votre consentement à signer." in content
    response = client.post(
        url, {"document_sha256": convention.sha256, "password": "faux", "consent": "on"}
    )
    assert "Mot de passe incorrect" in response.content.decode()
    response = client.post(
        url, {"document_sha256": convention.sha256, "password": TEST_PASSWORD, "consent": "on"}
    )
    assert response.status_code == 302
    convention.refresh_from_db()
    assert convention.is_signed
    detail = client.get(reverse("candidatures:detail", args=[candidature.pk])).content.decode()
    assert "Convention signée (PDF)" in detail and "Inscrite à la séance du collège" in detail


def test_a_salarie_reads_the_convention_but_cannot_sign_it(client):
    candidature = validated()
    services.convention_issue(candidature=candidature, actor=candidature.instructeur)
    _editor(client, candidature, company_role="salarie")
    detail = client.get(reverse("candidatures:detail", args=[candidature.pk])).content.decode()
    assert "À signer par le mandataire" in detail
    assert client.get(reverse("phase3:convention_sign", args=[candidature.pk])).status_code == 403


def test_another_company_gets_404_on_the_phase_3_actions(client):
    candidature = validated()
    services.convention_issue(candidature=candidature, actor=candidature.instructeur)
    intruder = UserFactory(mandataire=True)
    CguAcceptance.objects.create(user=intruder, cgu=current_cgu())
    client.force_login(intruder)
    for name in ("convention_sign", "convention_issue", "levee_refuse", "dereference"):
        assert client.post(reverse(f"phase3:{name}", args=[candidature.pk])).status_code == 404


def test_college_pages_are_for_the_agency(client):
    candidature = signed_candidature()
    _editor(client, candidature)
    assert client.get(reverse("college:seances")).status_code == 403
    seance = candidature.inscriptions.get().seance
    assert client.get(reverse("college:seance", args=[seance.pk])).status_code == 403


def test_a_seance_is_held_from_its_page(client, django_capture_on_commit_callbacks):
    candidature = signed_candidature()
    seance, (member,) = open_seance_with(candidature)
    client.force_login(member)
    url = reverse("college:seance", args=[seance.pk])
    page = client.get(url).content.decode()
    assert candidature.nom_commercial in page and "Enregistrer la décision" in page
    inscription = seance.inscriptions.get()
    decision_url = reverse("college:decision", args=[inscription.pk])
    refused = client.post(
        decision_url,
        {
            f"decision-{inscription.pk}-kind": "reserves_non_bloquantes",
            f"decision-{inscription.pk}-text": "Corrections mineures.",
            f"reserves-{inscription.pk}-TOTAL_FORMS": "2",
            f"reserves-{inscription.pk}-INITIAL_FORMS": "0",
            f"reserves-{inscription.pk}-0-text": "Afficher l’INS",
            f"reserves-{inscription.pk}-0-exigences": "INS.01, ZZ.99",
            f"reserves-{inscription.pk}-1-text": "",
            f"reserves-{inscription.pk}-1-exigences": "",
        },
    )
    assert refused.status_code == 400
    content = refused.content.decode()
    assert "Réserve 1 : ZZ.99 ne figure pas dans le REM de la candidature." in content
    assert "Corrections mineures." in content and "INS.01, ZZ.99" in content  # kept
    assert not Decision.objects.exists()
    response = client.post(
        decision_url,
        {
            f"decision-{inscription.pk}-kind": "reserves_non_bloquantes",
            f"decision-{inscription.pk}-text": "Corrections mineures.",
            f"reserves-{inscription.pk}-TOTAL_FORMS": "1",
            f"reserves-{inscription.pk}-INITIAL_FORMS": "0",
            f"reserves-{inscription.pk}-0-text": "Afficher l’INS",
            f"reserves-{inscription.pk}-0-exigences": "INS.01",
        },
    )
    assert response.status_code == 302
    assert Reserve.objects.get().exigences.get().identifier == "INS.01"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("college:seance_close", args=[seance.pk]))
    candidature.refresh_from_db()
    assert candidature.state == S.RESERVES_NON_BLOQUANTES
    assert "Procès-verbal de la séance (PDF)" in client.get(url).content.decode()


def test_a_reserve_is_answered_from_the_candidature_page(
    client, django_capture_on_commit_callbacks
):
    candidature = signed_candidature()
    seance, (member,) = open_seance_with(candidature)
    services.decision_record(
        inscription=seance.inscriptions.get(), actor=member, kind="reserves_non_bloquantes",
        text="À corriger.", reserves=[services.ReserveInput("Afficher l’INS", ["INS.01"])],
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        services.seance_close(seance=seance, actor=member)
    reserve = Reserve.objects.get()
    _editor(client, candidature)
    url = reverse("college:reserve_answer", args=[reserve.pk])
    prefix = f"reserve-{reserve.pk}"
    response = client.post(url, {f"{prefix}-comment": "Corrigé."})
    assert response.status_code == 400
    assert "Joignez au moins un fichier qui prouve la correction." in response.content.decode()
    assert "Corrigé." in response.content.decode()  # the comment typed is kept
    response = client.post(
        url,
        {
            f"{prefix}-comment": "Corrigé en 4.2.2.",
            f"{prefix}-fichiers": [upload("ins.png", samples.png_bytes())],
        },
    )
    assert response.status_code == 302
    candidature.refresh_from_db()
    assert candidature.state == S.LEVEE_SOUMISE
    client.force_login(candidature.instructeur)
    page = client.get(reverse("candidatures:detail", args=[candidature.pk])).content.decode()
    assert "Lever la réserve 1" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("college:reserve_lift", args=[reserve.pk]))
    candidature.refresh_from_db()
    assert candidature.state == S.REFERENCEE
    _editor(client, candidature)
    page = client.get(reverse("candidatures:detail", args=[candidature.pk])).content.decode()
    assert "Télécharger l’attestation (PDF)" in page
    assert candidature.attestation.numero in page


def test_another_company_gets_404_on_a_reserve(client):
    candidature = signed_candidature()
    seance, (member,) = open_seance_with(candidature)
    services.decision_record(
        inscription=seance.inscriptions.get(), actor=member, kind="reserves_non_bloquantes",
        text="À corriger.", reserves=[services.ReserveInput("Afficher l’INS", [])],
    )  # fmt: skip
    services.seance_close(seance=seance, actor=member)
    intruder = UserFactory(mandataire=True)
    CguAcceptance.objects.create(user=intruder, cgu=current_cgu())
    client.force_login(intruder)
    reserve = Reserve.objects.get()
    for name in ("reserve_answer", "reserve_lift", "reserve_return"):
        assert client.post(reverse(f"college:{name}", args=[reserve.pk])).status_code == 404


def test_convention_page_refuses_when_nothing_is_to_sign(client):
    candidature = validated()
    _editor(client, candidature)
    assert not Convention.objects.exists()
    assert client.get(reverse("phase3:convention_sign", args=[candidature.pk])).status_code == 403


def test_the_college_dashboard_shows_the_next_seance_and_its_agenda(client):
    candidature = signed_candidature()
    client.force_login(UserFactory(college=True))
    content = client.get(reverse("dashboard")).content.decode()
    assert "Prochaine séance" in content
    assert f"{candidature.nom_commercial} {candidature.version_technique}" in content


def test_a_dereferencing_without_reason_keeps_the_page_and_says_why(
    client, django_capture_on_commit_callbacks
):
    candidature = signed_candidature()
    seance, (member,) = open_seance_with(candidature)
    services.decision_record(inscription=seance.inscriptions.get(), actor=member,
                             kind="sans_reserve", text="Conforme.", reserves=[])  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        services.seance_close(seance=seance, actor=member)
    client.force_login(UserFactory(admin=True))
    url = reverse("phase3:dereference", args=[candidature.pk])
    response = client.post(url, {"reason": "   "})
    assert response.status_code == 400
    content = response.content.decode()
    assert "Motivez le déréférencement : il est rendu public." in content
    assert '<details class="fr-mt-2w" open><summary>Déréférencer ce logiciel' in content
    candidature.refresh_from_db()
    assert candidature.state == S.REFERENCEE
