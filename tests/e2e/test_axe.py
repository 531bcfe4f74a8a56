"""The axe-core helper itself: it finds what it must find, and the pages it guards."""

import pytest

from tests.e2e.axe import assert_no_serious_axe_violations, axe_violations


def test_the_helper_fails_on_a_field_without_a_label(page):
    page.goto("/")
    page.set_content(
        '<html lang="fr"><head><title>Essai</title></head>'
        '<body><main><h1>Essai</h1><input type="text" name="x"></main></body></html>'
    )
    assert "label" in {violation["id"] for violation in axe_violations(page)}
    with pytest.raises(AssertionError, match=r"\[critical\] label"):
        assert_no_serious_axe_violations(page)


def test_the_home_page_has_no_serious_violation(page):
    page.goto("/")
    assert_no_serious_axe_violations(page)
