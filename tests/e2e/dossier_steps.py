"""The dossier page in the browser: its checklist opens a proof in place, then a file
goes through that proof's upload form."""

import re

from playwright.sync_api import expect


def proof_block(page, identifier: str):
    """The block of a proof, its checklist line opened first when it is not yet."""
    block = page.locator(f'[data-item][data-identifier="{identifier}"]')
    if not block.count():
        pattern = re.compile(f"^(Déposer|Voir) {re.escape(identifier)}$")
        page.get_by_role("link", name=pattern).click()
    expect(block).to_be_visible()
    return block


def send_proof(page, identifier: str, *paths):
    block = proof_block(page, identifier)
    block.locator("input[type=file]").set_input_files([str(path) for path in paths])
    block.get_by_role("button", name="Envoyer", exact=True).click()
    return block
