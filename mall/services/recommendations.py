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

import itertools
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import bindparam, distinct, func, select
from sqlalchemy.orm import Session, aliased

from mall.models import BehaviourEvent, Category, Customer, Order, OrderItem, Product, Sku, utcnow
from mall.services import catalogue

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


@dataclass(frozen=True)
class _Item:
    name: str
    price: float
    discounted: bool
    category_id: str
    category: str


@dataclass(frozen=True)
class _Catalogue:
    """What scoring needs of every product, kept per catalogue version."""

    token: str | None
    items: dict[str, _Item]
    dearest: float
    # Per category, the order in which products that nothing but their category and the
    # segment score come out: by id; discounted first; dearest first (ties by id).
    by_id: dict[str, list[str]]
    by_discount: dict[str, list[str]]
    by_price: dict[str, list[str]]


# One per database (keyed by its connection pool), rebuilt when the catalogue version token
# changes (as the name index in services/catalogue.py): a recommendation then reads the few
# candidates' stock instead of every product and SKU of a large catalogue.
_catalogues: WeakKeyDictionary[Any, _Catalogue] = WeakKeyDictionary()
_catalogue_lock = threading.Lock()
# Candidates read per category in a first pass; more only when too many are sold out, in
# pages of at most this many products a query.
_FIRST_PASS = 3
_LAST_PAGE = 400


def _build_catalogue(session: Session, token: str | None) -> _Catalogue:
    rows = session.execute(
        select(
            Product.id,
            Product.name,
            Product.price,
            Product.list_price,
            Product.category_id,
            Category.name,
        ).join(Category, Category.id == Product.category_id)
    ).all()
    items = {
        pid: _Item(
            name=name,
            price=float(price),
            discounted=Decimal(str(list_price)) > Decimal(str(price)),
            category_id=category_id,
            category=category,
        )
        for pid, name, price, list_price, category_id, category in rows
    }
    by_id: dict[str, list[str]] = {}
    for pid in sorted(items):
        by_id.setdefault(items[pid].category_id, []).append(pid)
    return _Catalogue(
        token=token,
        items=items,
        dearest=max((item.price for item in items.values()), default=1.0) or 1.0,
        by_id=by_id,
        by_discount={
            cat: sorted(ids, key=lambda pid: (not items[pid].discounted, pid))
            for cat, ids in by_id.items()
        },
        by_price={
            cat: sorted(ids, key=lambda pid: (-items[pid].price, pid)) for cat, ids in by_id.items()
        },
    )


def _catalogue(session: Session) -> _Catalogue:
    token = catalogue.version_token(session)
    pool = session.get_bind().pool
    current = _catalogues.get(pool)
    if current is not None and token is not None and current.token == token:
        return current
    with _catalogue_lock:
        current = _catalogues.get(pool)
        if current is None or token is None or current.token != token:
            current = _build_catalogue(session, token)
            _catalogues[pool] = current
        return current


def _in_stock(session: Session, ids: list[str]) -> set[str]:
    if not ids:
        return set()
    return set(session.scalars(_STATEMENTS.in_stock, {"ids": ids}))


def _first_in_stock(
    session: Session, orders: dict[str, list[str]], skip: set[str], limit: int
) -> list[str]:
    """Up to `limit` products in stock from each category's order, `skip` left out.

    One query reads the stock of the first few of every category; a category with too many
    of them sold out is walked on in pages that double (up to _LAST_PAGE products a query)
    until it has its `limit` or ends, so the cost follows how far the category has to be
    read, not the catalogue's size.
    """
    if limit <= 0:
        return []
    wanted = _FIRST_PASS * limit
    first = {
        cat: list(itertools.islice((pid for pid in ids if pid not in skip), wanted + 1))
        for cat, ids in orders.items()
    }
    stocked = _in_stock(session, [pid for ids in first.values() for pid in ids[:wanted]])
    chosen = {
        cat: [pid for pid in ids[:wanted] if pid in stocked][:limit] for cat, ids in first.items()
    }
    # Categories with too many sold out among their first few (and more products to try).
    short = [cat for cat, ids in first.items() if len(chosen[cat]) < limit and len(ids) > wanted]
    for cat in short:
        rest = [pid for pid in orders[cat] if pid not in skip][wanted:]
        start, page = 0, wanted
        while len(chosen[cat]) < limit and start < len(rest):
            batch = rest[start : start + page]
            in_stock = _in_stock(session, batch)
            chosen[cat] += [pid for pid in batch if pid in in_stock][: limit - len(chosen[cat])]
            start += len(batch)
            page = min(2 * page, _LAST_PAGE)
    return [pid for ids in chosen.values() for pid in ids]


