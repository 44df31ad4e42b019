"""Product recommendations from behaviour: co-bought and co-viewed products, the customer's
category affinity and their segment.

For a product in play: products bought in the same orders as it (weight 3) and products
the same customers looked at, carted or asked about (weight 1, per customer). For the
customer: categories of their own behaviour (weight 2 per share of it). Then their segment:
price-sensitive customers are shown discounted products first, high-value ones dearer
ones. Products out of stock, the product in play and what the customer already bought are
left out. Without any behaviour the best sellers of the window fill in.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session, aliased

from mall.models import BehaviourEvent, Category, Customer, Order, OrderItem, Product, Sku, utcnow

INTEREST = ("product_view", "add_to_cart", "consult", "compare", "order")
WINDOW = timedelta(days=60)


def _reason(co_bought: float, co_viewed: float, affinity: float, category: str) -> str:
    if co_bought:
        return "买了这款的人也买了"
    if co_viewed:
        return "看过这款的人也在看"
    if affinity:
        return f"您常看的{category}"
    return "店里热卖"


def recommend(
    *,
    session: Session,
    customer_id: str,
    product_id: str | None = None,
    limit: int = 3,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Up to `limit` products for this customer (and the product in play), best first."""
    since = (now or utcnow()) - WINDOW
    co_bought: Counter[str] = Counter()
    co_viewed: Counter[str] = Counter()
    if product_id:
        other = aliased(OrderItem)
        for item, count in session.execute(
            select(other.product_id, func.count(distinct(other.order_id)))
            .join(OrderItem, OrderItem.order_id == other.order_id)
            .join(Order, Order.id == other.order_id)
            .where(
                OrderItem.product_id == product_id,
                other.product_id != product_id,
                Order.created_at >= since,
            )
            .group_by(other.product_id)
        ):
            co_bought[item] = int(count)
        mine = aliased(BehaviourEvent)
        theirs = aliased(BehaviourEvent)
        for item, count in session.execute(
            select(theirs.product_id, func.count(distinct(theirs.customer_id)))
            .join(mine, mine.customer_id == theirs.customer_id)
            .where(
                mine.product_id == product_id,
                mine.type.in_(INTEREST),
                mine.occurred_at >= since,
                theirs.type.in_(INTEREST),
                theirs.product_id.is_not(None),
                theirs.product_id != product_id,
                theirs.occurred_at >= since,
            )
            .group_by(theirs.product_id)
        ):
            co_viewed[item] = int(count)
    affinity = dict(
        session.execute(
            select(Product.category_id, func.count())
            .join(BehaviourEvent, BehaviourEvent.product_id == Product.id)
            .where(
                BehaviourEvent.customer_id == customer_id,
                BehaviourEvent.type.in_(INTEREST),
                BehaviourEvent.occurred_at >= since,
            )
            .group_by(Product.category_id)
        ).all()
    )
    total_affinity = sum(affinity.values()) or 1
    bought = set(
        session.scalars(
            select(OrderItem.product_id)
            .join(Order, Order.id == OrderItem.order_id)
            .where(Order.customer_id == customer_id)
        )
    )
    popular = dict(
        session.execute(
            select(OrderItem.product_id, func.count())
            .join(Order, Order.id == OrderItem.order_id)
            .where(Order.created_at >= since)
            .group_by(OrderItem.product_id)
        ).all()
    )
    segment = session.scalar(select(Customer.segment).where(Customer.id == customer_id))
    in_stock = set(
        session.scalars(
            select(Sku.product_id).group_by(Sku.product_id).having(func.sum(Sku.stock) > 0)
        )
    )
    products = session.execute(
        select(
            Product.id,
            Product.name,
            Product.price,
            Product.list_price,
            Product.category_id,
            Category.name,
        ).join(Category, Category.id == Product.category_id)
    ).all()
    most_popular = max(popular.values(), default=1)
    dearest = max((float(p[2]) for p in products), default=1.0) or 1.0
    candidates = []
    for pid, name, price, list_price, category_id, category in products:
        if pid == product_id or pid in bought or pid not in in_stock:
            continue
        share = affinity.get(category_id, 0) / total_affinity
        score = 3.0 * co_bought[pid] + 1.0 * co_viewed[pid] + 2.0 * share
        score += 0.5 * popular.get(pid, 0) / most_popular
        if segment == "price_sensitive" and Decimal(str(list_price)) > Decimal(str(price)):
            score += 0.5
        elif segment == "high_value":
            score += 0.5 * float(price) / dearest
        candidates.append(
            (
                -score,
                pid,
                {
                    "id": pid,
                    "name": name,
                    "price": float(price),
                    "reason": _reason(co_bought[pid], co_viewed[pid], share, category),
                },
            )
        )
    candidates.sort(key=lambda c: (c[0], c[1]))
    return [item for _, _, item in candidates[:limit]]
