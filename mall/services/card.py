"""The customer's "AI business card": what the bot and the agent desk read about them.

Name, the distributor card they came through, top interests (the categories they looked
at, carted, asked about and bought, most recent behaviour weighing most), the last visit,
the segment with the reason in words, lifetime value, preferred channel and opt-outs.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from mall.models import BehaviourEvent, Category, Customer, Order, Product, utcnow
from mall.services.segments import DEFAULT_WINDOW_DAYS, SPENDING_STATUSES, Features, reason

# How much one event says about an interest.
INTEREST_WEIGHTS = {
    "product_view": 1.0,
    "compare": 1.5,
    "share": 1.5,
    "consult": 2.0,
    "add_to_cart": 3.0,
    "order": 4.0,
}
TOP_INTERESTS = 3
# Which channel a source means for the customer.
SOURCE_CHANNEL = {"shop": "web", "widget": "web", "wechat": "wechat"}

# The card's queries, built once with bound parameters (every profile read runs them; building
# a statement costs more than running it on the indexed tables).
_INTERESTS = (
    select(Category.name, BehaviourEvent.type, func.count())
    .join(Product, Product.id == BehaviourEvent.product_id)
    .join(Category, Category.id == Product.category_id)
    .where(
        BehaviourEvent.customer_id == bindparam("customer_id"),
        BehaviourEvent.occurred_at >= bindparam("since"),
        BehaviourEvent.type.in_(INTEREST_WEIGHTS),
    )
    .group_by(Category.name, BehaviourEvent.type)
)
_LIFETIME_VALUE = select(func.coalesce(func.sum(Order.total), 0)).where(
    Order.customer_id == bindparam("customer_id"), Order.status.in_(SPENDING_STATUSES)
)
_SOURCES = (
    select(BehaviourEvent.source, func.count())
    .where(
        BehaviourEvent.customer_id == bindparam("customer_id"),
        BehaviourEvent.source.in_(SOURCE_CHANNEL),
    )
    .group_by(BehaviourEvent.source)
)


def top_interests(
    *, session: Session, customer_id: str, now: datetime, window_days: int = DEFAULT_WINDOW_DAYS
) -> list[str]:
    """Category names from behaviour, strongest first (ties by name, so stable)."""
    since = now - timedelta(days=window_days)
    rows = session.execute(_INTERESTS, {"customer_id": customer_id, "since": since}).all()
    weights: dict[str, float] = {}
    for name, kind, count in rows:
        weights[name] = weights.get(name, 0.0) + INTEREST_WEIGHTS[kind] * int(count)
    ranked = sorted(weights.items(), key=lambda item: (-item[1], item[0]))
    return [name for name, _ in ranked[:TOP_INTERESTS]]


def lifetime_value(*, session: Session, customer_id: str) -> Decimal:
    """What the customer's paid, not refunded orders came to, ever."""
    total = session.scalar(_LIFETIME_VALUE, {"customer_id": customer_id})
    return Decimal(str(total or 0)).quantize(Decimal("0.01"))


def preferred_channel(*, session: Session, customer: Customer) -> str:
    """The channel most of the customer's own behaviour came through."""
    counts = dict(session.execute(_SOURCES, {"customer_id": customer.id}).all())
    by_channel: Counter[str] = Counter()
    for source, count in counts.items():
        by_channel[SOURCE_CHANNEL[source]] += int(count)
    if not by_channel:
        return str(customer.channel)
    return sorted(by_channel.items(), key=lambda item: (-item[1], item[0]))[0][0]


def segment_reason(customer: Customer, window_days: int = DEFAULT_WINDOW_DAYS) -> str | None:
    """The segment in words, from the features the segment was computed on."""
    if not customer.segment_features:
        return None
    return reason(
        str(customer.segment), Features.from_mapping(customer.segment_features), window_days
    )


def card_details(
    *, session: Session, customer: Customer, now: datetime | None = None
) -> dict[str, Any]:
    """The business card's computed parts (the profile view adds the stored ones)."""
    now = now or utcnow()
    return {
        "top_interests": top_interests(session=session, customer_id=customer.id, now=now),
        "lifetime_value": float(lifetime_value(session=session, customer_id=customer.id)),
        "preferred_channel": preferred_channel(session=session, customer=customer),
        "segment_reason": segment_reason(customer),
        "segment_version": customer.segment_run_id,
        "segment_computed_at": customer.segment_computed_at,
        "churn_probability": customer.churn_probability,
        "opt_outs": list(customer.opt_outs or []),
    }
