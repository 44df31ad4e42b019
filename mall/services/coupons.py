"""Coupon rules: choosing the best offer, issuing (idempotent, within limits), redeeming.

Issuing is safe under concurrency. On SQLite every write transaction starts with
BEGIN IMMEDIATE, so issuers run one at a time. On PostgreSQL the template row is locked
(`SELECT ... FOR UPDATE`) before anything is counted, so two claims on one template
cannot both see the last unit of stock or the customer's last allowance.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mall.errors import (
    AlreadyUsed,
    Expired,
    InvalidRequest,
    LimitReached,
    NotAllowed,
    NotFound,
    OutOfStock,
)
from mall.models import Coupon, CouponTemplate, Customer, Order, Product, utcnow
from mall.services.events import record_mall_event
from mall.services.profiles import ensure_customer

ZERO = Decimal("0.00")
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread


@dataclass(frozen=True)
class BestOffer:
    """The template worth most to the customer, and what it saves."""

    template: CouponTemplate | None
    saving: Decimal


@dataclass(frozen=True)
class Issued:
    """A coupon, and whether this request created it (False: an earlier request did)."""

    coupon: Coupon
    created: bool


def coupon_status(coupon: Coupon, now: datetime) -> str:
    """issued, used or expired; an issued coupon past its validity reads as expired."""
    if coupon.status == "issued" and coupon.valid_until is not None and coupon.valid_until <= now:
        return "expired"
    return str(coupon.status)


def saving_on(template: CouponTemplate, price: Decimal) -> Decimal:
    """What the template takes off one unit at `price` (a 满减 only once the price reaches it)."""
    if template.kind == "threshold":
        return Decimal(template.amount) if price >= Decimal(template.threshold) else ZERO
    return min(Decimal(template.amount), price)


def applies_to(template: CouponTemplate, product: Product | None) -> bool:
    """Whether the template covers the product (with no product: store-wide templates only)."""
    restricted = bool(template.product_ids or template.category_ids)
    if product is None:
        return not restricted
    if not restricted:
        return True
    return product.id in template.product_ids or product.category_id in template.category_ids


def offered_to(template: CouponTemplate, segment: str) -> bool:
    """Whether a customer in `segment` may have this template."""
    return not template.segments or segment in template.segments


def _in_validity(template: CouponTemplate, now: datetime) -> bool:
    return template.valid_until is None or template.valid_until > now


def _held_counts(session: Session, customer_id: str) -> dict[str, int]:
    rows = session.execute(
        select(Coupon.template_id, func.count())
        .where(Coupon.customer_id == customer_id)
        .group_by(Coupon.template_id)
    ).all()
    return {template_id: int(count) for template_id, count in rows}


def best_offer(
    *, session: Session, customer_id: str, product_id: str | None, now: datetime | None = None
) -> BestOffer:
    """The eligible template with the biggest saving on one unit of the product.

    Unknown customers are treated as new ones. With no product, only store-wide templates
    count and the saving is the face amount.
    """
    now = now or utcnow()
    product = None
    if product_id is not None:
        product = session.get(Product, product_id)
        if product is None:
            raise NotFound(f"没有找到商品 {product_id}")
    segment = session.scalar(select(Customer.segment).where(Customer.id == customer_id)) or "new"
    templates = session.scalars(
        select(CouponTemplate)
        .where(
            CouponTemplate.active.is_(True),
            CouponTemplate.issued_count < CouponTemplate.total_stock,
            or_(CouponTemplate.valid_until.is_(None), CouponTemplate.valid_until > now),
        )
        .order_by(CouponTemplate.id)
    ).all()
    held = _held_counts(session, customer_id)
    best: CouponTemplate | None = None
    best_key: tuple[Decimal, int, Decimal] = (ZERO, 0, ZERO)
    for template in templates:
        if not offered_to(template, segment) or not applies_to(template, product):
            continue
        if held.get(template.id, 0) >= template.per_user_limit:
            continue
        saving = Decimal(template.amount) if product is None else saving_on(template, product.price)
        # Bigger saving first; on a tie, a no-threshold coupon, then the lower threshold.
        key = (saving, int(template.kind == "instant"), -Decimal(template.threshold or 0))
        if saving > ZERO and (best is None or key > best_key):
            best, best_key = template, key
    return BestOffer(template=best, saving=best_key[0] if best else ZERO)


def _detached(session: Session, coupon: Coupon) -> Coupon:
    """Keep a coupon readable after the failed transaction is rolled back (for error bodies)."""
    session.expunge(coupon)
    return coupon


def _new_code() -> str:
    return "CP" + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))


def coupon_valid_until(template: CouponTemplate, issued_at: datetime) -> datetime | None:
    """When a coupon issued now expires: the earlier of the template's end and valid_days."""
    candidates = []
    if template.valid_until is not None:
        candidates.append(template.valid_until)
    if template.valid_days is not None:
        candidates.append(issued_at + timedelta(days=int(template.valid_days)))
    return min(candidates) if candidates else None


