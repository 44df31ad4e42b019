"""Customer segments, derived from behaviour, orders and coupon claims.

The rules, checked in this order (the first that holds wins):

1. churn_risk: has ordered before, not in the last 45 days, and has either been away
   for 30 days or more, or came back within the last 7 days after 30 or more days away
   (so a returning customer is still offered a win-back coupon on that visit).
2. high_value: spent ¥1000 or more in the last 180 days (orders paid and not cancelled
   or refunded).
3. price_sensitive: in the last 30 days, 5 or more consults and coupon claims together,
   and at most one order.
4. new: has never ordered.
5. regular: everyone else.

Ordering behaviour is read from `order` events (the mall logs one per order placed);
spend is read from the order table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mall.models import BehaviourEvent, Coupon, Order

SEGMENTS = ("high_value", "churn_risk", "price_sensitive", "new", "regular")
EVENT_TYPES = ("card_view", "product_view", "add_to_cart", "consult", "order")

CHURN_NO_ORDER = timedelta(days=45)
CHURN_AWAY = timedelta(days=30)
CHURN_RETURN_WINDOW = timedelta(days=7)
HIGH_VALUE_SPEND = Decimal("1000")
HIGH_VALUE_WINDOW = timedelta(days=180)
PRICE_WINDOW = timedelta(days=30)
PRICE_MIN_SIGNALS = 5
PRICE_MAX_ORDERS = 1
SPENDING_STATUSES = ("paid", "shipped", "delivered", "completed")


@dataclass(frozen=True)
class Facts:
    """What the segment rules look at for one customer."""

    events: Sequence[tuple[str, datetime]]  # (type, when), oldest first
    spend_180d: Decimal
    coupon_claims_30d: int


def derive_segment(facts: Facts, now: datetime) -> str:
    """Apply the segment rules in this module's docstring."""
    orders = [when for kind, when in facts.events if kind == "order"]
    if orders and now - orders[-1] > CHURN_NO_ORDER and _away(facts.events, now):
        return "churn_risk"
    if facts.spend_180d >= HIGH_VALUE_SPEND:
        return "high_value"
    recent = now - PRICE_WINDOW
    consults = sum(1 for kind, when in facts.events if kind == "consult" and when >= recent)
    recent_orders = sum(1 for when in orders if when >= recent)
    if consults + facts.coupon_claims_30d >= PRICE_MIN_SIGNALS and (
        recent_orders <= PRICE_MAX_ORDERS
    ):
        return "price_sensitive"
    if not orders:
        return "new"
    return "regular"


def _away(events: Sequence[tuple[str, datetime]], now: datetime) -> bool:
    """Away for CHURN_AWAY now, or back within CHURN_RETURN_WINDOW from such an absence."""
    if not events:
        return False
    times = [when for _, when in events]
    if now - times[-1] >= CHURN_AWAY:
        return True
    for index in range(len(times) - 1, 0, -1):
        if now - times[index] > CHURN_RETURN_WINDOW:
            break
        if times[index] - times[index - 1] >= CHURN_AWAY:
            return True
    return False


def gather_facts(*, session: Session, customer_id: str, now: datetime) -> Facts:
    """Read what the rules need from the database (three small queries)."""
    events = session.execute(
        select(BehaviourEvent.type, BehaviourEvent.occurred_at)
        .where(BehaviourEvent.customer_id == customer_id)
        .order_by(BehaviourEvent.occurred_at, BehaviourEvent.id)
    ).all()
    spend = session.scalar(
        select(func.coalesce(func.sum(Order.total), 0)).where(
            Order.customer_id == customer_id,
            Order.status.in_(SPENDING_STATUSES),
            Order.created_at >= now - HIGH_VALUE_WINDOW,
        )
    )
    claims = session.scalar(
        select(func.count())
        .select_from(Coupon)
        .where(Coupon.customer_id == customer_id, Coupon.issued_at >= now - PRICE_WINDOW)
    )
    return Facts(
        events=[(kind, when) for kind, when in events],
        spend_180d=Decimal(str(spend or 0)),
        coupon_claims_30d=int(claims or 0),
    )


def compute_segment(*, session: Session, customer_id: str, now: datetime) -> str:
    """The segment the rules give this customer now."""
    return derive_segment(gather_facts(session=session, customer_id=customer_id, now=now), now)
