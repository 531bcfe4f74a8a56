"""The review workspace and the collège's agenda in the browser, on the real DRIMbox REM
(189 requirements, 202 expected proofs): a verdict recorded with the keyboard alone, in
place, the filter and the scroll kept; an error at its field; one verdict for several
requirements after a confirmation naming how many; previews; who saw what; and the
séance page saying what the instruction found."""

import re

from django.utils import timezone
from playwright.sync_api import expect

from candidatures.enums import CandidatureState
from candidatures.models import Candidature
from college.models import Inscription
from preuves import instruction
from preuves.models import ExigenceVerdict, FichierDownload
from tests.college.phase3 import seance_today
from tests.e2e.axe import assert_no_serious_axe_violations
from tests.e2e.conftest import ARTIFACTS, login, screenshot
from tests.factories import TEST_PASSWORD, UserFactory
from tests.preuves.reviews import drimbox_instructing
from tests.worker import wait_for


def _viewport_shot(page, name: str) -> None:
    """The page as the screen shows it: a 189-requirement page is too tall to capture
    whole."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), caret="initial")


def _tab_to(page, selector: str, limit: int = 40) -> None:
    """Press Tab until `selector` has the focus, as a keyboard user moves on."""
    for _ in range(limit):
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} jamais atteint au clavier")


def test_the_instructor_reviews_the_drimbox_dossier_in_place(page):
    candidature, instructeur = drimbox_instructing()
    login(page, instructeur.email, TEST_PASSWORD)
    page.goto(f"/candidatures/{candidature.pk}/preuves/")
    page.get_by_role("link", name=re.compile("^Revue du dossier")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Revue du dossier de preuves")
    expect(page.locator("#review-counts")).to_contain_text("189 exigences")
    expect(page.locator("#review-counts")).to_contain_text("Sans verdict : 189")
    # 183 expected proofs answered by one and the same capture: said at once.
    expect(page.locator("#reutilisations")).to_contain_text("répond à 183 preuves attendues")
    # Nothing is preselected: Tab Tab Enter records nothing nobody chose.
    assert page.locator("input[name=verdict]:checked").count() == 0
    assert_no_serious_axe_violations(page)
    _viewport_shot(page, "revue-dossier-drimbox")

    page.locator("#filtre-statut").select_option("sans_verdict")
    page.locator("#filtre-section").select_option("SSI/GEN")
    page.get_by_role("button", name="Filtrer").click()
    expect(page).to_have_url(re.compile(r"statut=sans_verdict&section=SSI%2FGEN"))
    blocks = page.locator("article.portal-review-block")
    expect(blocks.first).to_be_visible()
    count = blocks.count()
    assert 1 < count < 189

    # With the keyboard alone: the second requirement, non conforme, with its comment.
    block = blocks.nth(1)
    block_id = block.get_attribute("id")
    identifier = block.locator("h3").inner_text().split()[0]
    block.scroll_into_view_if_needed()
    page.evaluate("window.sansRechargement = true")
    scrolled = page.evaluate("window.scrollY")
    block.locator("input[name=exigences]").focus()
    _tab_to(page, f"#{block_id} input[value=conforme]")
    page.keyboard.press("ArrowRight")
    expect(block.locator("input[value=non_conforme]")).to_be_checked()
    page.keyboard.press("Tab")
    page.keyboard.type("La vidéo ne montre pas la recherche INSi.")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    result = page.locator(f"#{block_id} .fr-message--valid")
    expect(result).to_have_text(f"Verdict « Non conforme » enregistré sur {identifier}.")
    expect(result).to_be_focused()
    expect(page.locator("#review-announce")).to_have_text(
        f"Verdict « Non conforme » enregistré sur {identifier}."
    )
    expect(page.locator("#review-counts")).to_contain_text("Non conforme : 1")
    # The filter's choices say the same counts, the chosen one still chosen.
    expect(page.locator("#filtre-statut option[value=non_conforme]")).to_have_text(
        "Non conforme (1)"
    )
    expect(page.locator("#filtre-statut option[value=sans_verdict]")).to_have_text(
        "Sans verdict (188)"
    )
    expect(page.locator("#filtre-statut")).to_have_value("sans_verdict")
    # No reload: the page's state, its address (the filters) and the scroll are kept.
    assert page.evaluate("window.sansRechargement") is True
    expect(page).to_have_url(re.compile(r"statut=sans_verdict&section=SSI%2FGEN"))
    assert abs(page.evaluate("window.scrollY") - scrolled) < 400
    assert blocks.count() == count
    verdict = ExigenceVerdict.objects.get()
    assert (verdict.verdict, verdict.comment) == (
        "non_conforme",
        "La vidéo ne montre pas la recherche INSi.",
    )
    screenshot(page, "revue-verdict-en-place")

    # Non conforme without its comment: the error at the field, summarised, focused.
    block = blocks.nth(2)
    block_id = block.get_attribute("id")
    block.locator("input[name=exigences]").focus()
    _tab_to(page, f"#{block_id} input[value=conforme]")
    page.keyboard.press("ArrowRight")
    _tab_to(page, f"#{block_id} button[type=submit]")
    page.keyboard.press("Enter")
    summary = page.locator(f"#{block_id} [role=alert]")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Dites en quoi l’exigence n’est pas satisfaite.")
    expect(page.locator(f"#{block_id} .fr-input-group--error textarea")).to_have_count(1)
    assert ExigenceVerdict.objects.count() == 1
    screenshot(page, "revue-erreur-au-champ")

    # One verdict for three requirements, after a confirmation naming how many.
    for n in (3, 4, 5):
        blocks.nth(n).locator(".fr-checkbox-group label").click()
    bulk = page.locator("#lot")
    expect(bulk.locator("[data-selected-count]")).to_have_text("3")
    bulk.get_by_text("Conforme", exact=True).click()
    bulk.get_by_role("button", name="Enregistrer pour les exigences cochées").click()
    modal = page.locator("#confirmer-lot")
    expect(modal).to_be_visible()
    expect(modal.locator("[data-confirm-count]")).to_contain_text("« Conforme » sur 3 exigences")
    # The design system fades the modal in: checked once it is fully shown.
    page.wait_for_function(
        "() => getComputedStyle(document.getElementById('confirmer-lot')).opacity === '1'"
    )
    assert_no_serious_axe_violations(page, include="#confirmer-lot")
    screenshot(page, "revue-confirmation-lot")
    modal.get_by_role("button", name="Enregistrer les verdicts").click()
    expect(page.get_by_role("status").first).to_contain_text(
        "Conforme : enregistré sur 3 exigence(s) en une fois."
    )
    expect(page).to_have_url(re.compile(r"statut=sans_verdict&section=SSI%2FGEN"))
    assert ExigenceVerdict.objects.filter(verdict="conforme").count() == 3

    # Previews: an image scaled, a PDF in the browser's viewer; each one logged.
    page.goto(f"/candidatures/{candidature.pk}/preuves/revue/")
    image = page.get_by_role("link", name=re.compile(r"^Aperçu de .*capture-ecran\.png")).first
    image.click()
    expect(page.locator("img.portal-preview__image").first).to_be_visible()
    pdf = page.get_by_role("link", name=re.compile(r"^Aperçu de .*compte-rendu\.pdf")).first
    pdf.click()
    frame = page.locator("iframe.portal-preview__pdf").first
    expect(frame).to_be_visible()
    frame.scroll_into_view_if_needed()
    wait_for(lambda: FichierDownload.objects.filter(kind="apercu").count() >= 2)
    _viewport_shot(page, "revue-apercus")

    # Followed by its address: in full runs (twice, never alone) a click on this link,
    # just after the PDF preview's frame loaded, did not leave the page.
    consultations = page.get_by_role("link", name="Qui a consulté quoi")
    expect(consultations).to_have_attribute(
        "href", f"/candidatures/{candidature.pk}/preuves/revue/consultations/"
    )
    page.goto(consultations.get_attribute("href"))
    expect(page.get_by_role("heading", name="Qui a consulté quoi")).to_be_visible()
    table = page.locator("table")
    expect(table).to_contain_text("Aperçu")
    expect(table).to_contain_text("Inès Moreau")
    assert_no_serious_axe_violations(page)
    screenshot(page, "revue-consultations")


def test_the_agenda_says_what_the_instruction_found_on_the_drimbox_dossier(page):
    candidature, instructeur = drimbox_instructing()
    exigences = list(instruction._applicable(candidature).order_by("position"))
    instruction.verdicts_record(candidature=candidature, exigences=exigences[2:],
                                verdict="conforme", comment="", actor=instructeur)  # fmt: skip
    for exigence, comment in zip(
        exigences[:2],
        ["Le DICOM SR n’est pas transmis au DMP.", "Aucune trace de l’accès en urgence."],
        strict=True,
    ):
        instruction.verdict_record(candidature=candidature, exigence=exigence,
                                   verdict="non_conforme", comment=comment, actor=instructeur)  # fmt: skip
    Candidature.objects.filter(pk=candidature.pk).update(
        state=CandidatureState.CONVENTION_SIGNEE, instruction_closed_at=timezone.now()
    )
    seance = seance_today()
    Inscription.objects.create(seance=seance, candidature=candidature, signed_at=timezone.now())
    member = UserFactory(college=True, first_name="Paul", last_name="Collège")

    login(page, member.email, TEST_PASSWORD)
    page.goto(f"/college/seances/{seance.pk}/")
    item = page.locator("article", has_text=candidature.reference)
    findings = item.locator("[data-findings]")
    expect(findings).to_contain_text("187 conformes")
    expect(findings).to_contain_text("2 non conformes")
    expect(findings).to_contain_text("0 complément demandé")
    expect(findings.locator("[data-non-conformes]")).to_contain_text(
        f"{exigences[0].identifier} — Le DICOM SR n’est pas transmis au DMP."
    )
    expect(findings).to_contain_text("jours d’instruction sur 42 indicatifs (6 semaines)")
    expect(item.locator("[data-cnda]")).to_contain_text("Homologations CNDA")
    assert_no_serious_axe_violations(page)
    screenshot(page, "seance-ce-que-l-instruction-a-trouve")

    findings.get_by_role("link", name=re.compile("Lire le dossier instruit")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Revue du dossier de preuves")
    expect(page.locator(".fr-text--lead")).to_contain_text("lecture seule")
    expect(page.get_by_role("button", name="Enregistrer le verdict")).to_have_count(0)
    expect(page.locator("#review-counts")).to_contain_text("Non conforme : 2")
    assert_no_serious_axe_violations(page)
    _viewport_shot(page, "seance-dossier-en-lecture-seule")
