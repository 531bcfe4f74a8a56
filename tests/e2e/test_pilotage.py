"""The agency steering its wave in the browser (issue 12): an instructor gives dossiers
to a colleague from the proofs queue after a confirmation naming them; an administrator
exports the list as filtered on screen; the statistics page, read at a glance."""

import csv
import io
import re
from datetime import timedelta
from pathlib import Path

from django.utils import timezone
from openpyxl import load_workbook
from playwright.sync_api import expect

from candidatures.enums import CandidatureState
from candidatures.models import Assignment, Candidature
from tests.e2e.axe import assert_no_serious_axe_violations
from tests.e2e.conftest import login, screenshot
from tests.factories import TEST_PASSWORD, CampagneFactory, CandidatureFactory, UserFactory
from tests.preuves.test_queue_clock import _sollicitation
from tests.segur_portal.test_statistics import wave  # noqa: F401 (a fixture)


def _dossier(days_ago: int, **kwargs) -> Candidature:
    candidature = CandidatureFactory(eligible=True, **kwargs)
    Candidature.objects.filter(pk=candidature.pk).update(
        state=CandidatureState.DOSSIER_SOUMIS,
        dossier_submitted_at=timezone.now() - timedelta(days=days_ago),
    )
    candidature.refresh_from_db()
    return candidature


def _modal_shown(page, modal_id: str) -> None:
    # The design system fades the modal in: checked once it is fully shown.
    page.wait_for_function(
        f"() => getComputedStyle(document.getElementById('{modal_id}')).opacity === '1'"
    )


def test_an_instructor_gives_two_dossiers_to_a_colleague(page):
    me = UserFactory(instructeur=True, first_name="Inès", last_name="Instructrice")
    colleague = UserFactory(instructeur=True, first_name="Paul", last_name="Collègue")
    late = _dossier(60, nom_commercial="HospiLog")
    lost = _dossier(3, nom_commercial="RadioLog")
    _sollicitation(lost, hours_ago=30)
    fresh = _dossier(1, nom_commercial="BioLog")
    login(page, me.email, TEST_PASSWORD)

    page.get_by_role("link", name="File d’instruction").click()
    page.get_by_role("tab", name="Instruction des preuves").click()
    expect(page.get_by_role("heading", name="2 dossiers en retard")).to_be_visible()
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(3)
    # The late ones first: over the 6 weeks, then the one that lost its place.
    expect(rows.nth(0)).to_contain_text("instruction au-delà des 6 semaines")
    expect(rows.nth(1)).to_contain_text("dépriorisée")
    expect(rows.nth(2)).to_contain_text(fresh.reference)
    assert_no_serious_axe_violations(page)
    screenshot(page, "file-preuves-en-retard-d-abord")

    # The design system draws the box on the label, which takes the click.
    for dossier in (late, fresh):
        page.locator("label", has_text=dossier.reference).click()
        expect(page.get_by_label(f"Sélectionner {dossier.reference}")).to_be_checked()
    page.get_by_label("Attribuer les dossiers cochés à").select_option(label="Paul Collègue")
    page.get_by_role("button", name="Attribuer les dossiers cochés").click()
    modal = page.locator("#confirmer-attribution")
    expect(modal).to_be_visible()
    expect(modal.locator("[data-confirm-count]")).to_have_text(
        "2 dossiers à attribuer à Paul Collègue."
    )
    _modal_shown(page, "confirmer-attribution")
    assert_no_serious_axe_violations(page, include="#confirmer-attribution")
    screenshot(page, "attribution-confirmation")
    assert not Assignment.objects.exists()

    modal.get_by_role("button", name="Attribuer", exact=True).click()
    expect(page.get_by_role("status").first).to_contain_text(
        "2 dossiers attribués à Paul Collègue, qui en est notifié."
    )
    assert set(Candidature.objects.filter(instructeur=colleague)) == {late, fresh}
    assert Assignment.objects.filter(instructeur=colleague, assigned_by=me).count() == 2

    # The colleague's queue, bookmarkable.
    page.get_by_label("Instructeur").select_option(label="Paul Collègue")
    page.get_by_role("button", name="Filtrer").click()
    expect(page).to_have_url(re.compile(rf"instructeur={colleague.pk}"))
    expect(rows).to_have_count(2)
    expect(page.locator("table")).not_to_contain_text(lost.reference)
    assert_no_serious_axe_violations(page)
    screenshot(page, "file-preuves-dossiers-du-collegue")


