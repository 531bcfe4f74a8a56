import re

import pytest
from django.test import override_settings
from playwright.sync_api import expect

from segur_portal.demo import DEMO_PASSWORD, seed_demo
from tests.e2e.conftest import login, screenshot

REF = "Référentiel"
QUEUE = "File d’instruction"
SEANCES = "Séances du collège"
INBOX = "Support des éditeurs"
AGENCY = ["Candidatures", "Statistiques"]
ADMIN_MENU = [
    "Tableau de bord", QUEUE, *AGENCY, INBOX, SEANCES, "Gestion du référentiel", REF,
    "Administration",
]  # fmt: skip
EDITOR_MENU = ["Tableau de bord", "Mes candidatures", "Mon entreprise", "Support", REF]
ROLES = [
    # email, dashboard heading, menu entries
    ("editeur@demo.segur.fr", "Tableau de bord", EDITOR_MENU),
    (
        "instructeur@demo.segur.fr",
        "Tableau de bord — instruction",
        ["Tableau de bord", QUEUE, *AGENCY, INBOX, SEANCES, REF],
    ),
    (
        "college@demo.segur.fr",
        "Tableau de bord — collège technique",
        ["Tableau de bord", SEANCES, REF],
    ),
    ("admin@demo.segur.fr", "Tableau de bord — administration", ADMIN_MENU),
]


@pytest.fixture
def demo_accounts():
    # The accounts and the référentiel: the whole procedure's data is seeded (and tested)
    # in tests/candidatures/test_fixtures_and_demo.py, once.
    with override_settings(DEBUG=True):
        return seed_demo(procedure=False)


@pytest.mark.parametrize(
    ("email", "heading", "menu"), ROLES, ids=[r[0].split("@")[0] for r in ROLES]
)
def test_demo_role_lands_on_its_dashboard(page, demo_accounts, email, heading, menu):
    page.goto("/")
    expect(page.get_by_text("Portail de référencement Ségur").first).to_be_visible()
    login(page, email, DEMO_PASSWORD)

    expect(page).to_have_url(re.compile(r"/tableau-de-bord/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    nav = page.get_by_role("navigation", name="Menu principal")
    expect(nav.get_by_role("link")).to_have_text(menu)
    expect(nav.get_by_role("link", name="Tableau de bord")).to_have_attribute(
        "aria-current", "page"
    )
    footer = page.locator("footer")
    for label in ["Mentions légales", "Données personnelles", "Accessibilité : non conforme"]:
        expect(footer.get_by_role("link", name=label)).to_be_visible()
    screenshot(page, f"dashboard-{email.split('@')[0]}")

    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_role("banner").get_by_role("link", name="Se connecter")).to_be_visible()
