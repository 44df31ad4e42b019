"""The demo data: complete, consistent, and idempotent to load."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from mall.db import Database
from mall.models import Base, Coupon, CouponTemplate, Customer, Order, Product
from mall.seeding import seed
from mall.services.coupons import applies_to, best_offer, offered_to

SEGMENTS = ("high_value", "churn_risk", "price_sensitive", "new", "regular")


def table_snapshot(database: Database) -> dict[str, list]:
    with database.engine.connect() as connection:
        return {
            table: connection.execute(text(f"SELECT * FROM {table} ORDER BY 1")).all()
            for table in Base.metadata.tables
        }


def test_seeding_twice_changes_nothing(database: Database) -> None:
    before = table_snapshot(database)
    with database.write_session() as session:
        added = seed(session=session)
    assert sum(added.values()) == 0
    assert table_snapshot(database) == before


def test_the_catalogue_is_all_there(database: Database) -> None:
    with database.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Product)) == 43
        assert session.get(Product, "P1001").name == "声悦Pro降噪蓝牙耳机"


def test_every_segment_has_a_coupon_for_the_earphones(database: Database) -> None:
    with database.read_session() as session:
        earphones = session.get(Product, "P1001")
        templates = session.scalars(select(CouponTemplate).where(CouponTemplate.active)).all()
        for segment in SEGMENTS:
            assert any(
                offered_to(t, segment) and applies_to(t, earphones) and t.stock_left > 0
                for t in templates
            ), segment


def test_template_stock_counts_the_seeded_coupons(database: Database) -> None:
    with database.read_session() as session:
        for template in session.scalars(select(CouponTemplate)):
            issued = session.scalar(
                select(func.count()).select_from(Coupon).where(Coupon.template_id == template.id)
            )
            assert template.issued_count == issued


def test_orders_cover_every_status_with_twelve_digit_ids(database: Database) -> None:
    with database.read_session() as session:
        orders = session.scalars(select(Order)).all()
    assert all(re.fullmatch(r"\d{12}", order.id) for order in orders)
    assert {o.status for o in orders} >= {
        "pending_payment",
        "paid",
        "shipped",
        "delivered",
        "completed",
        "refunding",
        "cancelled",
    }
    for order in orders:
        assert order.total == order.goods_amount + order.shipping_fee - order.discount


def test_seeded_customers_use_the_documented_ids(database: Database) -> None:
    with database.read_session() as session:
        ids = set(session.scalars(select(Customer.id)))
    assert ids == {
        "wx-o7Xh2-vip",
        "wx-o7Xh2-churn",
        "web-price-001",
        "web-new-001",
        "wx-o7Xh2-regular",
    }


@pytest.mark.postgres
def test_seeding_on_postgres_gives_the_same_demo(postgres_url: str) -> None:
    database = Database(postgres_url)
    try:
        with database.write_session() as session:
            seed(session=session)
        with database.write_session() as session:
            assert sum(seed(session=session).values()) == 0
        with database.read_session() as session:
            segments = dict(session.execute(select(Customer.id, Customer.segment)).all())
            offer = best_offer(session=session, customer_id="wx-o7Xh2-churn", product_id="P1001")
            order = session.get(Order, "202611150002")
            assert order.total == Decimal("318.00")
    finally:
        database.dispose()
    assert segments == {
        "wx-o7Xh2-vip": "high_value",
        "wx-o7Xh2-churn": "churn_risk",
        "web-price-001": "price_sensitive",
        "web-new-001": "new",
        "wx-o7Xh2-regular": "regular",
    }
    assert offer.template is not None and offer.template.id == "T-WINBACK-60"
    assert offer.saving == Decimal("60.00")
