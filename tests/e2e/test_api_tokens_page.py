"""A company user makes an API token in « Mon compte »: an empty name is refused at its
field, the token is shown once and answers the API, the page read again no longer holds
it, and it is revoked after a confirmation, after which the API refuses it; axe-core on
the page, its error, the token shown and the modal."""

from playwright.sync_api import expect

from segur_portal.models_api import ApiToken
from tests.api.conftest import ready_user
from tests.e2e.axe import assert_no_serious_axe_violations
from tests.e2e.conftest import login, screenshot
from tests.e2e.steps import confirmation_shown
from tests.factories import TEST_PASSWORD
from tests.preuves.dossiers import eligible_candidature


def _moi(page, raw: str) -> int:
    return page.request.get("/api/v1/moi", headers={"Authorization": f"Bearer {raw}"}).status


def test_a_token_is_made_shown_once_used_and_revoked(page):
    candidature = eligible_candidature(nom_commercial="MédiLog")
    salarie = ready_user(candidature.editeur, email="integration@logmed.example")
    login(page, salarie.email, TEST_PASSWORD)
    page.get_by_role("link", name=salarie.get_full_name()).first.click()
    page.get_by_role("link", name="Jetons d’accès à l’API").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Jetons d’accès à l’API")
    expect(page.get_by_text("Aucun jeton pour le moment.")).to_be_visible()
    assert_no_serious_axe_violations(page)

    # A token needs a name: said at the field.
    page.get_by_role("button", name="Créer le jeton").click()
    expect(page.locator(".fr-input-group--error, .fr-fieldset--error").first).to_be_visible()
    assert not ApiToken.objects.exists()
    assert_no_serious_axe_violations(page)

    page.get_by_label("Nom du jeton").fill("Intégration continue")
    page.locator("label", has_text="Lecture et écriture").click()
    page.get_by_label("Durée de validité").select_option(label="1 an")
    page.get_by_role("button", name="Créer le jeton").click()
    value = page.get_by_label("Valeur du jeton")
    expect(value).to_be_visible()
    expect(page.get_by_text("il ne sera plus jamais affiché")).to_be_visible()
    raw = value.input_value()
    token = ApiToken.objects.get()
    assert raw.startswith(token.prefix) and raw.startswith("sgr_")
    assert (token.name, token.scope, (token.expires_at - token.created_at).days) == (
        "Intégration continue",
        "ecriture",
        365,
    )
    assert_no_serious_axe_violations(page)
    screenshot(page, "jeton-api-affiche-une-fois")
    assert _moi(page, raw) == 200

    # Shown once: the page read again lists the token without its value.
    page.goto("/compte/api/")
    expect(page.get_by_label("Valeur du jeton")).to_have_count(0)
    assert raw not in page.content()
    row = page.get_by_role("row").filter(has_text="Intégration continue")
    expect(row).to_contain_text("Actif")
    expect(row).to_contain_text("Lecture et écriture")
    expect(row).to_contain_text(token.prefix)

    # Revoked after a confirmation that says it is final.
    row.get_by_role("button", name="Révoquer le jeton Intégration continue").click()
    modal = confirmation_shown(
        page,
        f"confirmer-{token.html_id}",
        says="La révocation est définitive",
        shot="jeton-api-revocation-confirmation",
    )
    token.refresh_from_db()
    assert token.revoked_at is None
    modal.get_by_role("button", name="Révoquer le jeton").click()
    expect(page.get_by_role("status").first).to_contain_text("révoqué")
    expect(page.get_by_role("row").filter(has_text="Intégration continue")).to_contain_text(
        "Révoqué le"
    )
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == salarie
    assert _moi(page, raw) == 401
    assert_no_serious_axe_violations(page)
    screenshot(page, "jeton-api-revoque")
