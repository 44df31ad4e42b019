"""Load the demo data under mall/seed/ into the database, idempotently.

Every record is keyed by its id (events by their customer): what exists is left alone,
so seeding twice changes nothing. Times in the seed files are relative to the moment of
seeding, so the demo always looks recent.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mall.models import (
    BehaviourEvent,
    Category,
    Coupon,
    CouponTemplate,
    Customer,
    DistributorCard,
    Logistics,
    LogisticsEvent,
    Order,
    OrderItem,
    Product,
    Sku,
    Supplier,
    utcnow,
)
from mall.services.coupons import coupon_valid_until
from mall.services.profiles import channel_of, refresh_segment

SEED_DIR = Path(__file__).resolve().parent / "seed"
logger = logging.getLogger(__name__)


class SeedError(ValueError):
    """A seed file is missing something or refers to something unknown."""


def _load(seed_dir: Path, name: str) -> dict[str, Any]:
    path = seed_dir / name
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, dict):
        raise SeedError(f"{path} is not a YAML mapping")
    return data


def _money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def _ago(now: datetime, days: Any = 0, hours: Any = 0) -> datetime:
    return now - timedelta(days=float(days or 0), hours=float(hours or 0))


def is_empty(session: Session) -> bool:
    """Whether the catalogue has no products yet."""
    return not session.scalar(select(func.count()).select_from(Product))


def seed(*, session: Session, seed_dir: Path = SEED_DIR, now: datetime | None = None) -> Counter:
    """Add whatever seed records are missing; return how many of each kind were added."""
    now = now or utcnow()
    added: Counter = Counter()
    _seed_catalogue(session, _load(seed_dir, "catalogue.yml"), added)
    products = {p.id: p for p in session.scalars(select(Product))}
    skus = list(session.scalars(select(Sku)))
    _seed_templates(session, _load(seed_dir, "coupons.yml"), now, added)
    people = _load(seed_dir, "customers.yml")
    new_customers = _seed_customers(session, people, now, added)
    _seed_orders(session, _load(seed_dir, "orders.yml"), products, skus, now, added)
    _seed_coupons(session, people, now, added)
    session.flush()
    for customer in new_customers:
        last = session.scalar(
            select(func.max(BehaviourEvent.occurred_at)).where(
                BehaviourEvent.customer_id == customer.id
            )
        )
        customer.last_visit_at = last
        refresh_segment(session=session, customer=customer, now=now)
    logger.info("seeded: %s", dict(added) or "nothing new")
    return added


def _seed_catalogue(session: Session, data: dict[str, Any], added: Counter) -> None:
    for row in data["categories"]:
        if session.get(Category, row["id"]) is None:
            session.add(Category(id=row["id"], name=row["name"]))
            added["categories"] += 1
    for row in data["suppliers"]:
        if session.get(Supplier, row["id"]) is None:
            session.add(Supplier(id=row["id"], name=row["name"]))
            added["suppliers"] += 1
    session.flush()
    for row in data["products"]:
        if session.get(Product, row["id"]) is not None:
            continue
        session.add(
            Product(
                id=row["id"],
                name=row["name"],
                category_id=row["category"],
                supplier_id=row["supplier"],
                aliases=[str(alias) for alias in row.get("aliases", [])],
                list_price=_money(row["list_price"]),
                price=_money(row["price"]),
                description=row.get("description", ""),
                # Values such as `键数: 87` parse as numbers; the API serves text.
                specs={str(k): str(v) for k, v in (row.get("specs") or {}).items()},
                image_url=row.get("image_url"),
            )
        )
        for position, sku in enumerate(row.get("skus", []), start=1):
            session.add(
                Sku(
                    id=f"{row['id']}-{position:02d}",
                    product_id=row["id"],
                    position=position,
                    color=sku.get("color"),
                    size=None if sku.get("size") is None else str(sku["size"]),
                    stock=int(sku.get("stock", 0)),
                )
            )
        added["products"] += 1
    session.flush()


def _seed_templates(session: Session, data: dict[str, Any], now: datetime, added: Counter) -> None:
    for row in data["templates"]:
        if session.get(CouponTemplate, row["id"]) is not None:
            continue
        valid_until_days = row.get("valid_until_days")
        session.add(
            CouponTemplate(
                id=row["id"],
                name=row["name"],
                kind=row["kind"],
                amount=_money(row["amount"]),
                threshold=_money(row["threshold"]) if row.get("threshold") is not None else None,
                valid_days=row.get("valid_days"),
                valid_until=(
                    now + timedelta(days=float(valid_until_days))
                    if valid_until_days is not None
                    else None
                ),
                per_user_limit=int(row.get("per_user_limit", 1)),
                total_stock=int(row["total_stock"]),
                issued_count=0,
                segments=list(row.get("segments", [])),
                product_ids=list(row.get("product_ids", [])),
                category_ids=list(row.get("category_ids", [])),
                description=row.get("description", ""),
                active=bool(row.get("active", True)),
            )
        )
        added["coupon_templates"] += 1
    session.flush()


def _seed_customers(
    session: Session, data: dict[str, Any], now: datetime, added: Counter
) -> list[Customer]:
    for row in data.get("cards", []):
        if session.get(DistributorCard, row["id"]) is None:
            session.add(
                DistributorCard(
                    id=row["id"], owner_name=row["owner_name"], shop_name=row["shop_name"]
                )
            )
            added["cards"] += 1
    session.flush()
    created = []
    for row in data["customers"]:
        if session.get(Customer, row["id"]) is not None:
            continue
        customer = Customer(
            id=row["id"],
            channel=row.get("channel") or channel_of(row["id"]),
            display_name=row.get("display_name", ""),
            interests=list(row.get("interests") or []),
            card_id=row.get("card"),
            segment="new",
            created_at=_ago(now, row.get("created_days_ago", 0)),
            opt_outs=list(row.get("opt_outs") or []),
        )
        session.add(customer)
        session.flush()  # events refer to the customer; no ORM relationship orders them
        for event in row.get("events", []):
            session.add(
                BehaviourEvent(
                    customer_id=row["id"],
                    type=event["type"],
                    product_id=event.get("product"),
                    occurred_at=_ago(now, event.get("days_ago", 0), event.get("hours_ago", 0)),
                    card_id=row.get("card"),
                    properties=event.get("properties"),
                )
            )
            added["events"] += 1
        created.append(customer)
        added["customers"] += 1
    session.flush()
    return created


def _sku_of(skus: list[Sku], product_id: str, line: dict[str, Any]) -> Sku | None:
    for sku in skus:
        if sku.product_id != product_id:
            continue
        if line.get("color") not in (None, sku.color):
            continue
        if line.get("size") is not None and str(line["size"]) != sku.size:
            continue
        return sku
    return None


def _seed_orders(
    session: Session,
    data: dict[str, Any],
    products: dict[str, Product],
    skus: list[Sku],
    now: datetime,
    added: Counter,
) -> None:
    for row in data["orders"]:
        order_id = str(row["id"])
        if session.get(Order, order_id) is not None:
            continue
        created_at = _ago(now, row.get("created_days_ago", 0))
        card_id = session.scalar(select(Customer.card_id).where(Customer.id == row["customer"]))
        lines = []
        for line in row["items"]:
            product = products.get(line["product"])
            if product is None:
                raise SeedError(f"order {order_id}: unknown product {line['product']}")
            if _sku_of(skus, product.id, line) is None:
                raise SeedError(f"order {order_id}: {product.id} has no SKU like {line}")
            lines.append(
                OrderItem(
                    order_id=order_id,
                    product_id=product.id,
                    name=line.get("name", product.name),
                    color=line.get("color"),
                    size=None if line.get("size") is None else str(line["size"]),
                    quantity=int(line.get("quantity", 1)),
                    price=_money(line.get("price", product.price)),
                )
            )
        goods = sum((item.price * item.quantity for item in lines), Decimal("0.00"))
        shipping_fee = _money(row.get("shipping_fee", 0))
        discount = _money(row.get("discount", 0))
        address = row["address"]
        session.add(
            Order(
                id=order_id,
                customer_id=row["customer"],
                status=row["status"],
                created_at=created_at,
                goods_amount=goods,
                shipping_fee=shipping_fee,
                discount=discount,
                total=goods + shipping_fee - discount,
                recipient_name=address["name"],
                recipient_phone=str(address["phone"]),
                region=address["region"],
                address_detail=address["detail"],
                card_id=card_id,
            )
        )
        session.flush()
        session.add_all(lines)
        # The mall logs an `order` event for every order placed.
        session.add(
            BehaviourEvent(
                customer_id=row["customer"],
                type="order",
                product_id=lines[0].product_id,
                occurred_at=created_at,
                card_id=card_id,
                properties={"order_id": order_id, "products": [i.product_id for i in lines]},
            )
        )
        logistics = row.get("logistics")
        if logistics:
            session.add(
                Logistics(
                    order_id=order_id,
                    courier=logistics["courier"],
                    tracking_no=str(logistics["tracking_no"]),
                )
            )
            session.flush()
            for event in logistics.get("events", []):
                session.add(
                    LogisticsEvent(
                        order_id=order_id,
                        occurred_at=_ago(now, event.get("days_ago", 0), event.get("hours_ago", 0)),
                        description=event["description"],
                        location=event.get("location"),
                    )
                )
        added["orders"] += 1
    session.flush()


def _seed_coupons(session: Session, data: dict[str, Any], now: datetime, added: Counter) -> None:
    for person in data["customers"]:
        for row in person.get("coupons", []):
            if session.get(Coupon, row["code"]) is not None:
                continue
            template = session.get(CouponTemplate, row["template"])
            if template is None:
                raise SeedError(f"coupon {row['code']}: unknown template {row['template']}")
            issued_at = _ago(now, row.get("issued_days_ago", 0))
            used = row.get("status") == "used"
            session.add(
                Coupon(
                    code=row["code"],
                    customer_id=person["id"],
                    template_id=template.id,
                    name=template.name,
                    kind=template.kind,
                    amount=template.amount,
                    threshold=template.threshold,
                    status=row.get("status", "issued"),
                    issued_at=issued_at,
                    valid_until=coupon_valid_until(template, issued_at),
                    used_at=_ago(now, row.get("used_days_ago", 0)) if used else None,
                    order_id=row.get("order"),
                    idempotency_key=f"seed-{row['code']}",
                    card_id=person.get("card"),
                )
            )
            template.issued_count = template.issued_count + 1
            added["coupons"] += 1
    session.flush()
