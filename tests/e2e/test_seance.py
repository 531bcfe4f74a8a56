"""A séance as a committee holds it, in the browser: it opens from its start time, each
decision needs its quorum of members present without a conflict of interest, the
closing asks for confirmation and names what becomes final, and what nobody could decide
goes to the next séance with the reason."""

import re
from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from candidatures.enums import CandidatureState
from college.models import Inscription, Seance
from tests.college.phase3 import mandataire, on_agenda, seance_today, signed_candidature
from tests.e2e.conftest import login, screenshot
from tests.e2e.steps import logout
from tests.factories import TEST_PASSWORD, UserFactory

S = CandidatureState


def test_quorum_conflict_confirmation_and_carry_over(page):
    decided, conflicted = signed_candidature(), signed_candidature()
    seance = seance_today()
    for candidature in (decided, conflicted):
        on_agenda(seance, candidature)
    # Tomorrow's séance (planned already when tomorrow is the collège's weekday).
    later, _ = Seance.objects.get_or_create(
        date=timezone.localdate() + timedelta(days=1),
        defaults={"starts_at": timezone.now() + timedelta(days=1)},
    )
    UserFactory(college=True, email="paul@ans.example", first_name="Paul", last_name="Collège")
    UserFactory(college=True, first_name="Marie", last_name="Membre")
    UserFactory(college=True, first_name="Jean", last_name="Absent")

    login(page, "paul@ans.example", TEST_PASSWORD)
    # Tomorrow's séance does not open today.
    page.goto(f"/college/seances/{later.pk}/")
    expect(page.locator("#ouverture")).to_contain_text("La séance s’ouvre le jour prévu")
    expect(page.get_by_role("button", name="Ouvrir la séance")).to_have_count(0)

    page.goto(f"/college/seances/{seance.pk}/")
    page.get_by_role("group", name="Membres présents").get_by_text("Marie Membre").click()
    page.get_by_role("button", name="Ouvrir la séance").click()
    expect(page.get_by_role("status")).to_contain_text("Séance ouverte")
    item = page.locator("article", has_text=conflicted.reference)
    expect(item.locator("[data-quorum]")).to_contain_text(
        "sans conflit d’intérêts : 2 (quorum : 2)"
    )

    # Paul declares a conflict: he does not count for this candidature, nobody decides it.
    item.get_by_text("Déclarer un conflit d’intérêts").click()
    item.get_by_label("Précision (facultative)").fill("Ancien salarié de l’éditeur")
    item.get_by_role("button", name=f"Déclarer un conflit sur {conflicted.reference}").click()
    expect(page.get_by_role("status")).to_contain_text("Conflit d’intérêts déclaré")
    item = page.locator("article", has_text=conflicted.reference)
    expect(item.locator("[data-quorum-missing]")).to_contain_text(
        "Quorum non atteint : 1 membre présent sans conflit d’intérêts sur cette candidature"
    )
    expect(item.get_by_role("button", name="Enregistrer la décision")).to_have_count(0)

    other = page.locator("article", has_text=decided.reference)
    other.get_by_text("Référencement non attribué : réserves non bloquantes", exact=True).click()
    other.get_by_label("Texte de la décision").fill("Une correction mineure.")
    other.get_by_label(re.compile(r"^\s*Réserve(\s|$)")).first.fill("Afficher l’INS.")
    other.get_by_role("button", name="Enregistrer la décision").click()
    expect(page.get_by_role("status")).to_contain_text(
        f"Décision enregistrée pour {decided.reference}"
    )

    # Closing asks first, naming what becomes final; « Annuler » leaves the séance open.
    page.get_by_role("button", name="Clore la séance").click()
    confirmation = page.get_by_role("dialog", name=re.compile("Clore la séance du"))
    expect(confirmation).to_be_visible()
    expect(confirmation).to_contain_text(
        f"{decided.reference} — {decided.nom_commercial} {decided.version_technique} : "
        "Référencement non attribué : réserves non bloquantes — notifiée à l’éditeur"
    )
    expect(confirmation).to_contain_text(
        f"{conflicted.reference} — {conflicted.nom_commercial} {conflicted.version_technique} "
        ": reportée à la séance suivante. Quorum non atteint en séance du "
    )
    screenshot(page, "seance-confirmer-cloture")
    confirmation.get_by_role("button", name="Annuler").click()
    expect(confirmation).to_be_hidden()
    seance.refresh_from_db()
    assert seance.status == "ouverte"
    page.get_by_role("button", name="Clore la séance").click()
    confirmation.get_by_role("button", name="Clore définitivement la séance").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Séance close : les décisions sont notifiées aux éditeurs"
    )
    expect(page.get_by_role("status")).to_contain_text("1 candidature(s) reportée(s)")
    item = page.locator("article", has_text=conflicted.reference)
    expect(item).to_contain_text("Reportée à la séance suivante : Quorum non atteint en séance du ")
    screenshot(page, "seance-close")
    logout(page)

    decided.refresh_from_db()
    conflicted.refresh_from_db()
    assert (decided.state, conflicted.state) == (S.RESERVES_NON_BLOQUANTES, S.CONVENTION_SIGNEE)
    assert Inscription.objects.get(candidature=conflicted, carried_over=True).seance == later

    # The company reads why its candidature waits for the next séance.
    login(page, mandataire(conflicted).email, TEST_PASSWORD)
    page.goto(f"/candidatures/{conflicted.pk}/")
    expect(
        page.get_by_text(re.compile("reportée d’une séance précédente : Quorum non atteint"))
    ).to_be_visible()
