"""Customer card profiles: who the customer is, what they did, which segment they are in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from mall.errors import InvalidRequest, NotFound
from mall.models import EVENT_TYPES, BehaviourEvent, Customer, Product, utcnow
from mall.services.events import WECHAT_PREFIX, record_mall_event
from mall.services.segments import compute_segment


@dataclass(frozen=True)
class Profile:
    """A customer with their behaviour counts."""

    customer: Customer
    stats: dict[str, int]


def channel_of(customer_id: str) -> str:
    """WeChat customers' ids carry the `wx-` prefix; everyone else came through the web."""
    return "wechat" if customer_id.startswith(WECHAT_PREFIX) else "web"


# Built once with bound parameters: every profile read runs them.
_CUSTOMER_WITH_CARD = (
    select(Customer)
    .where(Customer.id == bindparam("customer_id"))
    .options(joinedload(Customer.card))
)
_EVENT_COUNTS = (
    select(BehaviourEvent.type, func.count())
    .where(BehaviourEvent.customer_id == bindparam("customer_id"))
    .group_by(BehaviourEvent.type)
)


def get_profile(*, session: Session, customer_id: str) -> Profile:
    """The customer's profile; NotFound for an unknown customer."""
    bound = {"customer_id": customer_id}
    customer = session.scalars(_CUSTOMER_WITH_CARD, bound).one_or_none()
    if customer is None:
        raise NotFound(f"没有找到顾客 {customer_id}")
    counts = dict(session.execute(_EVENT_COUNTS, bound).all())
    return Profile(
        customer=customer, stats={kind: int(counts.get(kind, 0)) for kind in EVENT_TYPES}
    )


def ensure_customer(
    *, session: Session, customer_id: str, now: datetime | None = None, lock: bool = False
) -> Customer:
    """The customer with this id, created as a new web or WeChat customer when unknown.

    With `lock`, an existing customer's row stays locked (PostgreSQL) until the
    transaction ends, so concurrent updates of the same profile queue up.
    """
    customer = session.get(Customer, customer_id, with_for_update=lock or None)
    if customer is not None:
        return customer
    customer = Customer(
        id=customer_id,
        channel=channel_of(customer_id),
        display_name="",
        interests=[],
        segment="new",
        created_at=now or utcnow(),
    )
    try:
        # A savepoint, so that losing a race with a concurrent first visit keeps the
        # surrounding transaction usable.
        with session.begin_nested():
            session.add(customer)
    except IntegrityError:
        existing = session.get(Customer, customer_id)
        if existing is None:
            raise
        return existing
    return customer


def record_event(
    *,
    session: Session,
    customer_id: str,
    event_type: str,
    product_id: str | None = None,
    properties: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> str:
    """Log one behaviour event the mall saw, update the last visit; return the segment.

    Segments change when they are recomputed (`python -m mall segments`, on a schedule), not
    with every event: a churn-risk customer who comes back is still offered the win-back
    during that visit. A first-time customer is `new`.
    """
    now = now or utcnow()
    if event_type not in EVENT_TYPES:
        raise InvalidRequest(f"未知的行为类型 {event_type}")
    if product_id is not None and session.get(Product, product_id) is None:
        raise InvalidRequest(f"没有找到商品 {product_id}")
    # Locked so that two events arriving together both move the last visit forward.
    customer = ensure_customer(session=session, customer_id=customer_id, now=now, lock=True)
    record_mall_event(
        session=session,
        customer=customer,
        event_type=event_type,
        product_id=product_id,
        properties=properties,
        now=now,
    )
    if customer.last_visit_at is None or customer.last_visit_at < now:
        customer.last_visit_at = now
    zone = (properties or {}).get("time_zone")
    if is_time_zone(zone):
        # Quiet hours for proactive messages are the customer's own (mall/scheduler.py).
        customer.time_zone = zone
    return str(customer.segment)


def is_time_zone(name: Any) -> bool:
    """Whether `name` is an IANA time zone this machine knows ("Asia/Shanghai")."""
    if not isinstance(name, str) or not 0 < len(name) <= 64 or "/" not in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def refresh_segment(*, session: Session, customer: Customer, now: datetime | None = None) -> str:
    """Name a customer no clustering run has placed from their own behaviour; return it.

    Seeding uses it, so a database that has never been clustered still has segments.
    """
    if customer.segment_run_id is None:
        session.flush()
        segment, features = compute_segment(session=session, customer=customer, now=now or utcnow())
        customer.segment = segment
        customer.segment_features = features.as_dict()
    return str(customer.segment)
