"""A simulated week of conversations with hand-counted answers, shared by the consumer's
tests and the dashboard's browser test.

Rasa's own classes write it: `SQLTrackerStore` with Rasa's `SQLEventBroker`, so the events
reach the broker's table exactly as `rasa run` publishes them, and the tracker store holds
the same events (what the consumer recovers from).

| # | customer (channel, segment, card, variant) | day | what happens |
| 1 | A web high_value card-li pitch/plain | 11-23 | welcome, price, offer, coupon issued;
|   |                                      |       | answered in 2 s; orders 11-24 |
| 2 | B wechat new card-li pitch/plain | 11-24 | welcome, price; answered after 90 s |
| 3 | C web price_sensitive (no card) pitch/warm | 11-25 | angry, handed off (angry), agent
|   |                                            |       | after 120 s, handed back; orders
|   |                                            |       | 12-05 (too late) |
| 4 | D wechat regular card-wang (none) | 11-25 | welcome, two messages not understood |
| 5 | A again (new session) | 11-27 | answered in 3 s |
| 6 | D again | 11-28 | never answered |
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from rasa.core.brokers.sql import SQLEventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from mall.db import Database, upgrade
from mall.models import Customer, DistributorCard, ExperimentExposure, Order

UNTIL = datetime(2026, 11, 30, tzinfo=timezone.utc)
SINCE = UNTIL - timedelta(days=7)
CUSTOMERS = {
    # id: (channel, segment, card)
    "web-week-A": ("web", "high_value", "card-li"),
    "wx-week-B": ("wechat", "new", "card-li"),
    "web-week-C": ("web", "price_sensitive", None),
    "wx-week-D": ("wechat", "regular", "card-wang"),
}
SLOTS = ("sales_stage", "offered_coupon", "issued_coupon", "handoff_reason")
DOMAIN = Domain.from_dict(
    {"slots": {name: {"type": "any", "mappings": [{"type": "custom"}]} for name in SLOTS}}
)
VARIANTS = {"web-week-A": "plain", "wx-week-B": "plain", "web-week-C": "warm"}


def at(day: int, hour: int = 10, second: float = 0) -> float:
    """Epoch seconds on 2026-11-<day>."""
    return datetime(2026, 11, day, hour, tzinfo=timezone.utc).timestamp() + second


def user(
    text: str,
    when: float,
    channel: str,
    intent: str = "greet",
    label: str | None = None,
    score: float | None = None,
) -> UserUttered:
    parse: dict[str, Any] = {
        "intent": {"name": intent, "confidence": 0.9},
        "entities": [],
        "text": text,
    }
    if label is not None:
        parse["sentiment"] = {"score": score, "label": label}
    return UserUttered(
        text, intent=parse["intent"], parse_data=parse, input_channel=channel, timestamp=when
    )


def bot(when: float, agent: str | None = None) -> BotUttered:
    return BotUttered("好的", metadata={"agent": agent} if agent else {}, timestamp=when)


def act(name: str, when: float) -> ActionExecuted:
    return ActionExecuted(name, timestamp=when)


def slot(name: str, value: str, when: float) -> SlotSet:
    return SlotSet(name, value, timestamp=when)


def conversations() -> dict[str, list[list[Event]]]:
    """Each customer's sessions, each saved as its own tracker save (as turns are)."""
    a1, b, c, d1, a2, d2 = at(23), at(24), at(25), at(25, 14), at(27), at(28)
    return {
        "web-week-A": [
            [
                SessionStarted(timestamp=a1 - 1),
                act("action_welcome", a1 - 0.5),
                bot(a1 - 0.4),
                user("蓝牙耳机多少钱", a1, "web", "ask_price", "neutral", 0.0),
                act("action_quote_price", a1 + 1),
                slot("sales_stage", "price_quoted", a1 + 1.5),
                bot(a1 + 2),
            ],
            [
                user("有优惠吗", a1 + 30, "web", "ask_discount", "positive", 0.6),
                slot("sales_stage", "coupon_offered", a1 + 31),
                slot("offered_coupon", "T-WEEK", a1 + 31),
                bot(a1 + 31.5),
                user("好的 帮我领", a1 + 60, "web", "affirm", "positive", 0.7),
                slot("issued_coupon", "CP-WEEK-1", a1 + 61),
                bot(a1 + 61.5),
            ],
            [
                SessionStarted(timestamp=a2 - 1),
                user("发货了吗", a2, "web", "ask_order_status"),
                bot(a2 + 3),
            ],
        ],
        "wx-week-B": [
            [
                SessionStarted(timestamp=b - 1),
                user("在吗", b, "wechat", "greet"),
                act("action_welcome", b + 89),
                bot(b + 90),
                slot("sales_stage", "price_quoted", b + 95),
            ]
        ],
        "web-week-C": [
            [
                SessionStarted(timestamp=c - 1),
                user("什么垃圾东西", c, "web", "complaint", "negative", -0.9),
                bot(c + 1),
                act("action_handoff", c + 1.5),
                slot("handoff_reason", "angry", c + 1.5),
                ConversationPaused(timestamp=c + 2),
            ],
            [bot(c + 121.5, agent="小美"), ConversationResumed(timestamp=c + 600)],
        ],
        "wx-week-D": [
            [
                SessionStarted(timestamp=d1 - 1),
                act("action_welcome", d1 - 0.5),
                user("啥", d1, "wechat", "nlu_fallback"),
                bot(d1 + 1),
                user("那个 13812345678", d1 + 20, "wechat", "nlu_fallback"),
                bot(d1 + 21),
            ],
            [SessionStarted(timestamp=d2 - 1), user("你好", d2, "wechat", "greet")],
        ],
    }


