"""Browser fixtures: Debian's chromium driven by playwright, and the real assistant behind it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from launcher.settings import StackSettings
from launcher.stack import Stack
from tests.integration.conftest import stack_settings


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The whole assistant (mall with the shop page, actions, Rasa with the web channel)."""
    if not StackSettings.from_env().model_path.exists():
        pytest.fail("no trained model: run `make train` first")
    settings = stack_settings(tmp_path_factory.mktemp("browser-stack"))
    # The demo page's "browse as a demo customer" switch is off unless asked for.
    running = Stack(settings.replace(extra_env={**settings.extra_env, "SHOP_DEMO_SIGN_IN": "1"}))
    running.start(timeout=240)
    yield running
    running.stop()
