"""A mandataire registers a webhook endpoint in the browser, pointing to a real receiver
on loopback: the secret is shown once, an event of the candidature reaches the receiver
signed with it and shows in the page, the secret is rotated after a confirmation and the
delivery re-sent; axe-core on the page and on the modal."""

from playwright.sync_api import expect

from candidatures.services.candidature import candidature_withdraw
from segur_portal import webhooks
from segur_portal.models_api import WebhookDelivery, WebhookEndpoint
from tests.api.conftest import ready_user
from tests.api.receiver import Receiver
from tests.e2e.axe import assert_no_serious_axe_violations
from tests.e2e.conftest import login, screenshot
from tests.e2e.steps import confirmation_shown
from tests.factories import TEST_PASSWORD
from tests.preuves.dossiers import eligible_candidature


def test_a_mandataire_registers_an_endpoint_sees_a_delivery_and_rotates_the_secret(page):
    candidature = eligible_candidature(nom_commercial="MédiLog")
    mandataire = ready_user(
        candidature.editeur, company_role="mandataire", email="mandataire@logmed.example"
    )
    with Receiver() as receiver:
        login(page, mandataire.email, TEST_PASSWORD)
        page.get_by_role("navigation", name="Menu principal").get_by_role(
            "link", name="Mon entreprise"
        ).click()
        page.get_by_role("link", name="webhooks").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Webhooks")
        expect(page.get_by_text("Aucun point de réception enregistré.")).to_be_visible()
        assert_no_serious_axe_violations(page)

        # A private address is refused at its field, in French.
        page.get_by_label("Adresse de réception").fill("https://169.254.169.254/latest/")
        page.locator("label", has_text="Changement d’état d’une candidature").click()
        page.get_by_role("button", name="Enregistrer").click()
        expect(page.locator(".fr-input-group--error, .fr-alert--error").first).to_contain_text(
            "adresse locale au lien"
        )
        assert not WebhookEndpoint.objects.exists()
        assert_no_serious_axe_violations(page)

        page.get_by_label("Adresse de réception").fill(receiver.url("/segur"))
        page.get_by_label("Description").fill("Intégration continue")
        checkbox = page.get_by_label("Changement d’état d’une candidature")
        if not checkbox.is_checked():
            page.locator("label", has_text="Changement d’état d’une candidature").click()
        page.get_by_role("button", name="Enregistrer").click()
        secret_field = page.get_by_label("Secret de signature")
        expect(secret_field).to_be_visible()
        expect(page.get_by_text("il ne sera plus jamais affiché")).to_be_visible()
        secret = secret_field.input_value()
        endpoint = WebhookEndpoint.objects.get()
        assert secret == endpoint.secret and secret.startswith("whsec_")
        assert_no_serious_axe_violations(page)
        screenshot(page, "webhooks-secret-shown-once")
        receiver.secrets.append(secret)

        # Shown once: the page read again does not hold it.
        page.goto("/entreprise/webhooks/")
        expect(page.get_by_label("Secret de signature")).to_have_count(0)
        assert secret not in page.content()
        expect(page.get_by_role("row").filter(has_text="/segur")).to_contain_text("Actif")

        # An event of the candidature: the receiver gets it, signed with the secret.
        candidature_withdraw(candidature=candidature, actor=mandataire, reason="Version retirée.")
        (request,) = receiver.requests
        assert request.signed and request.status == 200
        assert request.json["donnees"]["vers"] == "retiree"
        page.reload()
        deliveries = page.locator("#livraisons + .fr-table")
        row = deliveries.get_by_role("row").filter(has_text=request.json["id"])
        expect(row).to_contain_text("Changement d’état d’une candidature")
        expect(row).to_contain_text("Livrée")
        expect(row).to_contain_text("HTTP 200 en")
        assert_no_serious_axe_violations(page)
        screenshot(page, "webhooks-delivery-listed")

        # Rotation, after a confirmation that says the old secret lasts 24 hours.
        page.get_by_role("button", name="Renouveler le secret de").click()
        modal = confirmation_shown(
            page,
            f"confirmer-secret-{endpoint.html_id}",
            says="L’ancien secret signe encore pendant 24 heures",
            shot="webhooks-rotation-confirmation",
        )
        endpoint.refresh_from_db()
        assert endpoint.secret == secret
        modal.get_by_role("button", name="Renouveler le secret").click()
        new_field = page.get_by_label("Secret de signature")
        expect(new_field).to_be_visible()
        new_secret = new_field.input_value()
        endpoint.refresh_from_db()
        assert new_secret == endpoint.secret != secret
        assert endpoint.previous_secret == secret
        assert_no_serious_axe_violations(page)

        # Re-sent from the page: signed with both secrets during the 24 hours.
        receiver.secrets[:] = [new_secret]
        page.get_by_role("button", name=f"Renvoyer l’événement {request.json['id']}").click()
        expect(page.get_by_role("status").first).to_contain_text("renvoyé à")
        again = receiver.requests[-1]
        assert again.json["id"] == request.json["id"] and again.signed
        assert webhooks.verify_signature(secret, again.signature, again.body)
        assert WebhookDelivery.objects.count() == 2
        rows = page.get_by_role("row").filter(has_text=request.json["id"])
        expect(rows).to_have_count(2)
        expect(rows.first).to_contain_text("Renvoi demandé")
        expect(rows.last).not_to_contain_text("Renvoi demandé")
        screenshot(page, "webhooks-redelivered")
