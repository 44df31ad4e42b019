"""Concurrent coupon claims against a real server and a real database.

Many customers race for a template with little stock and a per-user limit of one; the
database must end up with exactly the stock issued and nobody holding two. The same runs
on PostgreSQL when a server is reachable on 127.0.0.1:5432 (user postgres, trust auth).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select

from mall.app import create_app
from mall.db import Database
from mall.models import Coupon, CouponTemplate
from tests.mall.fixtures import AUTH, settings_for
from tests.mall.live_server import live_server


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend_url(request: pytest.FixtureRequest) -> str:
    fixture = "db_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def server(backend_url: str) -> Iterator[tuple[str, Database]]:
    database = Database(backend_url)
    with database.write_session() as session:
        for template_id, stock in (("T-RACE", 5), ("T-RACE-BIG", 100)):
            session.add(
                CouponTemplate(
                    id=template_id,
                    name="抢券测试立减10元",
                    kind="instant",
                    amount=Decimal("10"),
                    valid_days=7,
                    per_user_limit=1,
                    total_stock=stock,
                    issued_count=0,
                    segments=[],
                    product_ids=[],
                    category_ids=[],
                    description="",
                    active=True,
                )
            )
    app = create_app(settings_for(backend_url), database=database)
    with live_server(app) as base_url:
        yield base_url, database
    database.dispose()


def fire(base_url: str, claims: list[tuple[str, str, str]]) -> list[httpx.Response]:
    """Send every claim at once, each from its own thread (and its own connection)."""
    start = threading.Barrier(len(claims))
    limits = httpx.Limits(max_connections=len(claims), max_keepalive_connections=0)

    with httpx.Client(base_url=base_url, timeout=60, limits=limits, headers=AUTH) as client:

        def send(claim: tuple[str, str, str]) -> httpx.Response:
            customer, template_id, key = claim
            start.wait()
            return client.post(
                f"/customers/{customer}/coupons",
                json={"template_id": template_id, "idempotency_key": key},
            )

        with ThreadPoolExecutor(max_workers=len(claims)) as pool:
            return list(pool.map(send, claims))


def test_racing_claims_never_exceed_stock_or_per_user_limit(
    server: tuple[str, Database],
) -> None:
    base_url, database = server
    customers = [f"web-race-{n:02d}" for n in range(12)]
    claims = [(c, "T-RACE", f"{c}-try-{n}") for n in range(5) for c in customers]
    responses = fire(base_url, claims)

    statuses = Counter(r.status_code for r in responses)
    assert statuses[201] == 5, statuses
    assert statuses[201] + statuses[409] == 60, statuses
    refusals = Counter(r.json()["error"] for r in responses if r.status_code == 409)
    assert set(refusals) <= {"limit_reached", "out_of_stock"}

    with database.read_session() as session:
        held = session.execute(
            select(Coupon.customer_id, func.count())
            .where(Coupon.template_id == "T-RACE")
            .group_by(Coupon.customer_id)
        ).all()
        template = session.get(CouponTemplate, "T-RACE")
        codes = set(session.scalars(select(Coupon.code).where(Coupon.template_id == "T-RACE")))
    assert sum(count for _, count in held) == 5
    assert max(count for _, count in held) == 1
    assert template.issued_count == 5
    assert codes == {r.json()["code"] for r in responses if r.status_code == 201}


def test_racing_replays_of_one_key_issue_exactly_one_coupon(
    server: tuple[str, Database],
) -> None:
    base_url, database = server
    claims = [("web-race-same", "T-RACE-BIG", "one-key")] * 30
    responses = fire(base_url, claims)

    assert sorted(r.status_code for r in responses) == [200] * 29 + [201]
    bodies = [r.json() for r in responses]
    assert all(body == bodies[0] for body in bodies)
    with database.read_session() as session:
        codes = session.scalars(
            select(Coupon.code).where(Coupon.customer_id == "web-race-same")
        ).all()
        assert session.get(CouponTemplate, "T-RACE-BIG").issued_count == 1
    assert codes == [bodies[0]["code"]]
