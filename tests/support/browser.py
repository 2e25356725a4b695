"""Chromium for the portal's browser tests: the system's build (never a downloaded one), a page guard
that fails a test on any console error or failed request, a screenshot of every page under
tests/artifacts/, and an axe-core check (no serious or critical violations).

Fixtures: ``browser`` (one Chromium per test module: the sync API must not outlive the module into
the suite's asyncio tests), ``browser_context`` and ``page`` (per test, desktop
size; a test that wants a phone opens ``phone_context(browser)``). Chromium comes from
tests/support/ensure_chromium.sh (run by ``make test`` before the suite).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Request, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
BLOCKING_IMPACTS = {"serious", "critical"}


@dataclass
class PageGuard:
    """Everything that went wrong on a page: console errors, failed requests, HTTP errors (4xx/5xx)."""

    problems: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        """An expected failure (e.g. a page that answers 404 on purpose)."""
        self.allowed.append(re.compile(pattern))

    def _add(self, problem: str) -> None:
        if not any(p.search(problem) for p in self.allowed):
            self.problems.append(problem)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self._add(f"console error: {message.text} ({message.location.get('url')})")

    def on_failed(self, request: Request) -> None:
        self._add(f"request failed: {request.method} {request.url}: {request.failure}")

    def on_response(self, response: Any) -> None:
        if response.status >= 400:
            self._add(f"HTTP {response.status}: {response.request.method} {response.url}")

    def attach(self, page: Page) -> None:
        page.on("console", self.on_console)
        page.on("pageerror", lambda error: self._add(f"page error: {error}"))
        page.on("requestfailed", self.on_failed)
        page.on("response", self.on_response)

    def check(self) -> None:
        assert not self.problems, "the page had problems:\n  " + "\n  ".join(self.problems)


def launch(playwright: Any) -> Browser:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run tests/support/ensure_chromium.sh (make test does)")
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox", "--disable-gpu"]
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@contextmanager
def new_context(browser: Browser, viewport: dict[str, int], **options: Any) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport=viewport, **options)  # type: ignore[arg-type]
    try:
        yield context
    finally:
        context.close()


def phone_context(browser: Browser, **options: Any) -> Any:
    return new_context(browser, PHONE, is_mobile=True, has_touch=True, device_scale_factor=2, **options)


@pytest.fixture
def browser_context(browser: Browser) -> Iterator[BrowserContext]:
    with new_context(browser, DESKTOP) as context:
        yield context


@pytest.fixture
def page(browser_context: BrowserContext) -> Page:
    return browser_context.new_page()


def screenshot(page: Page, name: str) -> Path:
    """A full-page screenshot under tests/artifacts/ (git-ignored; CI keeps it)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def assert_accessible(page: Page, name: str) -> None:
    """axe-core on the page as it is now: no violation of impact serious or critical."""
    results = Axe().run(page)
    violations = [v for v in results.response.get("violations", []) if v.get("impact") in BLOCKING_IMPACTS]
    details = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n.get('target') for n in v.get('nodes', [])][:3]}"
        for v in violations
    ]
    assert not violations, f"accessibility violations on {name}:\n  " + "\n  ".join(details)


def visit(page: Page, guard: PageGuard, url: str, name: str) -> None:
    """Open ``url``, wait for the network to settle, screenshot it, check axe and the guard."""
    page.goto(url, wait_until="networkidle")
    checked(page, guard, name)


def checked(page: Page, guard: PageGuard, name: str) -> None:
    page.wait_for_load_state("networkidle")
    screenshot(page, name)
    assert_accessible(page, name)
    guard.check()
