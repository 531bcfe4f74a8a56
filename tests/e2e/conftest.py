"""Playwright for Python driving Debian's chromium against pytest-django's live server."""

import re
from pathlib import Path

import pytest
from django.conf import settings

CHROMIUM = "/usr/bin/chromium"
# This machine's network is closed: without these flags chromium keeps trying to
# reach Google's services and fills the log with refused connections.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(settings.BASE_DIR) / "var" / "test-artifacts"


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} absent : installez le paquet Debian chromium (make test le fait)")
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch:
        # Playwright's sync API keeps an event loop running in this thread from now
        # on; the ORM calls made between two browser steps are still plain
        # synchronous code. The e2e tests run last (see tests/conftest.py).
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            yield browser
            browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, locale="fr-FR", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"erreur JS : {error}"))
    page.on(
        "console",
        lambda message: (
            problems.append(f"console : {message.text}") if message.type == "error" else None
        ),
    )
    page.problems = problems
    yield page
    context.close()
    assert not problems, "\n".join(problems)


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^a-z0-9_-]+', '-', name.lower())}.png"
    # caret="initial": hiding the caret makes Playwright inject a style into the page,
    # which the portal's CSP refuses, with an error in the console.
    page.screenshot(path=str(path), full_page=True, caret="initial")
    return path


def login(page, email: str, password: str) -> None:
    page.goto("/connexion/")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()
