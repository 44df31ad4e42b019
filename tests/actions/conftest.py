"""Fixtures shared by the action tests: the real mall app in-process on a seeded copy."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mall.app import create_app
from mall.db import Database
from mall.metrics import HANDOFF_QUEUE
from mall.services.events import EventBudget
from tests.actions.live_mall import LiveMall
from tests.mall.fixtures import settings_for, sqlite_url


@pytest.fixture(scope="session")
def mall_app(
    seeded_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    """The mall's app, built once (building its routes is most of the cost of a test)."""
    path = tmp_path_factory.mktemp("mall-app") / "mall.db"
    shutil.copyfile(seeded_template, path)
    database = Database(sqlite_url(path))
    with TestClient(create_app(settings_for(sqlite_url(path)), database=database)) as client:
        yield client


@pytest.fixture
def mall(mall_app: TestClient, db_url: str, database: Database) -> LiveMall:
    """The mall on this test's own copy of the seeded demo database.

    People answer at any hour here and one agent is online, so a handoff test does not
    depend on the clock; `close_the_desk` and `agents_away` change that.
    """
    settings = settings_for(db_url)
    state = mall_app.app.state  # type: ignore[attr-defined]
    state.settings = settings
    state.database = database
    state.event_budget = EventBudget(settings.insight.event_rate_limit)
    HANDOFF_QUEUE.database = database
    live = LiveMall(mall_app, database, settings)
    live.set_service_hours("00:00-24:00")
    live.agent_online()
    return live
