"""Phase 3 through the views: rights per request and per object, errors at their field."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from candidatures.enums import CandidatureState
from candidatures.models import CguAcceptance
from candidatures.services.onboarding import current_cgu
from college import services
from college.models import Convention, Decision, Reserve, Seance
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
    seance, (member, *_) = open_seance_with(candidature)
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
    seance, (member, *_) = open_seance_with(candidature)
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
    seance, (member, *_) = open_seance_with(candidature)
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
    seance, (member, *_) = open_seance_with(candidature)
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


def test_the_agenda_and_the_decision_form_say_the_cnda_homologations_are_pending(client):
    pending, obtained = signed_candidature(cnda_pending=True), signed_candidature()
    seance, (member, *_) = open_seance_with(pending, obtained)
    client.force_login(member)
    url = reverse("college:seance", args=[seance.pk])
    page = client.get(url).content.decode()
    assert page.count("Homologations CNDA : ") == 2
    assert "non obtenues</span> En cours actif au CNDA — preuve INS.01.02.01 manquante" in page
    assert "obtenues</span> Certifiées — preuve acceptée." in page
    inscription = seance.inscriptions.get(candidature=pending)
    # The hint at the decision field, before anyone tries.
    assert (
        f'id="id_decision-{inscription.pk}-kind_helptext">Référencement sans réserve impossible.'
        in page
    )
    response = client.post(
        reverse("college:decision", args=[inscription.pk]),
        {
            f"decision-{inscription.pk}-kind": "sans_reserve",
            f"decision-{inscription.pk}-text": "Conforme au REM.",
            f"reserves-{inscription.pk}-TOTAL_FORMS": "0",
            f"reserves-{inscription.pk}-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 400
    content = response.content.decode()
    error = content[content.index(f'id="id_decision-{inscription.pk}-kind-desc-error"') :]
    assert "Homologations CNDA non obtenues" in error[:1500]
    assert "Conforme au REM." in content  # what was typed is kept
    assert not Decision.objects.exists()


def test_the_seance_page_shows_the_quorum_and_names_what_the_closing_makes_final(client):
    decided, undecided, conflicted = (signed_candidature() for _ in range(3))
    seance, (member, other) = open_seance_with(decided, undecided, conflicted, members=2)
    by = {i.candidature_id: i for i in seance.inscriptions.all()}
    services.decision_record(inscription=by[decided.pk], actor=member, kind="sans_reserve",
                             text="Conforme.", reserves=[])  # fmt: skip
    services.conflict_declare(inscription=by[conflicted.pk], actor=other)
    client.force_login(member)
    page = client.get(reverse("college:seance", args=[seance.pk])).content.decode()
    assert "Quorum : 2 membres présents sans conflit d’intérêts pour chaque décision" in page
    assert page.count("Membres présents sans conflit d’intérêts : 2 (quorum : 2).") == 2
    assert "Membres présents sans conflit d’intérêts : 1 (quorum : 2)." in page
    # No decision form where the quorum is not reached: why, instead.
    conflicted_item = page[page.index(f'id="inscription-{by[conflicted.pk].pk}"') :]
    assert "Quorum non atteint : 1 membre présent sans conflit" in conflicted_item
    assert f'action="/college/inscriptions/{by[conflicted.pk].pk}/decision/"' not in page
    # The confirmation names each outcome; the button still posts without script.
    modal = page[page.index('<dialog id="confirmer-cloture"') :]
    assert f"{decided.reference} — {decided.nom_commercial}" in modal
    assert "Référencement attribué sans réserve — notifiée à l’éditeur ; attestation" in modal
    assert f"{undecided.reference} — " in modal and "Non examinée en séance du" in modal
    assert "Quorum non atteint en séance du " in modal
    assert 'form="clore-seance"' in modal
    assert '<form method="post" action="/college/seances/' in page
    assert 'id="clore-seance"' in page and 'data-confirm="confirmer-cloture"' in page


def test_a_closed_seance_and_the_candidature_say_why_it_was_carried_over(
    client, django_capture_on_commit_callbacks
):
    candidature = signed_candidature()
    seance, (member, other) = open_seance_with(candidature, members=2)
    services.seance_presence_set(seance=seance, actor=member, user_id=other.pk, present=False)
    client.force_login(member)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("college:seance_close", args=[seance.pk]), follow=True)
    content = response.content.decode()
    assert "1 candidature(s) reportée(s) à la séance suivante, avec le motif." in content
    assert "Reportée à la séance suivante : Quorum non atteint en séance du " in content
    client.force_login(mandataire(candidature))
    detail = client.get(reverse("candidatures:detail", args=[candidature.pk])).content.decode()
    assert "(reportée d’une séance précédente : Quorum non atteint en séance du " in detail


def _seance_page_queries(client, count: int) -> int:
    seance, (member, *_) = open_seance_with(*(signed_candidature() for _ in range(count)))
    client.force_login(member)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("college:seance", args=[seance.pk])).status_code == 200
    # One séance a day: this one moves away for the next measure.
    Seance.objects.filter(pk=seance.pk).update(date=seance.date - timedelta(days=count))
    return len(captured)


def test_the_seance_page_runs_a_fixed_number_of_queries(client):
    assert _seance_page_queries(client, 1) == _seance_page_queries(client, 3)


def _decision_post(inscription, kind, text, rows):
    data = {
        f"decision-{inscription.pk}-kind": kind,
        f"decision-{inscription.pk}-text": text,
        f"reserves-{inscription.pk}-TOTAL_FORMS": str(len(rows)),
        f"reserves-{inscription.pk}-INITIAL_FORMS": str(len(rows)),
    }
    for index, (reserve, exigences) in enumerate(rows):
        data[f"reserves-{inscription.pk}-{index}-text"] = reserve
        data[f"reserves-{inscription.pk}-{index}-exigences"] = exigences
    return data


def test_a_reserve_text_is_required_never_labelled_optional(client):
    candidature = signed_candidature()
    seance, (member, *_) = open_seance_with(candidature)
    inscription = seance.inscriptions.get()
    client.force_login(member)
    page = client.get(reverse("college:seance", args=[seance.pk])).content.decode()
    label = f'<label for="id_reserves-{inscription.pk}-0-text" class="fr-label">'
    assert page.count(label) == 1
    text_label = page[page.index(label) + len(label) :].split("</label>")[0]
    assert text_label.split()[0] == "Réserve" and "Optionnel" not in text_label
    assert "Exigences concernées\xa0(Optionnel)" in page  # that one may stay empty
    url = reverse("college:decision", args=[inscription.pk])
    refused = client.post(
        url, _decision_post(inscription, "reserves_non_bloquantes", "À corriger.", [("", "INS.01")])
    )
    assert refused.status_code == 400
    assert "Écrivez le texte de la réserve, ou videz la ligne." in refused.content.decode()
    # Recorded, then a row emptied: that réserve is removed, the other kept.
    rows = [("Afficher l’INS.", "INS.01"), ("Chiffrer.", "SSI.07")]
    client.post(url, _decision_post(inscription, "reserves_non_bloquantes", "À corriger.", rows))
    rows[0] = ("", "")
    response = client.post(
        url, _decision_post(inscription, "reserves_non_bloquantes", "À corriger.", rows)
    )
    assert response.status_code == 302
    assert list(Reserve.objects.values_list("text", flat=True)) == ["Chiffrer."]
