"""Mall database fixtures every test folder may use (tests/conftest.py registers them):
a migrated, seeded temporary SQLite copy per test, a throwaway PostgreSQL database, and the
service token test apps are built with."""

from __future__ import annotations

import contextlib
import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from mall.db import Database, upgrade
from mall.models import CouponTemplate
from mall.seeding import seed
from mall.services.profiles import ensure_customer
from mall.settings import Settings

PG_ADMIN = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "postgres"}
# The service token the test apps are built with; `client` sends it on every request.
TOKEN = "test-service-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def settings_for(url: str, **overrides: object) -> Settings:
    """Settings for a test app on `url`, with the test token."""
    return Settings(**{"database_url": url, "api_token": TOKEN, **overrides})  # type: ignore[arg-type]


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database file migrated and seeded once; each test works on its own copy."""
    path = tmp_path_factory.mktemp("mall-template") / "mall.db"
    upgrade(sqlite_url(path))
    database = Database(sqlite_url(path))
    with database.write_session() as session:
        seed(session=session)
    with database.engine.connect() as connection:
        # Fold the WAL into the main file so that copying the file copies everything.
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    database.dispose()
    return path


@pytest.fixture
def db_url(seeded_template: Path, tmp_path: Path) -> str:
    copy = tmp_path / "mall.db"
    shutil.copyfile(seeded_template, copy)
    return sqlite_url(copy)


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    db = Database(db_url)
    yield db
    db.dispose()


@contextlib.contextmanager
def throwaway_postgres(prefix: str) -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped afterwards (skips when the server
    on 127.0.0.1:5432 is not reachable)."""
    psycopg2 = pytest.importorskip("psycopg2")
    try:
        admin = psycopg2.connect(connect_timeout=3, **PG_ADMIN)
    except psycopg2.OperationalError as error:
        pytest.skip(f"PostgreSQL is not reachable on 127.0.0.1:5432: {error}")
    admin.autocommit = True
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL database, migrated, dropped afterwards."""
    with throwaway_postgres("mall_test") as url:
        upgrade(url)
        yield url


def database_with_customers(
    request: pytest.FixtureRequest, customer_ids: list[str], now: datetime
) -> Iterator[Database]:
    """For a fixture parametrised "sqlite" / "postgres": that database with these customers."""
    fixture = "db_url" if request.param == "sqlite" else "postgres_url"
    database = Database(request.getfixturevalue(fixture))
    with database.write_session() as session:
        for customer_id in customer_ids:
            ensure_customer(session=session, customer_id=customer_id, now=now)
    yield database
    database.dispose()


def coupon_template(template_id: str, *, stock: int = 999) -> CouponTemplate:
    """A plain ¥5 instant coupon for anyone, up to nine per customer."""
    return CouponTemplate(
        id=template_id,
        name="立减5元",
        kind="instant",
        amount=Decimal("5"),
        valid_days=7,
        per_user_limit=9,
        total_stock=stock,
        issued_count=0,
        segments=[],
        product_ids=[],
        category_ids=[],
        description="",
        active=True,
    )
