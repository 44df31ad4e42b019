"""The product's KPIs from what Rasa and the mall recorded.

Conversation figures come from Rasa's SQL tracker store (one conversation = one customer's
events between session starts), the sales figures from the mall's database:

- first_response_rate: conversations whose first customer message was answered within 60 s;
- handoff_rate / ai_resolution_rate: conversations a person took over / the rest;
- fallback_rate: customer messages the assistant did not understand (`nlu_fallback`);
- conversion_rate: customers who ordered within 7 days after consulting / consulting customers;
- retention_7d: customers first active in the period who came back on another day within 7
  days (only those first seen at least 7 days before its end, so nobody is judged early);
- coupon_redemption_rate: coupons issued in the period that were used.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.orm import Session

from analytics.todo import tracker_events
from mall.models import BehaviourEvent, Coupon, Order

FIRST_RESPONSE_LIMIT = timedelta(seconds=60)
CONVERSION_WINDOW = timedelta(days=7)
RETENTION_WINDOW = timedelta(days=7)
TARGETS = {"first_response_rate": 0.90, "conversion_rate": 0.15, "retention_7d": 0.40}


@dataclass(frozen=True)
class Conversation:
    sender_id: str
    channel: str
    started_at: datetime
    first_response_seconds: float | None  # None: the first message was never answered
    messages: int
    fallbacks: int
    handed_off: bool


def read_conversations(tracker_db_url: str, since: datetime, until: datetime) -> list[Conversation]:
    """The conversations (sessions) that started in [since, until) in Rasa's tracker store."""
    rows = tracker_events(tracker_db_url, lambda c: c.timestamp < until.timestamp())
    rows.sort(key=lambda row: (row.sender_id, row.timestamp, row.id))
    by_sender: dict[str, list[sa.Row]] = defaultdict(list)
    for row in rows:
        by_sender[row.sender_id].append(row)
    conversations = []
    for sender, sender_rows in by_sender.items():
        for session in _sessions(sender_rows):
            conversation = _conversation(sender, session)
            if conversation and since <= conversation.started_at < until:
                conversations.append(conversation)
    return conversations


def _sessions(rows: Sequence[sa.Row]) -> Iterable[list[sa.Row]]:
    current: list[sa.Row] = []
    for row in rows:
        if row.type_name == "session_started" and current:
            yield current
            current = []
        current.append(row)
    if current:
        yield current


def _conversation(sender: str, rows: Sequence[sa.Row]) -> Conversation | None:
    users = [row for row in rows if row.type_name == "user" and not _is_command(row)]
    if not users:
        return None
    first = users[0]
    answer = next(
        (row for row in rows if row.type_name == "bot" and row.timestamp >= first.timestamp), None
    )
    return Conversation(
        sender_id=sender,
        channel=_channel(first),
        started_at=datetime.fromtimestamp(first.timestamp, tz=timezone.utc),
        first_response_seconds=None if answer is None else answer.timestamp - first.timestamp,
        messages=len(users),
        fallbacks=sum(1 for row in users if row.intent_name == "nlu_fallback"),
        handed_off=any(
            row.type_name == "action" and row.action_name == "action_handoff" for row in rows
        ),
    )


def _is_command(row: sa.Row) -> bool:
    try:
        text = json.loads(row.data).get("text") or ""
    except (TypeError, ValueError, AttributeError):
        return False
    return str(text).startswith("/")


def _channel(row: sa.Row) -> str:
    try:
        return str(json.loads(row.data).get("input_channel") or "unknown")
    except (TypeError, ValueError, AttributeError):
        return "unknown"


def conversation_kpis(conversations: Sequence[Conversation]) -> dict[str, float | None]:
    total = len(conversations)
    messages = sum(c.messages for c in conversations)
    answered_fast = sum(
        1
        for c in conversations
        if c.first_response_seconds is not None
        and c.first_response_seconds <= FIRST_RESPONSE_LIMIT.total_seconds()
    )
    handed = sum(1 for c in conversations if c.handed_off)
    return {
        "conversations": float(total),
        "first_response_rate": answered_fast / total if total else None,
        "handoff_rate": handed / total if total else None,
        "ai_resolution_rate": (total - handed) / total if total else None,
        "fallback_rate": sum(c.fallbacks for c in conversations) / messages if messages else None,
    }


def sales_kpis(session: Session, since: datetime, until: datetime) -> dict[str, float | None]:
    """Conversion, 7-day retention and coupon redemption from the mall's tables."""
    consults = session.execute(
        sa.select(BehaviourEvent.customer_id, sa.func.min(BehaviourEvent.occurred_at))
        .where(
            BehaviourEvent.type == "consult",
            BehaviourEvent.occurred_at >= since,
            BehaviourEvent.occurred_at < until,
        )
        .group_by(BehaviourEvent.customer_id)
    ).all()
    orders: dict[str, list[datetime]] = defaultdict(list)
    for customer, created in session.execute(
        sa.select(Order.customer_id, Order.created_at).where(
            Order.created_at >= since, Order.created_at < until + CONVERSION_WINDOW
        )
    ):
        orders[customer].append(created)
    converted = sum(
        1
        for customer, first in consults
        if any(first <= at <= first + CONVERSION_WINDOW for at in orders.get(customer, ()))
    )
    active: dict[str, set[datetime]] = defaultdict(set)
    for customer, at in session.execute(
        sa.select(BehaviourEvent.customer_id, BehaviourEvent.occurred_at).where(
            BehaviourEvent.occurred_at >= since, BehaviourEvent.occurred_at < until
        )
    ):
        day = at.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        active[customer].add(day)
    judged = 0
    returned = 0
    last_judged_day = until - RETENTION_WINDOW
    for days in active.values():
        ordered = sorted(days)
        first_day = ordered[0]
        if first_day >= last_judged_day:
            continue
        judged += 1
        if any(first_day < day <= first_day + RETENTION_WINDOW for day in ordered[1:]):
            returned += 1
    issued = session.execute(
        sa.select(sa.func.count(), sa.func.count(Coupon.used_at)).where(
            Coupon.issued_at >= since, Coupon.issued_at < until
        )
    ).one()
    return {
        "consulting_customers": float(len(consults)),
        "conversion_rate": converted / len(consults) if consults else None,
        "retention_7d": returned / judged if judged else None,
        "coupon_redemption_rate": issued[1] / issued[0] if issued[0] else None,
    }


def format_kpis(figures: dict[str, float | None], since: datetime, until: datetime) -> str:
    lines = [f"KPIs {since:%Y-%m-%d} .. {until:%Y-%m-%d}"]
    for name, value in figures.items():
        if value is None:
            shown = "-"
        elif name.endswith("_rate") or name == "retention_7d":
            shown = f"{value:.3f}"
        else:
            shown = f"{value:.0f}"
        goal = ""
        target = TARGETS.get(name)
        if target is not None:
            below = value is not None and value < target
            goal = f"  (target >= {target:.2f}{', below' if below else ''})"
        lines.append(f"  {name:<24}{shown:>8}{goal}")
    return "\n".join(lines)
