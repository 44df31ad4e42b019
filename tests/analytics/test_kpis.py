"""KPIs with known answers: a hand-made fortnight of conversations, behaviour and orders."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from analytics.kpis import conversation_kpis, format_kpis, read_conversations, sales_kpis
from mall.db import Database, upgrade
from mall.models import BehaviourEvent, Coupon, Order
from mall.services.profiles import ensure_customer
from tests.mall.fixtures import coupon_template

UNTIL = datetime(2026, 12, 1, 0, 0, tzinfo=timezone.utc)
SINCE = UNTIL - timedelta(days=14)
T0 = (UNTIL - timedelta(days=3)).timestamp()


def user(text: str, at: float, intent: str = "greet") -> UserUttered:
    return UserUttered(
        text,
        intent={"name": intent, "confidence": 1.0},
        parse_data={"intent": {"name": intent, "confidence": 1.0}, "text": text, "entities": []},
        input_channel="web",
        timestamp=at,
    )


def bot(at: float) -> BotUttered:
    return BotUttered("您好", timestamp=at)


@pytest.fixture
def tracker_url(tmp_path: Path) -> str:
    path = tmp_path / "trackers.db"
    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(path))
    conversations = {
        # answered in 2 s; two messages, one not understood
        "c1": [
            user("你好", T0),
            bot(T0 + 2),
            user("那个啥", T0 + 10, "nlu_fallback"),
            bot(T0 + 11),
        ],
        # answered after 90 s, then a person took over
        "c2": [user("在吗", T0), bot(T0 + 90), ActionExecuted("action_handoff", timestamp=T0 + 91)],
        # a button command is not the customer's first message
        "c3": [user("/greet", T0 - 5), user("多少钱", T0), bot(T0 + 1)],
        # two sessions: the first answered at once, the second never
        "c4": [
            SessionStarted(timestamp=T0),
            user("发货了吗", T0 + 1),
            bot(T0 + 2),
            SessionStarted(timestamp=T0 + 7200),
            user("还在吗", T0 + 7201),
        ],
        # before the period: not counted
        "old": [user("早", SINCE.timestamp() - 86400), bot(SINCE.timestamp() - 86399)],
    }
    for sender, events in conversations.items():
        tracker = DialogueStateTracker.from_events(
            sender, [ActionExecuted("action_listen"), *events]
        )
        asyncio.run(store.save(tracker))
    store.engine.dispose()
    return f"sqlite:///{path}"


def test_conversation_kpis_match_the_hand_count(tracker_url: str) -> None:
    conversations = read_conversations(tracker_url, SINCE, UNTIL)
    assert len(conversations) == 5  # c1, c2, c3, and c4's two sessions
    figures = conversation_kpis(conversations)
    assert figures["first_response_rate"] == pytest.approx(3 / 5)  # c1, c3, c4's first
    assert figures["handoff_rate"] == pytest.approx(1 / 5)
    assert figures["ai_resolution_rate"] == pytest.approx(4 / 5)
    assert figures["fallback_rate"] == pytest.approx(1 / 6)  # 6 customer messages
    assert {c.channel for c in conversations} == {"web"}


def day(n: int) -> datetime:
    """Noon, n days before the end of the period."""
    return UNTIL - timedelta(days=n) + timedelta(hours=12)


def test_sales_kpis_match_the_hand_count(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mall.db'}"
    upgrade(url)
    database = Database(url)
    with database.write_session() as session:
        for customer in "ABCDE":
            ensure_customer(session=session, customer_id=f"web-kpi-{customer}", now=day(30))
        session.add(coupon_template("T-KPI", stock=99))
        session.flush()

        def event(customer: str, kind: str, at: datetime) -> None:
            session.add(
                BehaviourEvent(customer_id=f"web-kpi-{customer}", type=kind, occurred_at=at)
            )

        def order(customer: str, at: datetime, n: int) -> None:
            session.add(
                Order(
                    id=f"KPI{n}",
                    customer_id=f"web-kpi-{customer}",
                    status="paid",
                    created_at=at,
                    goods_amount=Decimal("10"),
                    total=Decimal("10"),
                    recipient_name="测试",
                    recipient_phone="13800000000",
                    region="上海",
                    address_detail="测试路1号",
                )
            )

        event("A", "consult", day(10))
        event("A", "product_view", day(8))
        order("A", day(8), 1)
        event("B", "consult", day(12))
        event("B", "product_view", day(2))
        order("B", day(4), 2)
        event("C", "consult", day(9))
        order("C", day(20), 3)
        event("D", "consult", day(3))
        event("E", "consult", day(20))  # before the period
        for n in range(4):
            session.add(
                Coupon(
                    code=f"CP-KPI-{n}",
                    customer_id="web-kpi-A",
                    template_id="T-KPI",
                    name="立减5元",
                    kind="instant",
                    amount=Decimal("5"),
                    status="used" if n == 0 else "issued",
                    issued_at=day(9),
                    used_at=day(8) if n == 0 else None,
                    idempotency_key=f"kpi-{n}",
                )
            )
    with database.read_session() as session:
        figures = sales_kpis(session, SINCE, UNTIL)
    database.dispose()
    assert figures["consulting_customers"] == 4
    # A ordered 2 days after consulting; B 8 days after (too late); C only before; D never.
    assert figures["conversion_rate"] == pytest.approx(1 / 4)
    # First seen: A day 10 (back on day 8), B day 12 (next on day 2: too late), C day 9
    # (never back); D first seen 3 days before the end is not judged yet.
    assert figures["retention_7d"] == pytest.approx(1 / 3)
    assert figures["coupon_redemption_rate"] == pytest.approx(1 / 4)
    text = format_kpis(figures, SINCE, UNTIL)
    assert "conversion_rate" in text and "0.250" in text and "(target >= 0.15)" in text
    assert "retention_7d" in text and "0.333" in text and "below" in text


def test_an_empty_store_gives_no_figures_rather_than_zeros(tmp_path: Path) -> None:
    figures = conversation_kpis(read_conversations(f"sqlite:///{tmp_path / 'no.db'}", SINCE, UNTIL))
    assert figures["first_response_rate"] is None and figures["conversations"] == 0
    assert "-" in format_kpis(figures, SINCE, UNTIL)
