"""Recommendations from behaviour: co-bought, co-viewed, the customer's categories."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import distinct, event, func, select
from sqlalchemy.orm import Session, aliased

from mall.db import Database
from mall.models import BehaviourEvent, Category, Customer, Order, OrderItem, Product, Sku, utcnow
from mall.services import recommendations
from mall.services.recommendations import INTEREST, WINDOW, _reason


def recommended(client: TestClient, customer: str, **params: object) -> list[dict]:
    answer = client.get(f"/customers/{customer}/recommendations", params=params)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


def test_products_bought_together_come_first(client: TestClient) -> None:
    # 王女士 bought the serum P3001 with the lipstick P3004 a week ago; a shopper with no
    # history of their own who looks at the serum is shown the lipstick first.
    items = recommended(client, "web-fresh-1", product_id="P3001")
    assert items[0]["id"] == "P3004" and items[0]["reason"] == "买了这款的人也买了"
    assert all(item["id"] != "P3001" for item in items)
    # Those who asked about the serum also looked at the earphones: they come next.
    assert items[1]["id"] == "P1001" and items[1]["reason"] == "看过这款的人也在看"


def test_products_the_same_customers_looked_at(client: TestClient) -> None:
    for customer in ("web-look-1", "web-look-2", "web-look-3"):
        for product in ("P4003", "P4006"):
            url = f"/customers/{customer}/events"
            assert (
                client.post(url, json={"type": "product_view", "product_id": product}).status_code
                == 201
            )
    items = recommended(client, "web-new-001", product_id="P4003", limit=2)
    assert items[0] == {
        "id": "P4006",
        "name": "不锈钢保温杯",
        "price": 89.0,
        "reason": "看过这款的人也在看",
    }


def test_the_customers_own_categories_without_a_product(client: TestClient) -> None:
    # The new visitor only looked at the earphones (digital): digital products lead.
    items = recommended(client, "web-new-001", limit=3)
    assert {item["id"][:2] for item in items} == {"P1"}
    assert items[0]["reason"] in ("您常看的数码电子", "买了这款的人也买了", "看过这款的人也在看")


def test_what_was_bought_or_is_sold_out_is_not_recommended(client: TestClient) -> None:
    bought = {"P6002", "P3001", "P3004", "P1001", "P2006", "P3005"}
    items = recommended(client, "wx-o7Xh2-vip", limit=10)
    assert not bought & {item["id"] for item in items}
    everyone = recommended(client, "web-nobody-yet", limit=10)
    assert len(everyone) == 10 and "P5006" not in {item["id"] for item in everyone}


def test_bad_parameters_are_refused(client: TestClient) -> None:
    assert (
        client.get("/customers/web-new-001/recommendations", params={"limit": 0}).status_code == 422
    )
    assert client.get("/customers/bad%20id/recommendations").status_code == 422


# ---------------------------------------------------------------- the same at any size


# The implementation that scored every product of the catalogue per call (the reference).
def scan_recommend(
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


def test_the_same_products_as_scoring_every_product_on_random_catalogues(
    database: Database,
) -> None:
    rng = random.Random(11)
    with database.write_session() as session:
        categories = [c.id for c in session.scalars(select(Category))]
        for number in range(300):
            price = Decimal(rng.choice([19, 49, 99, 99, 199, 599]))
            session.add(
                Product(
                    id=f"R{number:04d}",
                    name=f"随机商品{number}",
                    category_id=rng.choice(categories),
                    supplier_id="sup-shenzhen-audio",
                    aliases=[],
                    price=price,
                    list_price=price + (rng.choice([0, 0, 10]) if rng.random() < 0.5 else 0),
                )
            )
            stock = rng.choice([0, 0, 5])
            session.add(Sku(id=f"R{number:04d}-1", product_id=f"R{number:04d}", stock=stock))
    customers = ["wx-o7Xh2-vip", "web-price-001", "wx-o7Xh2-churn", "web-new-001", "web-nobody"]
    products = [None, "P1001", "P3001", "R0007"]
    with database.read_session() as session:
        for customer in customers:
            for product in products:
                for limit in (1, 3, 10):
                    ours = recommendations.recommend(
                        session=session, customer_id=customer, product_id=product, limit=limit
                    )
                    theirs = scan_recommend(
                        session=session, customer_id=customer, product_id=product, limit=limit
                    )
                    assert ours == theirs, (customer, product, limit)


def test_a_category_sold_out_at_its_start_is_read_in_pages_not_whole(
    database: Database,
) -> None:
    """900 sold-out products first in a category, then two in stock: both found, and no
    query reads the stock of the whole catalogue or more than a page of products."""
    with database.write_session() as session:
        session.add(Category(id="cat-sold-out", name="售罄类"))
        for number in range(902):
            pid = f"S{number:04d}"
            session.add(
                Product(
                    id=pid,
                    name=f"售罄商品{number}",
                    category_id="cat-sold-out",
                    supplier_id="sup-shenzhen-audio",
                    aliases=[],
                    price=Decimal(9),
                    list_price=Decimal(9),
                )
            )
            session.add(Sku(id=f"{pid}-1", product_id=pid, stock=5 if number >= 900 else 0))
        # A customer who looks at this category (so its products score above the others').
        session.add(Customer(id="web-sold-out-fan", channel="web"))
        session.flush()
        for number in range(3):
            session.add(
                BehaviourEvent(
                    customer_id="web-sold-out-fan", type="product_view", product_id=f"S{number:04d}"
                )
            )
    statements: list[tuple[str, Any]] = []

    def noted(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    with database.read_session() as session:
        event.listen(database.engine, "before_cursor_execute", noted)
        try:
            ours = recommendations.recommend(session=session, customer_id="web-sold-out-fan")
        finally:
            event.remove(database.engine, "before_cursor_execute", noted)
        theirs = scan_recommend(session=session, customer_id="web-sold-out-fan")
    assert ours == theirs
    assert [item["id"] for item in ours[:2]] == ["S0900", "S0901"]
    stock_reads = [(s, p) for s, p in statements if "FROM skus" in s and "stock" in s]
    assert stock_reads and all("IN (" in s for s, _ in stock_reads)
    assert max(len(p) for _, p in stock_reads) <= recommendations._LAST_PAGE
