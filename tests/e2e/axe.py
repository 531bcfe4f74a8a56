"""axe-core in the browser tests: a page has no serious or critical accessibility
violation.

axe-core comes from npm (package.json, package-lock.json at the root of the project;
`make test` installs it with `npm ci`). Its source is evaluated in the page through the
DevTools protocol, which the page's strict CSP does not govern: no script tag is added,
so the page stays exactly as users get it.

    from tests.e2e.axe import assert_no_serious_axe_violations

    assert_no_serious_axe_violations(page)                    # the whole page
    assert_no_serious_axe_violations(page, include="#lot")    # one part of it
"""

from functools import cache
from pathlib import Path

import pytest
from django.conf import settings

AXE_SOURCE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS = ("serious", "critical")


@cache
def _axe_source() -> str:
    if not AXE_SOURCE.exists():
        pytest.fail(
            f"{AXE_SOURCE} absent : lancez `npm ci` à la racine du projet (make test le fait)"
        )
    return AXE_SOURCE.read_text(encoding="utf-8")


def axe_violations(page, *, include: str | None = None) -> list[dict]:
    """Every violation axe-core finds on the page as it is now (or in `include`, a CSS
    selector), with all of axe's rules: WCAG 2.x A and AA, and best practices."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    return page.evaluate(
        """async (include) => {
            const result = await window.axe.run(include ? {include: [include]} : document,
                                                {resultTypes: ["violations"]});
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                nodes: v.nodes.map((n) => ({target: n.target.join(" "),
                                            html: n.html.slice(0, 200),
                                            summary: n.failureSummary})),
            }));
        }""",
        include,
    )


def describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"[{violation['impact']}] {violation['id']} : {violation['help']}")
        lines.append(f"    {violation['helpUrl']}")
        for node in violation["nodes"][:5]:
            lines.append(f"    - {node['target']} : {node['html']}")
            lines.append(f"      {node['summary']}".replace("\n", "\n      "))
        if len(violation["nodes"]) > 5:
            lines.append(f"    … et {len(violation['nodes']) - 5} autre(s) élément(s)")
    return "\n".join(lines)


def assert_no_serious_axe_violations(page, *, include: str | None = None) -> list[dict]:
    """Fail on any serious or critical violation; return the lesser ones (moderate,
    minor) for a test that wants to look at them."""
    violations = axe_violations(page, include=include)
    blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
    assert not blocking, f"axe-core sur {page.url} :\n{describe(blocking)}"
    return violations
