"""Customer segments: the behaviour features of a customer and the rules that name a group.

Segments are found by K-Means (`mall.services.clustering`) over these features; each
cluster is named by applying the rules below to its centroid, so a name means the same
thing in every run. A customer no clustering run has seen yet (a first visit) is named by
the same rules applied to their own features.

The features, over a window of the last `window_days` days (60 by default):

- recency_days: days since the last interaction of any kind (capped at the window);
- visit_days: days with any interaction (visit frequency);
- cart_no_order: cart adds of products the customer has not ordered since;
- compares: price comparisons (`compare` events, and views of one product past the second);
- coupon_claims: coupons issued to the customer; consults: questions to the assistant;
- orders and spend: orders placed, and what the paid ones came to (¥);
- negative_share: the share of consults whose sentiment was negative (≤ -0.5);
- tenure_days: days since the customer first appeared (capped at the window).

The naming rules, first match wins (on a centroid the counts are the group's averages):

1. churn_risk: no interaction for 7 days or more.
2. new: first appeared less than 30 days ago and has not ordered.
3. price_sensitive: compares prices 3 times or more, with at most one order.
4. high_value: visits on 5 days or more and adds to the cart twice or more without ordering
   (the customer close to buying: a limited-time free-shipping reminder tips them over).
5. regular: everyone else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mall.models import EVENT_TYPES, BehaviourEvent, Coupon, Customer, Order

__all__ = [
    "EVENT_TYPES",
    "SEGMENTS",
    "Features",
    "compute_segment",
    "customer_features",
    "name_segment",
    "reason",
]

SEGMENTS = ("high_value", "churn_risk", "price_sensitive", "new", "regular")
SPENDING_STATUSES = ("paid", "shipped", "delivered", "completed")
DEFAULT_WINDOW_DAYS = 60

CHURN_QUIET_DAYS = 7.0
NEW_TENURE_DAYS = 30.0
PRICE_MIN_COMPARES = 3.0
PRICE_MAX_ORDERS = 1.0
HIGH_VALUE_VISIT_DAYS = 5.0
HIGH_VALUE_CART_NO_ORDER = 2.0
NEGATIVE_SENTIMENT = -0.5
# Views of one product beyond this many count as comparing its price.
VIEWS_BEFORE_COMPARING = 2


@dataclass(frozen=True)
class Features:
    """One customer's behaviour over the window (or a cluster's averages)."""

    recency_days: float = 0.0
    visit_days: float = 0.0
    cart_no_order: float = 0.0
    compares: float = 0.0
    coupon_claims: float = 0.0
    consults: float = 0.0
    orders: float = 0.0
    spend: float = 0.0
    negative_share: float = 0.0
    tenure_days: float = 0.0

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The feature names, in matrix column order."""
        return tuple(f.name for f in fields(cls))

    def as_row(self) -> list[float]:
        """The features as one matrix row."""
        return [float(getattr(self, name)) for name in self.names()]

    def as_dict(self, digits: int = 2) -> dict[str, float]:
        """The features rounded, for storage and display."""
        return {name: round(float(value), digits) for name, value in asdict(self).items()}

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Features:
        """Features from a stored dict (unknown keys ignored, missing ones 0)."""
        return cls(**{name: float(values.get(name) or 0.0) for name in cls.names()})


def name_segment(features: Features) -> str:
    """Apply the naming rules of this module's docstring."""
    if features.recency_days >= CHURN_QUIET_DAYS:
        return "churn_risk"
    if features.tenure_days < NEW_TENURE_DAYS and features.orders < 0.5:
        return "new"
    if features.compares >= PRICE_MIN_COMPARES and features.orders <= PRICE_MAX_ORDERS:
        return "price_sensitive"
    if (
        features.visit_days >= HIGH_VALUE_VISIT_DAYS
        and features.cart_no_order >= HIGH_VALUE_CART_NO_ORDER
    ):
        return "high_value"
    return "regular"


def _times(count: float) -> str:
    return f"{round(count):d}次"


def reason(segment: str, features: Features, window_days: int = DEFAULT_WINDOW_DAYS) -> str:
    """Why a customer is in their segment, in words an agent reads at a glance."""
    f = features
    if segment == "churn_risk":
        return f"{round(f.recency_days):d}天未互动" + (
            f"，之前下单{_times(f.orders)}" if f.orders >= 1 else ""
        )
    if segment == "new":
        days = max(round(f.tenure_days), 0)
        return ("今天首次到访" if days == 0 else f"{days}天前首次到访") + "，还没有下单"
    if segment == "price_sensitive":
        claims = f"，领券{_times(f.coupon_claims)}" if f.coupon_claims >= 1 else ""
        bought = "未下单" if f.orders < 1 else f"只下单{_times(f.orders)}"
        return f"比价{_times(f.compares)}{bought}{claims}"
    if segment == "high_value":
        return (
            f"近{window_days}天到访{round(f.visit_days):d}天，加购{_times(f.cart_no_order)}未下单"
        )
    orders = f"下单{_times(f.orders)}" if f.orders >= 1 else "常来看看"
    return f"近{window_days}天到访{round(f.visit_days):d}天，{orders}"


