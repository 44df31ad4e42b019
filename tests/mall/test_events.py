"""Behaviour events in batches from the channels: keys, idempotency, validation, rate limit.

Every refused batch is checked against a digest of the tables it could have written.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from mall.app import create_app
from mall.db import Database
from mall.insight_settings import InsightSettings, InsightSettingsError, read_event_keys
from mall.services.events import EventBudget
from security.ratelimit import Limit
from tests.mall.fixtures import TOKEN, settings_for

SHOP_KEY = "shop-key-0123456789abcdef"
WIDGET_KEY = "widget-key-0123456789abcdef"
WECHAT_KEY = "wechat-key-0123456789abcdef"
KEYS = {"shop": SHOP_KEY, "widget": WIDGET_KEY, "wechat": WECHAT_KEY}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def make_client(db_url: str, database: Database, **insight: Any) -> TestClient:
    settings = settings_for(db_url, insight=InsightSettings(event_keys=KEYS, **insight))
    return TestClient(create_app(settings, database=database))


@pytest.fixture
def channel(db_url: str, database: Database) -> Iterator[TestClient]:
    with make_client(db_url, database) as client:
        yield client


def now() -> datetime:
    return datetime.now(timezone.utc)


def event(event_id: str, kind: str = "product_view", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": event_id,
        "type": kind,
        "customer_id": fields.pop("customer_id", "web-visitor-1"),
        "occurred_at": fields.pop("occurred_at", now().isoformat()),
    }
    if kind in ("product_view", "add_to_cart", "remove_from_cart", "compare"):
        body["product_id"] = "P1001"
    body.update(fields)
    return body


def digest(database: Database) -> str:
    """Everything a batch could write: events, customers (card, last visit)."""
    with database.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT 'e', id, customer_id, type, source, event_id, card_id FROM behaviour_events"
                " UNION ALL SELECT 'c', 0, id, card_id, last_visit_at, segment, '' FROM customers"
                " ORDER BY 1, 2, 3"
            )
        ).all()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def stored(database: Database, source: str) -> list[tuple[Any, ...]]:
    with database.engine.connect() as connection:
        return connection.execute(
            text(
                "SELECT event_id, customer_id, type, product_id, card_id FROM behaviour_events"
                " WHERE source = :source ORDER BY event_id"
            ),
            {"source": source},
        ).all()


def test_a_batch_from_the_shop_is_recorded_with_its_source(
    channel: TestClient, database: Database
) -> None:
    batch = {
        "events": [
            event("s-1"),
            event("s-2", "add_to_cart"),
            event("s-3", "search", properties={"query": "蓝牙耳机"}),
            event("s-4", "compare", properties={"product_ids": ["P1001", "P1002"]}),
            event("s-5", "share"),
            event("s-6", "remove_from_cart"),
        ]
    }
    answer = channel.post("/events", json=batch, headers=bearer(SHOP_KEY))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"source": "shop", "accepted": 6, "duplicates": 0}
    rows = stored(database, "shop")
    assert [row[0] for row in rows] == ["s-1", "s-2", "s-3", "s-4", "s-5", "s-6"]
    assert {row[1] for row in rows} == {"web-visitor-1"}
    # The visitor became a new web customer with a last visit.
    with database.engine.connect() as connection:
        channel_name, segment, last = connection.execute(
            text("SELECT channel, segment, last_visit_at FROM customers WHERE id='web-visitor-1'")
        ).one()
    assert (channel_name, segment) == ("web", "new") and last is not None


def test_the_same_events_sent_again_are_recorded_once(
    channel: TestClient, database: Database
) -> None:
    batch = {"events": [event("r-1"), event("r-2", "add_to_cart")]}
    assert channel.post("/events", json=batch, headers=bearer(SHOP_KEY)).json()["accepted"] == 2
    again = channel.post("/events", json=batch, headers=bearer(SHOP_KEY)).json()
    assert (again["accepted"], again["duplicates"]) == (0, 2)
    overlapping = {"events": [event("r-2", "add_to_cart"), event("r-3"), event("r-3")]}
    assert channel.post("/events", json=overlapping, headers=bearer(SHOP_KEY)).json() == {
        "source": "shop",
        "accepted": 1,
        "duplicates": 2,
    }
    assert [row[0] for row in stored(database, "shop")] == ["r-1", "r-2", "r-3"]
    # Ids are per channel: the widget's r-1 is another event.
    assert channel.post(
        "/events", json={"events": [event("r-1")]}, headers=bearer(WIDGET_KEY)
    ).json() == {"source": "widget", "accepted": 1, "duplicates": 0}


def test_concurrent_retries_of_one_batch_record_each_event_once(
    db_url: str, database: Database
) -> None:
    batch = {"events": [event(f"c-{n}", customer_id=f"web-race-{n % 3}") for n in range(50)]}
    results: list[dict[str, Any]] = []
    with make_client(db_url, database) as client:

        def send() -> None:
            results.append(client.post("/events", json=batch, headers=bearer(SHOP_KEY)).json())

        threads = [threading.Thread(target=send) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sum(result["accepted"] for result in results) == 50
    assert len(stored(database, "shop")) == 50


def test_a_card_link_attributes_the_customer_first_touch_by_default(
    channel: TestClient, database: Database
) -> None:
    first = event("a-1", "card_view", properties={"card_id": "card-zhou-beauty"})
    later = event(
        "a-2",
        "card_view",
        properties={"card_id": "card-li-digital"},
        occurred_at=(now() + timedelta(seconds=1)).isoformat(),
    )
    view = event("a-3", occurred_at=(now() + timedelta(seconds=2)).isoformat())
    body = {"events": [first, later, view]}
    assert channel.post("/events", json=body, headers=bearer(WECHAT_KEY)).status_code == 200
    with database.engine.connect() as connection:
        card = connection.execute(
            text("SELECT card_id FROM customers WHERE id='web-visitor-1'")
        ).scalar()
    assert card == "card-zhou-beauty"
    # Every event of the customer carries the card they were attributed to.
    assert {row[4] for row in stored(database, "wechat")} == {"card-zhou-beauty"}


def test_last_touch_attribution_moves_the_customer_to_the_latest_card(
    db_url: str, database: Database
) -> None:
    with make_client(db_url, database, attribution="last") as client:
        body = {
            "events": [
                event(
                    "l-1",
                    "card_view",
                    customer_id="wx-o7Xh2-regular",
                    properties={"card_id": "card-zhou-beauty"},
                )
            ]
        }
        assert client.post("/events", json=body, headers=bearer(WECHAT_KEY)).status_code == 200
    with database.engine.connect() as connection:
        card = connection.execute(
            text("SELECT card_id FROM customers WHERE id='wx-o7Xh2-regular'")
        ).scalar()
    assert card == "card-zhou-beauty"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer "},
        {"Authorization": f"Bearer {SHOP_KEY[:-1]}x"},
        {"Authorization": f"Basic {SHOP_KEY}"},
        {"Authorization": SHOP_KEY},
        # The service token reads every customer; it is not a channel key.
        {"Authorization": f"Bearer {TOKEN}"},
    ],
    ids=["none", "empty", "wrong", "basic", "bare", "service-token"],
)
def test_without_a_channel_key_nothing_is_written(
    channel: TestClient, database: Database, headers: dict[str, str]
) -> None:
    before = digest(database)
    answer = channel.post("/events", json={"events": [event("k-1")]}, headers=headers)
    assert answer.status_code == 401
    assert answer.json()["error"] == "unauthorized"
    assert "渠道" in answer.json()["message"]
    # Not even a malformed body is looked at before the key.
    assert channel.post("/events", content=b"{not json", headers=headers).status_code == 401
    assert digest(database) == before


def test_another_channels_key_cannot_speak_for_it(channel: TestClient, database: Database) -> None:
    before = digest(database)
    answer = channel.post(
        "/events", json={"source": "wechat", "events": [event("o-1")]}, headers=bearer(SHOP_KEY)
    )
    assert answer.status_code == 403
    assert answer.json()["error"] == "wrong_channel"
    assert "shop" in answer.json()["message"]
    assert digest(database) == before


def test_no_keys_configured_means_no_ingestion(db_url: str, database: Database) -> None:
    settings = settings_for(db_url)
    with TestClient(create_app(settings, database=database)) as client:
        answer = client.post("/events", json={"events": [event("n-1")]}, headers=bearer(SHOP_KEY))
        assert answer.status_code == 401


@pytest.mark.parametrize(
    ("bad", "field", "words"),
    [
        (event("v-1", "teleport"), "type", "未知的事件类型 teleport"),
        (event("v-1", "order"), "type", "order 由商城自己记录"),
        (event("v-1", "consult"), "type", "consult 由商城自己记录"),
        (event("v-1", product_id="P9999"), "product_id", "没有找到商品 P9999"),
        (
            event("v-1", occurred_at=(now() + timedelta(hours=1)).isoformat()),
            "occurred_at",
            "时间在未来",
        ),
        (
            event("v-1", occurred_at=(now() - timedelta(days=40)).isoformat()),
            "occurred_at",
            "早于 30 天前",
        ),
        (event("v-1", occurred_at="2026-12-01T08:00:00"), "occurred_at", "时区"),
        (event("v-1", customer_id="web/../../etc"), "customer_id", "顾客 id"),
        (event("bad id!"), "id", "事件 id"),
        (event("v-1", "card_view"), "properties.card_id", "card_view 需要"),
        (
            event("v-1", "card_view", properties={"card_id": "card-nobody"}),
            "properties.card_id",
            "没有找到名片",
        ),
        (event("v-1", properties={"blob": "x" * 2000}), "properties", "1024"),
    ],
    ids=[
        "unknown-type",
        "order-from-a-browser",
        "consult-from-a-browser",
        "unknown-product",
        "future",
        "too-old",
        "naive-time",
        "bad-customer",
        "bad-id",
        "card-view-without-card",
        "unknown-card",
        "big-properties",
    ],
)
def test_a_bad_event_refuses_the_whole_batch_clearly(
    channel: TestClient, database: Database, bad: dict[str, Any], field: str, words: str
) -> None:
    before = digest(database)
    body = {"events": [event("v-0"), bad, event("v-2")]}
    answer = channel.post("/events", json=body, headers=bearer(SHOP_KEY))
    assert answer.status_code == 422, answer.text
    payload = answer.json()
    assert payload["error"] == "invalid_request"
    assert "第2条" in payload["message"] and words in payload["message"]
    assert payload["problems"][0]["index"] == 1 and payload["problems"][0]["field"] == field
    assert digest(database) == before


@pytest.mark.parametrize(
    "body",
    [
        {"events": [{"id": "m-1"}]},
        {"events": "lots"},
        {"nothing": []},
        {"events": []},
        [event("m-1")],
    ],
    ids=["missing-fields", "not-a-list", "no-events", "empty", "bare-list"],
)
def test_malformed_batches_are_refused(channel: TestClient, database: Database, body: Any) -> None:
    before = digest(database)
    answer = channel.post("/events", json=body, headers=bearer(SHOP_KEY))
    assert answer.status_code == 422
    assert answer.json()["error"] == "invalid_request"
    assert channel.post("/events", content=b"{oops", headers=bearer(SHOP_KEY)).status_code == 422
    assert digest(database) == before


def test_an_oversized_batch_is_refused_whole(db_url: str, database: Database) -> None:
    before = digest(database)
    with make_client(db_url, database, max_batch_events=20) as client:
        body = {"events": [event(f"b-{n}") for n in range(21)]}
        answer = client.post("/events", json=body, headers=bearer(SHOP_KEY))
        assert answer.status_code == 413
        assert answer.json()["error"] == "too_large"
        assert "最多发送 20 条" in answer.json()["message"]
        body = {"events": [event(f"b-{n}") for n in range(20)]}
        assert client.post("/events", json=body, headers=bearer(SHOP_KEY)).status_code == 200
    assert len(stored(database, "shop")) == 20 and digest(database) != before


def test_each_channel_has_its_own_rate_limit(db_url: str, database: Database) -> None:
    with make_client(db_url, database, event_rate_limit=Limit(10, 60)) as client:
        first = {"events": [event(f"t-{n}") for n in range(8)]}
        assert client.post("/events", json=first, headers=bearer(SHOP_KEY)).status_code == 200
        before = digest(database)
        more = {"events": [event(f"t-{n}") for n in range(8, 11)]}
        answer = client.post("/events", json=more, headers=bearer(SHOP_KEY))
        assert answer.status_code == 429
        assert answer.json()["error"] == "rate_limited"
        assert int(answer.headers["Retry-After"]) >= 1
        assert digest(database) == before
        # The widget's budget is its own.
        assert client.post("/events", json=more, headers=bearer(WIDGET_KEY)).status_code == 200


def test_the_token_bucket_refills_over_time() -> None:
    clock = [0.0]
    budget = EventBudget(Limit(100, 10), clock=lambda: clock[0])
    assert budget.take("shop", 100) is None
    wait = budget.take("shop", 20)
    assert wait == pytest.approx(2.0)
    clock[0] = 2.0
    assert budget.take("shop", 20) is None
    assert budget.take("shop", 101) is not None  # never fits
    assert EventBudget(Limit(0, 1)).take("shop", 10**6) is None  # 0: off


def test_event_keys_must_be_real_and_distinct() -> None:
    assert read_event_keys({"SHOP_EVENT_KEY": SHOP_KEY, "WECHAT_EVENT_KEY": WECHAT_KEY}) == {
        "shop": SHOP_KEY,
        "wechat": WECHAT_KEY,
    }
    assert read_event_keys({"MALL_EVENT_KEY": SHOP_KEY}) == {}  # the mall sends no events
    for env in (
        {"SHOP_EVENT_KEY": "short"},
        {"WIDGET_EVENT_KEY": "changeme"},
        {"SHOP_EVENT_KEY": SHOP_KEY, "WIDGET_EVENT_KEY": SHOP_KEY},
    ):
        with pytest.raises(InsightSettingsError):
            read_event_keys(env)
    with pytest.raises(InsightSettingsError, match="ATTRIBUTION"):
        InsightSettings.from_env({"ATTRIBUTION": "middle"})
    assert InsightSettings.from_env({}).attribution == "first"


def test_the_schema_documents_the_channel_key(channel: TestClient) -> None:
    spec = channel.get("/openapi.json", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert spec["paths"]["/events"]["post"]["security"] == [{"channelKey": []}]
