"""CNDA homologations « en cours actif » at J6 (DSR §4.4): the dossier is complete without
their proofs, the instruction closes with them pending, and nothing references the
software until they are certified, each proof accepted."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from candidatures.enums import CandidatureState, CndaStatus
from candidatures.models import Candidature, CguAcceptance
from candidatures.services.onboarding import current_cgu
from preuves import cnda
from preuves import instruction as instruction_services
from preuves.depot import dossier, dossier_submit
from preuves.enums import FichierStatus
from preuves.models import Depot, Fichier
from segur_portal.models import Notification
from tests.factories import UserFactory, company_user
from tests.preuves import samples
from tests.preuves.dossiers import deposit_everything, eligible_candidature, upload

pytestmark = pytest.mark.django_db
S = CandidatureState
CNDA_PROOF = "INS.01.02.01"


def pending_candidature():
    """Submitted with its CNDA homologation « en cours actif », its proof not deposited."""
    candidature = eligible_candidature()
    member = company_user(candidature.editeur)
    CguAcceptance.objects.create(user=member, cgu=current_cgu())
    deposit_everything(candidature, member)
    Depot.objects.filter(candidature=candidature, preuve_attendue__identifier=CNDA_PROOF).delete()
    Candidature.objects.filter(pk=candidature.pk).update(
        cnda_homologation=CndaStatus.EN_COURS_ACTIF
    )
    candidature.refresh_from_db()
    dossier_submit(candidature=candidature, actor=member)
    candidature.refresh_from_db()
    return candidature, member


def cnda_item(candidature):
    (item,) = cnda.cnda_state(candidature).items
    return item


def test_a_dossier_en_cours_actif_is_submitted_without_its_cnda_proof_and_shows_it_pending():
    candidature, _member = pending_candidature()
    assert candidature.state == S.DOSSIER_SOUMIS
    state = cnda.cnda_state(candidature)
    assert [item.identifier for item in state.items] == [CNDA_PROOF]
    assert not state.obtained
    assert state.label == f"En cours actif au CNDA — preuve {CNDA_PROOF} manquante"
    assert "DSR §4.4" in state.refusal


def test_the_instruction_closes_with_the_cnda_homologation_pending_recorded_as_such():
    candidature, member = pending_candidature()
    instructeur = UserFactory(instructeur=True)
    instruction_services.instruction_take(candidature=candidature, actor=instructeur)
    candidature.refresh_from_db()
    for _key, _title, blocks in dossier(candidature).sections:
        for block in blocks:
            instruction_services.verdict_record(candidature=candidature, exigence=block.exigence,
                                                verdict="conforme", comment="", actor=instructeur)  # fmt: skip
    pending = instruction_services.instruction_cnda_pending(candidature)
    assert f"preuve {CNDA_PROOF} manquante" in pending
    instruction_services.instruction_close(candidature=candidature, actor=instructeur)
    candidature.refresh_from_db()
    closing = candidature.transitions.get(name="close_instruction")
    assert f"Homologations CNDA en attente (En cours actif au CNDA — preuve {CNDA_PROOF}" in (
        closing.reason
    )
    body = Notification.objects.filter(
        recipient=member, title__startswith="Instruction des preuves terminée"
    ).values_list("body", flat=True)
    assert any("déclarez-les certifiées" in text for text in body)


def test_the_company_deposits_the_proof_then_declares_the_homologations_certified(
    django_capture_on_commit_callbacks,
):
    candidature, member = pending_candidature()
    instructeur = UserFactory(instructeur=True)
    Candidature.objects.filter(pk=candidature.pk).update(instructeur=instructeur)
    candidature.refresh_from_db()
    with pytest.raises(ValidationError, match=f"preuve de chaque homologation CNDA : {CNDA_PROOF}"):
        cnda.cnda_certify(candidature=candidature, actor=member)
    with django_capture_on_commit_callbacks(execute=True):  # the file's check
        (depot,) = cnda.cnda_proof_deposit(
            candidature=candidature,
            item=cnda_item(candidature),
            uploads=[upload("homologation.pdf", samples.pdf_bytes())],
            actor=member,
        )
    assert depot.preuve_attendue.identifier == CNDA_PROOF
    cnda.cnda_certify(candidature=candidature, actor=member)
    candidature.refresh_from_db()
    assert candidature.cnda_homologation == CndaStatus.CERTIFIE
    assert candidature.state == S.DOSSIER_SOUMIS
    logged = candidature.transitions.get(name="cnda_certify")
    assert (logged.actor, CNDA_PROOF in logged.reason) == (member, True)
    assert Notification.objects.filter(
        recipient=instructeur, title__startswith="Homologations CNDA obtenues"
    ).exists()
    # The file checked in-process is accepted: obtained.
    assert cnda.cnda_state(candidature).obtained
    with pytest.raises(ValidationError, match="déjà obtenues"):
        cnda.cnda_certify(candidature=candidature, actor=member)


def test_declared_certified_but_its_proof_refused_is_not_obtained(
    django_capture_on_commit_callbacks,
):
    candidature, member = pending_candidature()
    with django_capture_on_commit_callbacks(execute=True):
        cnda.cnda_proof_deposit(
            candidature=candidature,
            item=cnda_item(candidature),
            uploads=[upload("homologation.pdf", samples.pdf_bytes())],
            actor=member,
        )
    assert cnda.cnda_state(candidature).label == "En cours actif au CNDA — preuve acceptée"
    cnda.cnda_certify(candidature=candidature, actor=member)
    # A later check found a virus in it.
    Fichier.objects.filter(
        depots__candidature=candidature, depots__preuve_attendue__identifier=CNDA_PROOF
    ).update(status=FichierStatus.INFECTEE, virus_signature="Eicar-Test-Signature")
    candidature.refresh_from_db()
    state = cnda.cnda_state(candidature)
    assert not state.obtained
    assert state.label == f"Certifiées — preuve {CNDA_PROOF} refusée"


def test_only_the_company_and_only_the_cnda_proofs_before_the_decision():
    candidature, member = pending_candidature()
    item = cnda_item(candidature)
    files = [upload("homologation.pdf", samples.pdf_bytes())]
    for intruder in (UserFactory(instructeur=True), UserFactory(mandataire=True)):
        with pytest.raises(PermissionDenied):
            cnda.cnda_proof_deposit(
                candidature=candidature, item=item, uploads=files, actor=intruder
            )
        with pytest.raises(PermissionDenied):
            cnda.cnda_certify(candidature=candidature, actor=intruder)
    other = next(i for i in dossier(candidature).items if i.identifier == "INS.01.01.01")
    with pytest.raises(ValidationError, match="Seules les preuves d’homologation CNDA"):
        cnda.cnda_proof_deposit(candidature=candidature, item=other, uploads=files, actor=member)
    with pytest.raises(ValidationError, match="au moins un fichier"):
        cnda.cnda_proof_deposit(candidature=candidature, item=item, uploads=[], actor=member)
    Candidature.objects.filter(pk=candidature.pk).update(state=S.REFUSEE)
    candidature.refresh_from_db()
    with pytest.raises(ValidationError, match="entre la soumission du dossier et la décision"):
        cnda.cnda_proof_deposit(candidature=candidature, item=item, uploads=files, actor=member)
    assert not Depot.objects.filter(
        candidature=candidature, preuve_attendue__identifier=CNDA_PROOF
    ).exists()


def test_cnda_states_of_many_candidatures_take_four_queries(django_assert_num_queries):
    candidatures = [pending_candidature()[0] for _ in range(3)]
    with django_assert_num_queries(4):
        states = cnda.cnda_states(candidatures)
    assert [len(states[c.pk].items) for c in candidatures] == [1, 1, 1]


# Through the dossier page


def test_the_dossier_page_offers_the_cnda_deposit_and_says_why_at_the_field(
    client, django_capture_on_commit_callbacks
):
    candidature, member = pending_candidature()
    client.force_login(member)
    page_url = reverse("dossier:page", args=[candidature.pk])
    page = client.get(page_url).content.decode()
    assert "Homologations CNDA" in page and f"preuve {CNDA_PROOF} manquante" in page
    assert "Déclarer les homologations CNDA certifiées" in page
    item = cnda_item(candidature)
    url = reverse("dossier:cnda_deposit", args=[candidature.pk, item.exigence.pk, item.preuve.pk])
    refused = client.post(url, {})
    assert refused.status_code == 400
    assert f'id="cnda-{item.key}-error">Choisissez au moins un fichier.' in refused.content.decode()
    refused = client.post(reverse("dossier:cnda_certify", args=[candidature.pk]))
    assert refused.status_code == 400
    assert 'id="cnda-certify-error">Déposez d’abord la preuve' in refused.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"files": [upload("homologation.pdf", samples.pdf_bytes())]})
    assert response.status_code == 302
    response = client.post(reverse("dossier:cnda_certify", args=[candidature.pk]))
    assert response.status_code == 302
    candidature.refresh_from_db()
    assert candidature.cnda_homologation == CndaStatus.CERTIFIE
    page = client.get(page_url).content.decode()
    assert "Certifiées — preuve acceptée" in page
    assert "Déclarer les homologations CNDA certifiées" not in page


def test_another_company_or_a_non_cnda_proof_gets_404_on_the_cnda_deposit(client):
    candidature, _member = pending_candidature()
    intruder = UserFactory(mandataire=True)
    CguAcceptance.objects.create(user=intruder, cgu=current_cgu())
    client.force_login(intruder)
    item = cnda_item(candidature)
    url = reverse("dossier:cnda_deposit", args=[candidature.pk, item.exigence.pk, item.preuve.pk])
    assert client.post(url, {"files": [upload("h.pdf", samples.pdf_bytes())]}).status_code == 404
    assert client.post(reverse("dossier:cnda_certify", args=[candidature.pk])).status_code == 404
    client.force_login(member := company_user(candidature.editeur))
    CguAcceptance.objects.create(user=member, cgu=current_cgu())
    other = next(i for i in dossier(candidature).items if i.identifier == "INS.01.01.01")
    url = reverse("dossier:cnda_deposit", args=[candidature.pk, other.exigence.pk, other.preuve.pk])
    assert client.post(url, {"files": [upload("h.pdf", samples.pdf_bytes())]}).status_code == 404
