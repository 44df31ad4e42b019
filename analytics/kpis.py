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
from typing import Any

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


# ---- from the analytics store's conversation facts ----

BREAKDOWNS = ("channel", "distributor", "segment", "variant", "day", "week")
FUNNEL = ("welcome", "price", "offer", "coupon", "order")
SENTIMENT_LABELS = ("negative", "neutral", "positive", "unknown")


def orders_by_customer(
    session: Session, customers: Iterable[str], since: datetime, until: datetime
) -> dict[str, list[float]]:
    """Order times (epoch seconds) of these customers from `since` to 7 days after `until`."""
    wanted = sorted(set(customers))
    found: dict[str, list[float]] = defaultdict(list)
    for start in range(0, len(wanted), 500):
        rows = session.execute(
            sa.select(Order.customer_id, Order.created_at).where(
                Order.customer_id.in_(wanted[start : start + 500]),
                Order.created_at >= since,
                Order.created_at < until + CONVERSION_WINDOW,
            )
        )
        for customer, created in rows:
            found[customer].append(created.timestamp())
    return found


def _converted(fact: Any, orders: dict[str, list[float]]) -> bool:
    start = fact.started_at
    window = CONVERSION_WINDOW.total_seconds()
    return any(start <= at <= start + window for at in orders.get(fact.sender_id, ()))


def fact_kpis(facts: Sequence[Any], orders: dict[str, list[float]]) -> dict[str, float | None]:
    """The conversation KPIs and the funnel over a set of conversation facts."""
    total = len(facts)
    messages = sum(f.messages for f in facts)
    limit = FIRST_RESPONSE_LIMIT.total_seconds()
    fast = sum(
        1
        for f in facts
        if f.first_response_seconds is not None and f.first_response_seconds <= limit
    )
    handed = sum(1 for f in facts if f.handed_off)
    customers = {f.sender_id for f in facts}
    converted = {f.sender_id for f in facts if _converted(f, orders)}
    rank = {stage: index for index, stage in enumerate(FUNNEL)}
    reached = [rank.get(f.stage, -1) for f in facts]
    figures: dict[str, float | None] = {
        "conversations": float(total),
        "customers": float(len(customers)),
        "first_response_rate": fast / total if total else None,
        "handoff_rate": handed / total if total else None,
        "ai_resolution_rate": (total - handed) / total if total else None,
        "fallback_rate": sum(f.fallbacks for f in facts) / messages if messages else None,
        "conversion_rate": len(converted) / len(customers) if customers else None,
    }
    for index, stage in enumerate(FUNNEL[:-1]):
        figures[f"funnel_{stage}"] = float(sum(1 for r in reached if r >= index))
    figures["funnel_order"] = float(sum(1 for f in facts if _converted(f, orders)))
    return figures


def _keys(fact: Any, by: str) -> list[str]:
    started = datetime.fromtimestamp(fact.started_at, tz=timezone.utc)
    if by == "day":
        return [f"{started:%Y-%m-%d}"]
    if by == "week":
        year, week, _ = started.isocalendar()
        return [f"{year}-W{week:02d}"]
    if by == "variant":
        return fact.variants.split(",") if fact.variants else ["none"]
    value = getattr(fact, by)
    return [str(value) if value else ("none" if by == "distributor" else "unknown")]


def breakdown(
    facts: Sequence[Any], orders: dict[str, list[float]], by: str
) -> list[tuple[str, dict[str, float | None]]]:
    """The KPIs per channel, distributor, segment, variant, day or week (sorted by key)."""
    if by not in BREAKDOWNS:
        raise ValueError(f"--by is one of {', '.join(BREAKDOWNS)}, got {by!r}")
    groups: dict[str, list[Any]] = defaultdict(list)
    for fact in facts:
        for key in _keys(fact, by):
            groups[key].append(fact)
    return [(key, fact_kpis(groups[key], orders)) for key in sorted(groups)]


def sentiment_distribution(user_events: Sequence[Any]) -> dict[str, int]:
    """Customer messages by sentiment label (parse_data["sentiment"]["label"])."""
    counts = dict.fromkeys(SENTIMENT_LABELS, 0)
    for row in user_events:
        label = row.sentiment_label if row.sentiment_label in SENTIMENT_LABELS else "unknown"
        counts[label] += 1
    return counts


@dataclass
class Report:
    """Everything the command line and the dashboard show for a period."""

    since: datetime
    until: datetime
    totals: dict[str, float | None]
    sentiment: dict[str, int]
    groups: dict[str, list[tuple[str, dict[str, float | None]]]]


def facts_report(
    store: Any,
    session: Session | None,
    since: datetime,
    until: datetime,
    by: Sequence[str] = (),
) -> Report:
    """The KPIs of [since, until) from the facts store and the mall (None: no mall figures)."""
    facts = store.conversations_between(since.timestamp(), until.timestamp())
    orders = (
        orders_by_customer(session, (f.sender_id for f in facts), since, until)
        if session is not None
        else {}
    )
    totals = fact_kpis(facts, orders)
    if session is not None:
        mall = sales_kpis(session, since, until)
        totals["retention_7d"] = mall["retention_7d"]
        totals["coupon_redemption_rate"] = mall["coupon_redemption_rate"]
    return Report(
        since=since,
        until=until,
        totals=totals,
        sentiment=sentiment_distribution(
            store.user_events_between(since.timestamp(), until.timestamp())
        ),
        groups={name: breakdown(facts, orders, name) for name in by},
    )


def format_report(report: Report) -> str:
    """The report as text: the KPIs with their targets, the sentiment, then each breakdown."""
    lines = [format_kpis(report.totals, report.since, report.until)]
    lines.append(
        "  sentiment               " + "  ".join(f"{k} {v}" for k, v in report.sentiment.items())
    )
    for name, rows in report.groups.items():
        columns = ("conversations", "first_response_rate", "handoff_rate", "conversion_rate")
        lines.append("")
        lines.append(f"by {name:<22}" + "".join(f"{c:>22}" for c in columns))
        for key, figures in rows:
            cells = []
            for column in columns:
                value = figures.get(column)
                cells.append(
                    "-"
                    if value is None
                    else f"{value:.0f}"
                    if column == "conversations"
                    else f"{value:.3f}"
                )
            lines.append(f"   {key:<22}" + "".join(f"{cell:>22}" for cell in cells))
    return "\n".join(lines)


def report_rows(report: Report) -> list[list[str]]:
    """CSV rows: breakdown, key, kpi, value, since, until (the totals under `all`)."""
    span = [report.since.isoformat(), report.until.isoformat()]
    rows = [["breakdown", "key", "kpi", "value", "since", "until"]]
    for name, value in report.totals.items():
        rows.append(["all", "", name, "" if value is None else repr(value), *span])
    for label, count in report.sentiment.items():
        rows.append(["sentiment", label, "messages", str(count), *span])
    for by, groups in report.groups.items():
        for key, figures in groups:
            for name, value in figures.items():
                rows.append([by, key, name, "" if value is None else repr(value), *span])
    return rows


def report_json(report: Report) -> dict[str, Any]:
    """The report as JSON for the read API (the desk's dashboard)."""
    return {
        "since": report.since.isoformat(),
        "until": report.until.isoformat(),
        "totals": report.totals,
        "targets": TARGETS,
        "sentiment": report.sentiment,
        "groups": {
            name: [{"key": key, **figures} for key, figures in rows]
            for name, rows in report.groups.items()
        },
    }
