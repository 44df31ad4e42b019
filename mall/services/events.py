"""Behaviour events from where customers are: batches from the shop page, the widget and
WeChat, each channel with its own key, and the events the mall records itself.

A batch is checked whole before anything is written (channel, types, customers, products,
cards, times, sizes) and written in one transaction: it is recorded entirely or not at all.
Every channel event carries the channel's own id for it; a retried batch, or one event
sent twice, is recorded once (a unique `(source, event_id)` and inserts that skip what is
already there, so even two retries racing each other cannot double an event).
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from mall.errors import InvalidRequest, MallError, TooLarge
from mall.insight_settings import KEYED_SOURCES
from mall.models import (
    EVENT_TYPES,
    BehaviourEvent,
    Customer,
    DistributorCard,
    Product,
    utcnow,
)
from security.ratelimit import Limit
from security.tokens import same_secret

# What a browser or WeChat may report; consults, coupon claims, orders and after-sales
# signals are the mall's own records, never a channel's word.
CHANNEL_EVENT_TYPES = (
    "product_view",
    "add_to_cart",
    "remove_from_cart",
    "search",
    "compare",
    "share",
    "card_view",
)
MALL_EVENT_TYPES = tuple(kind for kind in EVENT_TYPES if kind not in CHANNEL_EVENT_TYPES)
# Clocks on phones drift; anything later than this is a bug or a forgery.
FUTURE_SKEW = timedelta(minutes=5)
# Channels report what just happened; older behaviour is loaded by the operator, not sent.
MAX_AGE = timedelta(days=30)
MAX_PROPERTIES_BYTES = 1024
EVENT_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
CUSTOMER_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:@-]{1,64}$")
WECHAT_PREFIX = "wx-"


class InvalidEventKey(MallError):
    status_code = 401
    code = "unauthorized"


class WrongChannel(MallError):
    status_code = 403
    code = "wrong_channel"


class TooManyEvents(MallError):
    status_code = 429
    code = "rate_limited"


@dataclass(frozen=True)
class IncomingEvent:
    """One event as a channel sent it (already shaped by the request schema)."""

    id: str
    type: str
    customer_id: str
    occurred_at: datetime
    product_id: str | None = None
    properties: dict[str, Any] | None = None


@dataclass(frozen=True)
class BatchResult:
    """What a batch added: new events, and those already recorded before."""

    source: str
    accepted: int
    duplicates: int


def source_for_key(keys: Mapping[str, str], offered: str | None) -> str:
    """The channel whose key this is; InvalidEventKey when it is nobody's."""
    if not keys:
        raise InvalidEventKey(
            "事件接收未配置：设置 SHOP_EVENT_KEY / WIDGET_EVENT_KEY / WECHAT_EVENT_KEY"
        )
    found = None
    # Compare with every key, so the time taken says nothing about which one nearly matched.
    for source, key in keys.items():
        if same_secret(offered, key):
            found = source
    if found is None:
        raise InvalidEventKey("需要渠道密钥：Authorization: Bearer <该渠道的事件密钥>")
    return found


@dataclass
class EventBudget:
    """Events accepted per channel: a token bucket refilled at `limit.count / limit.seconds`.

    A batch takes as many tokens as it has events, all or nothing, so a refused batch costs
    nothing and a client that waits `retry_after` seconds is served again.
    """

    limit: Limit
    clock: Callable[[], float] = time.monotonic
    _tokens: dict[str, float] = field(default_factory=dict)
    _stamp: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, source: str, count: int) -> float | None:
        """None when `count` events may pass now; else the seconds to wait."""
        if self.limit.count == 0:
            return None
        capacity = float(self.limit.count)
        rate = capacity / self.limit.seconds
        if count > capacity:
            return self.limit.seconds
        with self._lock:
            now = self.clock()
            tokens = self._tokens.get(source, capacity)
            tokens = min(capacity, tokens + (now - self._stamp.get(source, now)) * rate)
            self._stamp[source] = now
            if tokens < count:
                self._tokens[source] = tokens
                return max((count - tokens) / rate, 0.001)
            self._tokens[source] = tokens - count
        return None


def channel_of(customer_id: str) -> str:
    """WeChat customers' ids carry the `wx-` prefix; everyone else came through the web."""
    return "wechat" if customer_id.startswith(WECHAT_PREFIX) else "web"


