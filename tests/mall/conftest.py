"""Fixtures: an app built with create_app on a migrated, seeded temporary SQLite file."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from mall.app import create_app
from mall.db import Database
from tests.mall.fixtures import AUTH, settings_for


@pytest.fixture
def client(db_url: str, database: Database) -> Iterator[TestClient]:
    app = create_app(settings_for(db_url), database=database)
    with TestClient(app, headers=AUTH) as test_client:
        yield test_client
