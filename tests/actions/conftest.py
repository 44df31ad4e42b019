"""Fixtures shared by the action tests."""

from __future__ import annotations

import pytest

from tests.actions.fakes import FakeMallClient


@pytest.fixture
def mall() -> FakeMallClient:
    """A fresh in-memory mall loaded with the demo catalogue."""
    return FakeMallClient()
