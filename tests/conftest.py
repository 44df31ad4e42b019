"""Fixtures shared by every test folder: the mall's test databases, Debian's chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from launcher.settings import ROOT, StackSettings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    # This machine has no internet: without these chromium keeps dialling Google's hosts.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = ROOT / "var" / "artifacts" / "screenshots"

# The mall's database fixtures (seeded SQLite copy, PostgreSQL), for the mall and the desk.
pytest_plugins = ["tests.mall.fixtures"]


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """A headless chromium (the distribution's, never a downloaded one).

    Module-scoped: playwright's sync API keeps an event loop running while it is open, which
    would break the asyncio tests of other modules.
    """
    if not CHROMIUM.exists():
        pytest.skip("browser tests need Debian's chromium at /usr/bin/chromium (`make browser`)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where screenshots go as test artefacts (var/ is git-ignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture(scope="session")
def trained_model() -> Path:
    """The trained model; integration tests need `make train` (make test runs it first)."""
    settings = StackSettings.from_env()
    if not settings.model_path.exists():
        pytest.fail(f"no trained model at {settings.model_path}: run `make train` first")
    return settings.model_path
