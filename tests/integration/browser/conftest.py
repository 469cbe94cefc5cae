"""Debian's headless Chromium, driven by Playwright, against a live hub on SQLite.

Nothing may leave the machine: every request to another origin is refused and recorded, and a
test fails unless it expected that request (a citizen clicking an official source link).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, sync_playwright

from tests.conftest import REPO_ROOT, LiveServer, make_settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = REPO_ROOT / "test-artifacts"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    var_dir = tmp_path_factory.mktemp("browser-hub")
    settings = make_settings(f"sqlite+aiosqlite:///{var_dir / 'govchat.db'}", var_dir)
    with LiveServer(settings) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (`make test` does)")
    # Module scope: Playwright's sync API runs its own event loop, stopped before other modules run.
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


class OutsideRequests:
    """Requests to any origin but the hub's: refused; each must be expected by its test."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.seen: list[str] = []
        self.expected: list[str] = []

    def is_outside(self, url: str) -> bool:
        return not (url.startswith(self.origin + "/") or url == self.origin or url.startswith("data:"))

    def refuse(self, route: Route) -> None:
        self.seen.append(route.request.url)
        route.abort("internetdisconnected")

    def unexpected(self) -> list[str]:
        return [url for url in self.seen if url not in self.expected]


@pytest.fixture
def outside(hub: LiveServer) -> OutsideRequests:
    return OutsideRequests(hub.url)


@pytest.fixture
def context_options() -> dict[str, object]:
    """Overridden per test (viewport, zoom) through indirect parametrization or redefinition."""
    return {"viewport": {"width": 1280, "height": 800}}


@pytest.fixture
def context(
    browser: Browser, hub: LiveServer, outside: OutsideRequests, context_options: dict[str, object]
) -> Iterator[BrowserContext]:
    created = browser.new_context(base_url=hub.url, locale="th-TH", **context_options)  # type: ignore[arg-type]
    created.route(outside.is_outside, outside.refuse)
    yield created
    created.close()
    assert outside.unexpected() == [], "the page tried to reach the internet"


@pytest.fixture
def page(context: BrowserContext, request: pytest.FixtureRequest) -> Iterator[Page]:
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    screenshot(opened, request.node.name + "-end")
    assert errors == [], f"JavaScript errors on the page: {errors}"


def screenshot(page: Page, name: str) -> Path:
    """A full-page PNG under test-artifacts/ (kept by CI as an artefact)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / ("webchat-" + re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") + ".png")
    if not page.is_closed():
        page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def shoot(page: Page, request: pytest.FixtureRequest) -> Callable[[str], Path]:
    """``shoot("answered")`` saves test-artifacts/webchat-<test>-answered.png."""
    return lambda moment: screenshot(page, f"{request.node.name}-{moment}")