def _by_key(session: Session, customer_id: str, key: str) -> Coupon | None:
    return session.scalars(
        select(Coupon).where(Coupon.customer_id == customer_id, Coupon.idempotency_key == key)
    ).one_or_none()


def _replay(coupon: Coupon, template_id: str) -> Issued:
    if coupon.template_id != template_id:
        raise InvalidRequest("这个幂等键已用于领取另一张券")
    return Issued(coupon=coupon, created=False)


def issue_coupon(
    *,
    session: Session,
    customer_id: str,
    template_id: str,
    idempotency_key: str,
    now: datetime | None = None,
) -> Issued:
    """Issue one coupon from a template, at most once per idempotency key.

    Raises NotFound (template), Expired, NotAllowed (inactive or wrong segment),
    LimitReached (with the customer's latest coupon of the template) or OutOfStock.
    """
    now = now or utcnow()
    template = session.scalars(
        select(CouponTemplate).where(CouponTemplate.id == template_id).with_for_update()
    ).one_or_none()
    if template is None:
        raise NotFound(f"没有找到优惠券 {template_id}")
    earlier = _by_key(session, customer_id, idempotency_key)
    if earlier is not None:
        return _replay(earlier, template_id)
    customer = ensure_customer(session=session, customer_id=customer_id, now=now)
    if not template.active:
        raise NotAllowed(f"{template.name}已停止发放")
    if not _in_validity(template, now):
        raise Expired(f"{template.name}已过期")
    if not offered_to(template, str(customer.segment)):
        raise NotAllowed(f"{template.name}不适用于该顾客")
    held = session.scalars(
        select(Coupon)
        .where(Coupon.customer_id == customer_id, Coupon.template_id == template_id)
        .order_by(Coupon.issued_at.desc(), Coupon.code)
    ).all()
    if len(held) >= template.per_user_limit:
        raise LimitReached(
            f"{template.name}每人限领{template.per_user_limit}张，已经领过了",
            extra={"coupon": _detached(session, held[0])},
        )
    if template.stock_left <= 0:
        raise OutOfStock(f"{template.name}已经领完了")
    coupon = Coupon(
        code=_new_code(),
        customer_id=customer_id,
        template_id=template.id,
        name=template.name,
        kind=template.kind,
        amount=template.amount,
        threshold=template.threshold,
        status="issued",
        issued_at=now,
        valid_until=coupon_valid_until(template, now),
        idempotency_key=idempotency_key,
        card_id=customer.card_id,
    )
    try:
        with session.begin_nested():
            session.add(coupon)
            template.issued_count = template.issued_count + 1
    except IntegrityError:
        # The same key won a race on another template; answer as the replay it is.
        earlier = _by_key(session, customer_id, idempotency_key)
        if earlier is None:
            raise
        return _replay(earlier, template_id)
    record_mall_event(
        session=session,
        customer=customer,
        event_type="coupon_claim",
        properties={"template_id": template.id},
        now=now,
    )
    return Issued(coupon=coupon, created=True)


def list_coupons(*, session: Session, customer_id: str) -> list[Coupon]:
    """The customer's coupons, newest first."""
    return list(
        session.scalars(
            select(Coupon)
            .where(Coupon.customer_id == customer_id)
            .order_by(Coupon.issued_at.desc(), Coupon.code)
        )
    )


def redeem_coupon(
    *, session: Session, code: str, order_id: str | None = None, now: datetime | None = None
) -> Coupon:
    """Mark a coupon used; AlreadyUsed or Expired when it cannot be, NotFound when unknown."""
    now = now or utcnow()
    coupon = session.scalars(
        select(Coupon).where(Coupon.code == code).with_for_update()
    ).one_or_none()
    if coupon is None:
        raise NotFound(f"没有找到优惠券 {code}")
    status = coupon_status(coupon, now)
    if status == "used":
        raise AlreadyUsed("这张券已经用过了", extra={"coupon": _detached(session, coupon)})
    if status == "expired":
        raise Expired("这张券已经过期了", extra={"coupon": _detached(session, coupon)})
    if order_id is not None:
        owner = session.scalar(select(Order.customer_id).where(Order.id == order_id))
        if owner is not None and owner != coupon.customer_id:
            raise NotAllowed("这张券不能用于别人的订单")
    coupon.status = "used"
    coupon.used_at = now
    coupon.order_id = order_id
    return coupon