class _Statements:
    """The recommendation's queries, built once with bound parameters.

    Building a SQLAlchemy statement (joins, aliases, aggregates) costs more than running it
    on an indexed table; built once, each call only binds its values, and the compiled form
    comes from SQLAlchemy's cache.
    """

    def __init__(self) -> None:
        since = bindparam("since")
        customer_id = bindparam("customer_id")
        product_id = bindparam("product_id")
        other = aliased(OrderItem)
        # Products bought in the same orders as the product in play (orders counted).
        self.co_bought = (
            select(other.product_id, func.count(distinct(other.order_id)))
            .join(OrderItem, OrderItem.order_id == other.order_id)
            .join(Order, Order.id == other.order_id)
            .where(
                OrderItem.product_id == product_id,
                other.product_id != product_id,
                Order.created_at >= since,
            )
            .group_by(other.product_id)
        )
        # Products the same customers showed interest in (customers counted).
        mine = aliased(BehaviourEvent)
        theirs = aliased(BehaviourEvent)
        self.co_viewed = (
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
        )
        # The customer's interest per category.
        self.affinity = (
            select(Product.category_id, func.count())
            .join(BehaviourEvent, BehaviourEvent.product_id == Product.id)
            .where(
                BehaviourEvent.customer_id == customer_id,
                BehaviourEvent.type.in_(INTEREST),
                BehaviourEvent.occurred_at >= since,
            )
            .group_by(Product.category_id)
        )
        self.bought = (
            select(OrderItem.product_id)
            .join(Order, Order.id == OrderItem.order_id)
            .where(Order.customer_id == customer_id)
        )
        # Best sellers of the window.
        self.popular = (
            select(OrderItem.product_id, func.count())
            .join(Order, Order.id == OrderItem.order_id)
            .where(Order.created_at >= since)
            .group_by(OrderItem.product_id)
        )
        self.segment = select(Customer.segment).where(Customer.id == customer_id)
        self.in_stock = (
            select(Sku.product_id)
            .where(Sku.product_id.in_(bindparam("ids", expanding=True)))
            .group_by(Sku.product_id)
            .having(func.sum(Sku.stock) > 0)
        )


_STATEMENTS = _Statements()


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
        in_play = {"product_id": product_id, "since": since}
        for item, count in session.execute(_STATEMENTS.co_bought, in_play):
            co_bought[item] = int(count)
        for item, count in session.execute(_STATEMENTS.co_viewed, in_play):
            co_viewed[item] = int(count)
    customer = {"customer_id": customer_id, "since": since}
    affinity = dict(session.execute(_STATEMENTS.affinity, customer).all())
    total_affinity = sum(affinity.values()) or 1
    bought = set(session.scalars(_STATEMENTS.bought, customer))
    popular = dict(session.execute(_STATEMENTS.popular, {"since": since}).all())
    segment = session.scalar(_STATEMENTS.segment, customer)
    known = _catalogue(session)
    most_popular = max(popular.values(), default=1)

    def score(pid: str) -> float:
        item = known.items[pid]
        share = affinity.get(item.category_id, 0) / total_affinity
        value = 3.0 * co_bought[pid] + 1.0 * co_viewed[pid] + 2.0 * share
        value += 0.5 * popular.get(pid, 0) / most_popular
        if segment == "price_sensitive" and item.discounted:
            value += 0.5
        elif segment == "high_value":
            value += 0.5 * item.price / known.dearest
        return value

    # Products with behaviour of their own are scored one by one; every other product scores
    # by its category and the segment alone, so only the first few of each category's order
    # can make the list.
    excluded = bought | {product_id} if product_id else set(bought)
    explicit = {pid for pid in (*co_bought, *co_viewed, *popular) if pid in known.items}
    order = (
        known.by_discount
        if segment == "price_sensitive"
        else known.by_price
        if segment == "high_value"
        else known.by_id
    )
    candidates = sorted(_in_stock(session, sorted(explicit - excluded)))
    candidates += _first_in_stock(session, order, excluded | explicit, limit)
    ranked = sorted((-score(pid), pid) for pid in candidates)
    result = []
    for _, pid in ranked[:limit]:
        item = known.items[pid]
        share = affinity.get(item.category_id, 0) / total_affinity
        result.append(
            {
                "id": pid,
                "name": item.name,
                "price": item.price,
                "reason": _reason(co_bought[pid], co_viewed[pid], share, item.category),
            }
        )
    return result
