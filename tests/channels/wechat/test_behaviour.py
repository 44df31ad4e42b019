"""WeChat menu clicks and card scans become the mall's behaviour events, and reach it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text

from channels.wechat.behaviour import behaviour_event, post_events
from mall.app import create_app
from mall.db import Database
from mall.insight_settings import InsightSettings
from tests.mall.fixtures import settings_for
from tests.mall.live_server import live_server

KEY = "wechat-event-key-0123456789"
SENDER = "wx-o7Xh2-regular"


def push(event: str, key: str = "", created: int = 1764633600) -> dict[str, str]:
    return {"MsgType": "event", "Event": event, "EventKey": key, "CreateTime": str(created)}


@pytest.mark.parametrize(
    ("fields", "kind", "product", "properties"),
    [
        (push("CLICK", "product:P1001"), "product_view", "P1001", None),
        (push("CLICK", "cart:P1002"), "add_to_cart", "P1002", None),
        (
            push("CLICK", "compare:P1001,P1002"),
            "compare",
            "P1002",
            {"product_ids": ["P1001", "P1002"]},
        ),
        (push("CLICK", "share:P3001"), "share", "P3001", None),
        (push("CLICK", "search:降噪耳机"), "search", None, {"query": "降噪耳机"}),
        (
            push("VIEW", "https://m.example.com/item?product_id=P2004"),
            "product_view",
            "P2004",
            None,
        ),
        (push("SCAN", "card:card-li-digital"), "card_view", None, {"card_id": "card-li-digital"}),
        (
            push("subscribe", "qrscene_card:card-zhou-beauty"),
            "card_view",
            None,
            {"card_id": "card-zhou-beauty"},
        ),
    ],
)
def test_menu_clicks_links_and_card_scans_map_to_the_same_names(
    fields: dict[str, str], kind: str, product: str | None, properties: dict | None
) -> None:
    event = behaviour_event(fields, SENDER)
    assert event is not None
    assert (event["type"], event.get("product_id"), event.get("properties")) == (
        kind,
        product,
        properties,
    )
    assert event["customer_id"] == SENDER
    assert event["occurred_at"].startswith("2025-12-02T00:00:00")


@pytest.mark.parametrize(
    "fields",
    [
        push("CLICK", "open_orders"),
        push("CLICK", "product:"),
        push("CLICK", "product:../../x"),
        push("VIEW", "https://m.example.com/help"),
        push("SCAN", "qrscene_P1001"),
        push("subscribe"),
        {"MsgType": "text", "Content": "你好"},
    ],
)
def test_other_pushes_mean_no_event(fields: dict[str, str]) -> None:
    assert behaviour_event(fields, SENDER) is None


def test_a_retried_push_has_the_same_event_id() -> None:
    first = behaviour_event(push("CLICK", "cart:P1002"), SENDER)
    again = behaviour_event(push("CLICK", "cart:P1002"), SENDER)
    later = behaviour_event(push("CLICK", "cart:P1002", created=1764633601), SENDER)
    assert first and again and later
    assert first["id"] == again["id"] != later["id"]


@pytest.fixture
def mall_url(database: Database) -> Iterator[str]:
    settings = settings_for(database.url, insight=InsightSettings(event_keys={"wechat": KEY}))
    with live_server(create_app(settings, database=database)) as url:
        yield url


def test_events_reach_the_mall_once_with_the_wechat_key(mall_url: str, database: Database) -> None:
    import time

    now = int(time.time())
    events = [
        behaviour_event(push("SCAN", "card:card-zhou-beauty", created=now), SENDER),
        behaviour_event(push("CLICK", "cart:P1002", created=now), SENDER),
    ]
    batch = [event for event in events if event]
    assert post_events(mall_url, KEY, batch) == {"source": "wechat", "accepted": 2, "duplicates": 0}
    assert post_events(mall_url, KEY, batch)["duplicates"] == 2  # WeChat retried the push
    with database.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT type, card_id FROM behaviour_events WHERE source = 'wechat'")
        ).all()
    assert sorted(rows) == [("add_to_cart", "card-zhou-beauty"), ("card_view", "card-zhou-beauty")]
    with pytest.raises(httpx.HTTPStatusError):
        post_events(mall_url, "wrong-key-0123456789", batch)