def write_week(tmp_path: Path, broker_db: Path | None = None) -> tuple[str, str]:
    """The week in a tracker store with Rasa's SQL broker: (tracker URL, broker URL)."""
    trackers, broker_db = tmp_path / "trackers.db", broker_db or tmp_path / "events.db"
    broker = SQLEventBroker(db=str(broker_db))
    store = SQLTrackerStore(DOMAIN, dialect="sqlite", db=str(trackers), event_broker=broker)

    async def save_all() -> None:
        for sender, turns in conversations().items():
            events: list[Event] = [ActionExecuted("action_listen", timestamp=at(20))]
            for turn in turns:
                events += turn
                await store.save(DialogueStateTracker.from_events(sender, events))

    asyncio.run(save_all())
    store.engine.dispose()
    broker.engine.dispose()
    return f"sqlite:///{trackers}", f"sqlite:///{broker_db}"


def write_mall(tmp_path: Path) -> str:
    """The mall's side: the four customers, their cards, exposures and orders."""
    url = f"sqlite:///{tmp_path / 'mall.db'}"
    upgrade(url)
    database = Database(url)
    with database.write_session() as session:
        for card in ("card-li", "card-wang"):
            session.add(DistributorCard(id=card, owner_name=card, shop_name=card))
        session.flush()
        for customer, (channel, segment, card) in CUSTOMERS.items():
            session.add(
                Customer(
                    id=customer,
                    channel=channel,
                    display_name=customer,
                    segment=segment,
                    card_id=card,
                    created_at=SINCE - timedelta(days=30),
                )
            )
        session.flush()
        for customer, variant in VARIANTS.items():
            session.add(
                ExperimentExposure(
                    experiment_id="pitch",
                    variant_id=variant,
                    customer_id=customer,
                    exposed_at=SINCE,
                )
            )
        for number, (customer, when) in enumerate(
            [("web-week-A", at(24)), ("web-week-C", at(25) + 10 * 86400)]
        ):
            session.add(
                Order(
                    id=f"WEEK{number}",
                    customer_id=customer,
                    status="paid",
                    created_at=datetime.fromtimestamp(when, tz=timezone.utc),
                    goods_amount=Decimal("10"),
                    total=Decimal("10"),
                    recipient_name="测试",
                    recipient_phone="13800000000",
                    region="上海",
                    address_detail="测试路1号",
                )
            )
    database.dispose()
    return url
