"""Behaviour events from the shop page through the desk into the real mall on loopback."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from desk.app import create_app as create_desk
from desk.settings import DeskSettings
from desk.shop import DEMO_COOKIE, VISITOR_COOKIE, demo_cookie_value
from mall.app import create_app as create_mall
from mall.db import Database
from mall.insight_settings import InsightSettings
from tests.desk.conftest import FakeRasa, with_settings
from tests.mall.fixtures import TOKEN, settings_for
from tests.mall.live_server import live_server

SECRET = "web-secret-0123456789"
SHOP_KEY = "shop-event-key-0123456789"
WIDGET_KEY = "widget-event-key-0123456789"
ORIGIN = {"Origin": "http://testserver"}


@pytest.fixture
def keyed_mall(database: Database) -> Iterator[str]:
    keys = {"shop": SHOP_KEY, "widget": WIDGET_KEY}
    app = create_mall(
        settings_for(database.url, insight=InsightSettings(event_keys=keys)), database=database
    )
    with live_server(app) as url:
        yield url


@pytest.fixture
def shop(keyed_mall: str) -> FastAPI:
    settings = DeskSettings(
        mall_api_url=keyed_mall,
        mall_api_token=TOKEN,
        rasa_api_token="rasa-token-0123456789",
        handoff_token="handoff-token-0123456789",
        web_channel_secret=SECRET,
        widget_script_url="http://127.0.0.1:5005/webhooks/web/widget.js",
        shop_event_key=SHOP_KEY,
        widget_event_key=WIDGET_KEY,
    )
    return create_desk(settings, rasa=FakeRasa())  # type: ignore[arg-type]


def visitor(app: FastAPI) -> TestClient:
    client = TestClient(app)
    page = client.get("/shop")
    assert page.status_code == 200 and VISITOR_COOKIE in client.cookies
    assert '<script src="/static/shop.js" defer></script>' in page.text
    return client


def event(kind: str, **fields: Any) -> dict[str, Any]:
    return {"id": uuid.uuid4().hex, "type": kind, **fields}


def rows(database: Database) -> list[tuple[Any, ...]]:
    with database.engine.connect() as connection:
        return connection.execute(
            text(
                "SELECT customer_id, type, product_id, source FROM behaviour_events "
                "WHERE source IN ('shop', 'widget') ORDER BY id"
            )
        ).all()


def test_a_visitors_events_reach_the_mall_under_their_own_visitor_id(
    shop: FastAPI, database: Database
) -> None:
    client = visitor(shop)
    batch = {
        "events": [
            event("product_view", product_id="P1001"),
            event("add_to_cart", product_id="P1001"),
            event("compare", product_id="P1002", properties={"product_ids": ["P1001", "P1002"]}),
            event("search", properties={"query": "耳机"}),
            event("product_view", product_id="P1001", channel="widget"),
        ]
    }
    answer = client.post("/shop/events", json=batch, headers=ORIGIN)
    assert answer.status_code == 200, answer.text
    assert answer.json()["recorded"] == {
        "shop": {"accepted": 4, "duplicates": 0},
        "widget": {"accepted": 1, "duplicates": 0},
    }
    stored = rows(database)
    customers = {row[0] for row in stored}
    assert len(customers) == 1 and next(iter(customers)).startswith("web-v-")
    assert [row[3] for row in stored].count("widget") == 1
    # The same batch again (a retry) is recorded once.
    again = client.post("/shop/events", json=batch, headers=ORIGIN).json()["recorded"]
    assert again["shop"] == {"accepted": 0, "duplicates": 4}
    assert len(rows(database)) == 5


def test_a_signed_in_demo_customer_and_a_card_link(shop: FastAPI, database: Database) -> None:
    with_settings(shop, shop_demo_sign_in=True)
    client = visitor(shop)
    client.cookies.set(DEMO_COOKIE, demo_cookie_value(SECRET, "wx-o7Xh2-regular"))
    assert 'data-card="card-zhou-beauty"' in client.get("/shop?card=card-zhou-beauty").text
    batch = {"events": [event("card_view", properties={"card_id": "card-zhou-beauty"})]}
    assert client.post("/shop/events", json=batch, headers=ORIGIN).status_code == 200
    assert rows(database) == [("wx-o7Xh2-regular", "card_view", None, "shop")]
    with database.engine.connect() as connection:
        card = connection.execute(
            text("SELECT card_id FROM customers WHERE id = 'wx-o7Xh2-regular'")
        ).scalar()
    assert card == "card-zhou-beauty"  # 张先生 had no card: first touch


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({"Origin": "http://evil.example"}, {"events": [event("share")]}, 403),
        ({}, {"events": [event("share")]}, 403),
        (ORIGIN, {"events": [event("order", product_id="P1001")]}, 422),
        (ORIGIN, {"events": [event("consult")]}, 422),
        (ORIGIN, {"events": [event("share", channel="wechat")]}, 422),
        (ORIGIN, {"events": [event("share", customer_id="wx-o7Xh2-vip")]}, 200),
        (ORIGIN, {"events": [event("product_view", product_id="P9999")]}, 422),
        (ORIGIN, {"events": [event("share")] * 51}, 413),
        (ORIGIN, {"events": []}, 422),
        (ORIGIN, {"events": [{"id": "short", "type": "share"}]}, 422),
    ],
    ids=[
        "other-origin",
        "no-origin",
        "order-from-a-page",
        "consult-from-a-page",
        "unknown-channel",
        "naming-a-customer-is-ignored",
        "unknown-product",
        "oversized",
        "empty",
        "bad-id",
    ],
)
def test_what_a_page_cannot_do(
    shop: FastAPI, database: Database, headers: dict[str, str], body: Any, status: int
) -> None:
    client = visitor(shop)
    answer = client.post("/shop/events", json=body, headers=headers)
    assert answer.status_code == status, answer.text
    stored = rows(database)
    if status == 200:
        # The page cannot speak for another customer: the event is the visitor's.
        assert len(stored) == 1 and stored[0][0].startswith("web-v-")
    else:
        assert stored == []


def test_no_visitor_cookie_or_a_forged_one_records_nothing(
    shop: FastAPI, database: Database
) -> None:
    stranger = TestClient(shop)
    body = {"events": [event("share")]}
    assert stranger.post("/shop/events", json=body, headers=ORIGIN).status_code == 401
    stranger.cookies.set(VISITOR_COOKIE, "web-v-0011223344556677.forged")
    assert stranger.post("/shop/events", json=body, headers=ORIGIN).status_code == 401
    assert rows(database) == []


def test_events_are_rate_limited_per_address(shop: FastAPI, database: Database) -> None:
    from security.ratelimit import Limit, RateLimiter

    shop.state.desk.event_limiter = RateLimiter(Limit(2, 60))
    client = visitor(shop)
    for _ in range(2):
        body = {"events": [event("share")]}
        assert client.post("/shop/events", json=body, headers=ORIGIN).status_code == 200
    refused = client.post("/shop/events", json={"events": [event("share")]}, headers=ORIGIN)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert len(rows(database)) == 2


def test_without_event_keys_the_desk_says_events_are_off(shop: FastAPI, database: Database) -> None:
    with_settings(shop, shop_event_key="")
    client = visitor(shop)
    answer = client.post("/shop/events", json={"events": [event("share")]}, headers=ORIGIN)
    assert answer.status_code == 503 and "SHOP_EVENT_KEY" in answer.json()["message"]
    assert rows(database) == []