def test_an_administrator_exports_the_list_as_filtered(page):
    admin = UserFactory(admin=True)
    campagne = CampagneFactory()
    kept = [
        CandidatureFactory(admin_soumise=True, campagne=campagne, nom_commercial="CardioLog"),
        CandidatureFactory(admin_soumise=True, campagne=campagne, nom_commercial="=CardioPlus"),
    ]
    CandidatureFactory(admin_soumise=True, nom_commercial="CardioAutreDSR")
    CandidatureFactory(admin_soumise=True, campagne=campagne, nom_commercial="DermaLog")
    login(page, admin.email, TEST_PASSWORD)

    page.get_by_role("link", name="Candidatures", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Candidatures")
    page.get_by_label("Rechercher").fill("cardio")
    page.get_by_label("DSR").select_option(campagne.dsr.code)
    page.get_by_role("button", name="Filtrer").click()
    expect(page.locator("table tbody tr")).to_have_count(2)
    expect(page.get_by_role("status").first).to_contain_text("2 dossiers sur 2")
    assert_no_serious_axe_violations(page)
    screenshot(page, "liste-candidatures-filtree")

    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()
    assert download.value.suggested_filename == "candidatures.csv"
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert sorted(row[0] for row in rows[1:]) == sorted(c.reference for c in kept)
    assert "'=CardioPlus" in [row[4] for row in rows[1:]]

    with page.expect_download() as download:
        page.get_by_role("link", name="Excel (XLSX)").click()
    assert download.value.suggested_filename == "candidatures.xlsx"
    sheet = load_workbook(
        io.BytesIO(Path(download.value.path()).read_bytes()), read_only=True
    ).active
    values = list(sheet.iter_rows(values_only=True))
    assert sorted(row[0] for row in values[1:]) == sorted(c.reference for c in kept)
    assert "'=CardioPlus" in [row[4] for row in values[1:]]


def test_the_statistics_page_reads_at_a_glance(page, wave):  # noqa: F811 (the fixture)
    login(page, UserFactory(instructeur=True).email, TEST_PASSWORD)
    page.get_by_role("link", name="Statistiques").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Statistiques du programme")
    page.get_by_role("textbox", name="Du", exact=True).fill("2026-11-02")
    page.get_by_role("textbox", name="Au (inclus)").fill("2026-11-29")
    page.get_by_role("button", name="Afficher").click()
    expect(page).to_have_url(re.compile(r"du=2026-11-02&au=2026-11-29"))
    charts = page.get_by_role("img")
    expect(page.locator("svg.portal-chart")).to_have_count(6)
    expect(charts.filter(has_text="Temps d’instruction net des suspensions")).to_have_count(1)
    expect(page.locator("#graphique-instruction-desc")).to_contain_text("3 instructions closes")
    assert_no_serious_axe_violations(page)
    screenshot(page, "statistiques-programme")

    section = page.locator("section", has=page.locator("#section-instruction"))
    section.get_by_text("Tableau : temps d’instruction net des suspensions, par dsr").click()
    expect(section.get_by_role("table").last).to_contain_text("68,6")
    with page.expect_download() as download:
        section.get_by_role("link", name=re.compile(r"par période de clôture \(CSV\)")).click()
    content = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert "semaine du 16 nov. 2026,2,54.0,73.2,50.0" in content

    page.get_by_role("combobox", name="DSR").select_option(wave["y"])
    page.get_by_role("button", name="Afficher").click()
    expect(page.locator("#graphique-etats-desc")).to_contain_text("1 candidatures")
    screenshot(page, "statistiques-un-dsr")