def validate_batch(
    *,
    session: Session,
    source: str,
    events: Sequence[IncomingEvent],
    max_events: int,
    claimed_source: str | None = None,
    now: datetime | None = None,
) -> None:
    """Refuse the whole batch when anything in it is wrong, naming every problem."""
    now = now or utcnow()
    if claimed_source is not None and claimed_source != source:
        raise WrongChannel(f"这个密钥属于渠道 {source}，不能发送 {claimed_source} 的事件")
    if not events:
        raise InvalidRequest("批次里没有事件")
    if len(events) > max_events:
        raise TooLarge(f"一次最多发送 {max_events} 条事件，收到 {len(events)} 条")
    allowed = EVENT_TYPES if source == "mall" else CHANNEL_EVENT_TYPES
    problems: list[dict[str, Any]] = []

    def problem(index: int, where: str, message: str) -> None:
        problems.append({"index": index, "field": where, "message": message})

    for index, event in enumerate(events):
        if not EVENT_ID_PATTERN.match(event.id):
            problem(index, "id", "事件 id 只能是 1-64 个字母、数字或 _.:-")
        if event.type not in EVENT_TYPES:
            problem(index, "type", f"未知的事件类型 {event.type}")
        elif event.type not in allowed:
            problem(index, "type", f"{event.type} 由商城自己记录，渠道不能发送")
        if not CUSTOMER_ID_PATTERN.match(event.customer_id):
            problem(index, "customer_id", "顾客 id 只能是 1-64 个字母、数字或 _.:@-")
        if event.occurred_at.tzinfo is None:
            problem(index, "occurred_at", "时间需要带时区（ISO 8601，如 2026-12-01T08:00:00Z）")
        elif event.occurred_at > now + FUTURE_SKEW:
            problem(index, "occurred_at", "时间在未来")
        elif event.occurred_at < now - MAX_AGE:
            problem(index, "occurred_at", f"时间早于 {MAX_AGE.days} 天前")
        if event.properties is not None:
            encoded = json.dumps(event.properties, ensure_ascii=False)
            if len(encoded.encode("utf-8")) > MAX_PROPERTIES_BYTES:
                problem(index, "properties", f"properties 不能超过 {MAX_PROPERTIES_BYTES} 字节")
        if event.type == "card_view" and not _card_of(event):
            problem(index, "properties.card_id", "card_view 需要 properties.card_id（名片 id）")
    product_ids = {event.product_id for event in events if event.product_id}
    known = set(session.scalars(select(Product.id).where(Product.id.in_(product_ids))))
    card_ids = {card for event in events if (card := _card_of(event))}
    known_cards = set(
        session.scalars(select(DistributorCard.id).where(DistributorCard.id.in_(card_ids)))
    )
    for index, event in enumerate(events):
        if event.product_id and event.product_id not in known:
            problem(index, "product_id", f"没有找到商品 {event.product_id}")
        card = _card_of(event)
        if card and card not in known_cards:
            problem(index, "properties.card_id", f"没有找到名片 {card}")
    if problems:
        listed = "；".join(f"第{p['index'] + 1}条 {p['message']}" for p in problems[:5])
        more = f"（共 {len(problems)} 处）" if len(problems) > 5 else ""
        raise InvalidRequest(f"批次未记录：{listed}{more}", extra={"problems": problems[:100]})


def _card_of(event: IncomingEvent) -> str | None:
    card = (event.properties or {}).get("card_id")
    return card if isinstance(card, str) and card else None


def record_batch(
    *,
    session: Session,
    source: str,
    events: Sequence[IncomingEvent],
    attribution: str = "first",
) -> BatchResult:
    """Write a validated batch in the caller's transaction; duplicates are skipped."""
    unique: dict[str, IncomingEvent] = {}
    for event in events:
        unique.setdefault(event.id, event)
    seen = set(
        session.scalars(
            select(BehaviourEvent.event_id).where(
                BehaviourEvent.source == source, BehaviourEvent.event_id.in_(list(unique))
            )
        )
    )
    fresh = [event for event_id, event in unique.items() if event_id not in seen]
    if fresh:
        _ensure_customers(session, fresh)
        _attribute_cards(session, fresh, attribution)
        cards = dict(
            session.execute(
                select(Customer.id, Customer.card_id).where(
                    Customer.id.in_({event.customer_id for event in fresh})
                )
            ).all()
        )
        insert_ignoring_duplicates(
            session,
            BehaviourEvent.__table__,
            [
                {
                    "customer_id": event.customer_id,
                    "type": event.type,
                    "product_id": event.product_id,
                    "occurred_at": event.occurred_at,
                    "source": source,
                    "event_id": event.id,
                    "card_id": cards.get(event.customer_id),
                    "properties": event.properties,
                }
                for event in fresh
            ],
            ("source", "event_id"),
        )
        _touch_last_visits(session, fresh)
    return BatchResult(source=source, accepted=len(fresh), duplicates=len(events) - len(fresh))