def customer_features(
    *, session: Session, customer: Customer, now: datetime, window_days: int = DEFAULT_WINDOW_DAYS
) -> Features:
    """One customer's features, read from the database (the clustering reads all at once)."""
    start = now - timedelta(days=window_days)
    events = session.execute(
        select(
            BehaviourEvent.type,
            BehaviourEvent.product_id,
            BehaviourEvent.occurred_at,
            BehaviourEvent.properties,
        )
        .where(BehaviourEvent.customer_id == customer.id, BehaviourEvent.occurred_at >= start)
        .order_by(BehaviourEvent.occurred_at, BehaviourEvent.id)
    ).all()
    spend = session.scalar(
        select(func.coalesce(func.sum(Order.total), 0)).where(
            Order.customer_id == customer.id,
            Order.status.in_(SPENDING_STATUSES),
            Order.created_at >= start,
        )
    )
    claims = session.scalar(
        select(func.count())
        .select_from(Coupon)
        .where(Coupon.customer_id == customer.id, Coupon.issued_at >= start)
    )
    last = session.scalar(
        select(func.max(BehaviourEvent.occurred_at)).where(
            BehaviourEvent.customer_id == customer.id
        )
    )
    accumulator = FeatureAccumulator(now.timestamp())
    for kind, product, when, properties in events:
        details = properties or {}
        accumulator.add(
            kind, product, when.timestamp(), details.get("sentiment"), details.get("products")
        )
    return accumulator.features(
        now=now.timestamp(),
        window_days=window_days,
        last_seen=(last or customer.created_at).timestamp(),
        created=customer.created_at.timestamp(),
        spend=float(spend or 0),
        coupon_claims=int(claims or 0),
    )


class FeatureAccumulator:
    """Folds one customer's events (oldest first) into their features."""

    __slots__ = (
        "_cart",
        "_consults",
        "_days",
        "_negative",
        "_now",
        "_orders",
        "_compares",
        "_views",
    )

    def __init__(self, now: float = 0.0) -> None:
        # Visit days are 24-hour periods counted back from `now` (seconds since the epoch),
        # so the count does not depend on the hour the features are computed at.
        self._now = now
        self._days: set[int] = set()
        self._cart: dict[str | None, int] = {}
        self._views: dict[str | None, int] = {}
        self._compares = 0
        self._consults = 0
        self._negative = 0
        self._orders = 0

    def add(
        self,
        kind: str,
        product: str | None,
        when: float,
        sentiment: Any = None,
        products: Any = None,
    ) -> None:
        """Count one event at `when` (seconds since the epoch).

        `sentiment` is a consult's score; `products` every product of an order.
        """
        self._days.add(int((self._now - when) // 86400))
        if kind == "add_to_cart":
            self._cart[product] = self._cart.get(product, 0) + 1
        elif kind == "order":
            self._orders += 1
            # An order settles the cart adds of its products before it.
            self._cart.pop(product, None)
            if isinstance(products, list):
                for item in products:
                    self._cart.pop(item, None)
        elif kind == "compare":
            self._compares += 1
        elif kind == "product_view":
            seen = self._views.get(product, 0) + 1
            self._views[product] = seen
            if seen > VIEWS_BEFORE_COMPARING:
                self._compares += 1
        elif kind == "consult":
            self._consults += 1
            if isinstance(sentiment, int | float) and sentiment <= NEGATIVE_SENTIMENT:
                self._negative += 1

    def features(
        self,
        *,
        now: float,
        window_days: int,
        last_seen: float,
        created: float,
        spend: float,
        coupon_claims: int,
    ) -> Features:
        """The features, given what the events alone do not say."""
        return Features(
            recency_days=min(max((now - last_seen) / 86400, 0.0), float(window_days)),
            visit_days=float(len(self._days)),
            cart_no_order=float(sum(self._cart.values())),
            compares=float(self._compares),
            coupon_claims=float(coupon_claims),
            consults=float(self._consults),
            orders=float(self._orders),
            spend=spend,
            negative_share=self._negative / self._consults if self._consults else 0.0,
            tenure_days=min(max((now - created) / 86400, 0.0), float(window_days)),
        )


def compute_segment(
    *, session: Session, customer: Customer, now: datetime, window_days: int = DEFAULT_WINDOW_DAYS
) -> tuple[str, Features]:
    """The segment the naming rules give this customer's own features."""
    features = customer_features(
        session=session, customer=customer, now=now, window_days=window_days
    )
    return name_segment(features), features
