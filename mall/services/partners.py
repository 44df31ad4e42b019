"""What flows back to the S2B2C partners: each distributor's figures for their card, each
supplier's after-sales signals for their products. Every query is scoped to one card or
one supplier; the routes check that the account asking owns it."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import case, distinct, func, select
from sqlalchemy.orm import Session

from mall.errors import NotFound
from mall.models import (
    BehaviourEvent,
    Coupon,
    Customer,
    DistributorCard,
    Order,
    Product,
    Supplier,
    utcnow,
)
from mall.services.segments import SEGMENTS, SPENDING_STATUSES

COMPLAINT_KINDS = ("defect", "damage", "wrong_item")


def distributor_stats(
    *, session: Session, card_id: str, days: int = 60, now: datetime | None = None
) -> dict[str, Any]:
    """Chats, coupons issued and redeemed, orders, revenue and conversion for one card."""
    card = session.get(DistributorCard, card_id)
    if card is None:
        raise NotFound(f"没有找到分销名片 {card_id}")
    since = (now or utcnow()) - timedelta(days=days)
    customers = int(
        session.scalar(
            select(func.count()).select_from(Customer).where(Customer.card_id == card_id)
        )
        or 0
    )
    chats, chatting = session.execute(
        select(func.count(), func.count(distinct(BehaviourEvent.customer_id))).where(
            BehaviourEvent.card_id == card_id,
            BehaviourEvent.type == "consult",
            BehaviourEvent.occurred_at >= since,
        )
    ).one()
    issued, redeemed = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((Coupon.status == "used", 1), else_=0)), 0),
        ).where(Coupon.card_id == card_id, Coupon.issued_at >= since)
    ).one()
    orders, revenue, buyers = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(Order.total), 0),
            func.count(distinct(Order.customer_id)),
        ).where(
            Order.card_id == card_id,
            Order.status.in_(SPENDING_STATUSES),
            Order.created_at >= since,
        )
    ).one()
    visitors = int(
        session.scalar(
            select(func.count(distinct(BehaviourEvent.customer_id))).where(
                BehaviourEvent.card_id == card_id, BehaviourEvent.occurred_at >= since
            )
        )
        or 0
    )
    segments = dict(
        session.execute(
            select(Customer.segment, func.count())
            .where(Customer.card_id == card_id)
            .group_by(Customer.segment)
        ).all()
    )
    return {
        "card": {"id": card.id, "owner_name": card.owner_name, "shop_name": card.shop_name},
        "days": days,
        "customers": customers,
        "visitors": visitors,
        "chats": int(chats or 0),
        "chatting_customers": int(chatting or 0),
        "coupons_issued": int(issued or 0),
        "coupons_redeemed": int(redeemed or 0),
        "orders": int(orders or 0),
        "revenue": float(Decimal(str(revenue or 0)).quantize(Decimal("0.01"))),
        "buyers": int(buyers or 0),
        # Of the customers active through the card in the period, the share who bought.
        "conversion": round(int(buyers or 0) / visitors, 4) if visitors else 0.0,
        "segments": {segment: int(segments.get(segment, 0)) for segment in SEGMENTS},
    }


def supplier_backflow(
    *, session: Session, supplier_id: str, days: int = 90, now: datetime | None = None
) -> dict[str, Any]:
    """Per product of one supplier: out-of-stock inquiries, complaints by kind, returns."""
    supplier = session.get(Supplier, supplier_id)
    if supplier is None:
        raise NotFound(f"没有找到供应商 {supplier_id}")
    since = (now or utcnow()) - timedelta(days=days)
    products = session.execute(
        select(Product.id, Product.name)
        .where(Product.supplier_id == supplier_id)
        .order_by(Product.id)
    ).all()
    rows = session.execute(
        select(BehaviourEvent.product_id, BehaviourEvent.type, BehaviourEvent.properties)
        .join(Product, Product.id == BehaviourEvent.product_id)
        .where(
            Product.supplier_id == supplier_id,
            BehaviourEvent.type.in_(("stock_inquiry", "complaint", "return_request")),
            BehaviourEvent.occurred_at >= since,
        )
    ).all()
    inquiries: Counter[str] = Counter()
    complaints: dict[str, Counter[str]] = {}
    returns: dict[str, Counter[str]] = {}
    for product_id, kind, properties in rows:
        details = properties or {}
        if kind == "stock_inquiry":
            inquiries[product_id] += 1
        elif kind == "complaint":
            what = str(details.get("kind") or "other")
            complaints.setdefault(product_id, Counter())[
                what if what in COMPLAINT_KINDS else "other"
            ] += 1
        else:
            reason = str(details.get("reason") or "未说明")[:32]
            returns.setdefault(product_id, Counter())[reason] += 1
    items = []
    for product_id, name in products:
        by_kind = complaints.get(product_id, Counter())
        items.append(
            {
                "product_id": product_id,
                "name": name,
                "stock_inquiries": inquiries[product_id],
                "complaints": {kind: by_kind[kind] for kind in (*COMPLAINT_KINDS, "other")},
                "return_reasons": dict(returns.get(product_id, Counter()).most_common()),
            }
        )
    return {
        "supplier": {"id": supplier.id, "name": supplier.name},
        "days": days,
        "products": items,
        "totals": {
            "stock_inquiries": sum(inquiries.values()),
            "complaints": sum(sum(c.values()) for c in complaints.values()),
            "returns": sum(sum(c.values()) for c in returns.values()),
        },
    }