def insert_ignoring_duplicates(
    session: Session, table: Any, rows: list[dict[str, Any]], keys: Iterable[str]
) -> None:
    """INSERT ... ON CONFLICT DO NOTHING on SQLite and PostgreSQL."""
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    session.execute(insert(table).on_conflict_do_nothing(index_elements=list(keys)), rows)


def _ensure_customers(session: Session, events: Sequence[IncomingEvent]) -> None:
    first_seen: dict[str, datetime] = {}
    for event in events:
        when = first_seen.get(event.customer_id)
        if when is None or event.occurred_at < when:
            first_seen[event.customer_id] = event.occurred_at
    insert_ignoring_duplicates(
        session,
        Customer.__table__,
        [
            {
                "id": customer_id,
                "channel": channel_of(customer_id),
                "display_name": "",
                "interests": [],
                "segment": "new",
                "created_at": when,
            }
            for customer_id, when in sorted(first_seen.items())
        ],
        ("id",),
    )


def _attribute_cards(session: Session, events: Sequence[IncomingEvent], attribution: str) -> None:
    """A card link or a WeChat card scan attributes the customer to that card."""
    touches: dict[str, tuple[datetime, str]] = {}
    for event in sorted(events, key=lambda e: e.occurred_at):
        card = _card_of(event) if event.type == "card_view" else None
        if card is None:
            continue
        if attribution == "last" or event.customer_id not in touches:
            touches[event.customer_id] = (event.occurred_at, card)
    if not touches:
        return
    # In id order, like every other update of a batch: concurrent batches lock customers
    # in the same order and never deadlock.
    rows = [{"cid": cid, "card": card} for cid, (_, card) in sorted(touches.items())]
    statement = (
        update(Customer.__table__)
        .where(Customer.__table__.c.id == bindparam("cid"))
        .values(card_id=bindparam("card"))
    )
    if attribution == "first":
        statement = statement.where(Customer.__table__.c.card_id.is_(None))
    session.execute(statement, rows)


def _touch_last_visits(session: Session, events: Sequence[IncomingEvent]) -> None:
    latest: dict[str, datetime] = {}
    for event in events:
        if event.customer_id not in latest or latest[event.customer_id] < event.occurred_at:
            latest[event.customer_id] = event.occurred_at
    table = Customer.__table__
    session.execute(
        update(table)
        .where(table.c.id == bindparam("cid"))
        .where((table.c.last_visit_at.is_(None)) | (table.c.last_visit_at < bindparam("when")))
        .values(last_visit_at=bindparam("when")),
        [{"cid": cid, "when": when} for cid, when in sorted(latest.items())],
    )


def record_mall_event(
    *,
    session: Session,
    customer: Customer,
    event_type: str,
    product_id: str | None = None,
    properties: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> BehaviourEvent:
    """Log something the mall itself saw (a consult, a coupon claim, an order, ...)."""
    event = BehaviourEvent(
        customer_id=customer.id,
        type=event_type,
        product_id=product_id,
        occurred_at=now or utcnow(),
        source="mall",
        event_id=f"mall-{uuid.uuid4().hex}",
        card_id=customer.card_id,
        properties=properties,
    )
    session.add(event)
    return event


__all__ = [
    "CHANNEL_EVENT_TYPES",
    "KEYED_SOURCES",
    "MALL_EVENT_TYPES",
    "BatchResult",
    "EventBudget",
    "IncomingEvent",
    "InvalidEventKey",
    "TooManyEvents",
    "WrongChannel",
    "record_batch",
    "record_mall_event",
    "source_for_key",
    "validate_batch",
]
