"""axe-core (vendored from npm under tests/vendor) run inside a Playwright page."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

from tests.conftest import REPO_ROOT

AXE_SCRIPT = REPO_ROOT / "tests" / "vendor" / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS = ("serious", "critical")


def serious_violations(page: Page, selector: str | None = None) -> list[dict[str, Any]]:
    """axe's serious and critical violations on the page (or under ``selector``), shadow roots included.

    Each item is ``{"id", "impact", "help", "targets"}`` so an assertion message says what to fix.
    """
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol: the pages' CSP (script-src 'self') stays as served.
        page.evaluate(AXE_SCRIPT.read_text(encoding="utf-8"))
    results = page.evaluate(
        """async (selector) => {
            const context = selector ? document.querySelector(selector) : document;
            const found = await axe.run(context, {resultTypes: ['violations']});
            return found.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.map((n) => n.target.join(' ')).slice(0, 5),
            }));
        }""",
        selector,
    )
    return [violation for violation in results if violation["impact"] in BLOCKING_IMPACTS]
