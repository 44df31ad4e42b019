"""Turn models into the JSON shapes of docs/mall-api.md (plain dicts, no queries)."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

from mall.models import Coupon, CouponTemplate, Customer, Order, Product
from mall.services.coupons import coupon_status
from mall.services.orders import STATUS_NAMES, allowed_actions

CENT = Decimal("0.01")


def money(value: Decimal | float | int | None) -> float | None:
    """Yuan as a JSON number rounded to the cent."""
    if value is None:
        return None
    return float(Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP))


def mask_phone(phone: str) -> str:
    """Keep the first three and last four digits: 13812345678 -> 138****5678."""
    if len(phone) < 8:
        return "*" * len(phone)
    return f"{phone[:3]}****{phone[-4:]}"


class SummaryFields(Protocol):
    """A product, or a row of just the columns a product list needs."""

    id: str
    name: str
    category_id: str
    price: Decimal
    list_price: Decimal


def product_summary(product: SummaryFields) -> dict[str, Any]:
    """ProductSummary: what a list of products shows."""
    return {
        "id": product.id,
        "name": product.name,
        "category": product.category_id,
        "price": money(product.price),
        "list_price": money(product.list_price),
    }


def product_detail(product: Product) -> dict[str, Any]:
    """Product: the summary plus category, supplier, specs and SKUs (eager-loaded)."""
    skus = [
        {"sku_id": sku.id, "color": sku.color, "size": sku.size, "stock": sku.stock}
        for sku in product.skus
    ]
    return {
        **product_summary(product),
        "category_name": product.category.name,
        "supplier": product.supplier.name,
        "aliases": list(product.aliases),
        "description": product.description,
        "specs": dict(product.specs),
        "skus": skus,
        "total_stock": sum(sku["stock"] for sku in skus),
        "image_url": product.image_url,
    }


def profile(
    customer: Customer, stats: dict[str, int], card_details: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Profile: the customer's card profile (card eager-loaded) and business card."""
    card = customer.card
    return {
        "customer_id": customer.id,
        "display_name": customer.display_name,
        "channel": customer.channel,
        "card": (
            {"id": card.id, "owner_name": card.owner_name, "shop_name": card.shop_name}
            if card is not None
            else None
        ),
        "interests": list(customer.interests),
        "segment": customer.segment,
        "last_visit_at": customer.last_visit_at,
        "stats": stats,
        **(card_details or {}),
    }


def template(item: CouponTemplate) -> dict[str, Any]:
    """Template: a coupon offer as the customer would be told about it."""
    return {
        "id": item.id,
        "name": item.name,
        "kind": item.kind,
        "amount": money(item.amount),
        "threshold": money(item.threshold),
        "valid_days": item.valid_days,
        "valid_until": item.valid_until,
        "per_user_limit": item.per_user_limit,
        "stock_left": item.stock_left,
        "segments": list(item.segments),
        "product_ids": list(item.product_ids),
        "category_ids": list(item.category_ids),
        "description": item.description,
    }


def coupon(item: Coupon, now: datetime) -> dict[str, Any]:
    """Coupon: an issued coupon with its status as of `now`."""
    return {
        "code": item.code,
        "template_id": item.template_id,
        "name": item.name,
        "kind": item.kind,
        "amount": money(item.amount),
        "threshold": money(item.threshold),
        "status": coupon_status(item, now),
        "issued_at": item.issued_at,
        "valid_until": item.valid_until,
        "used_at": item.used_at,
        "order_id": item.order_id,
    }


def order(item: Order) -> dict[str, Any]:
    """Order: items, masked address, logistics (newest event first) and allowed actions."""
    logistics = item.logistics
    return {
        "id": item.id,
        "status": item.status,
        "status_name": STATUS_NAMES.get(item.status, item.status),
        "created_at": item.created_at,
        "total": money(item.total),
        "goods_amount": money(item.goods_amount),
        "shipping_fee": money(item.shipping_fee),
        "discount": money(item.discount),
        "items": [
            {
                "product_id": line.product_id,
                "name": line.name,
                "color": line.color,
                "size": line.size,
                "quantity": line.quantity,
                "price": money(line.price),
            }
            for line in item.items
        ],
        "address": {
            "name": item.recipient_name,
            "phone": mask_phone(item.recipient_phone),
            "region": item.region,
            "detail": item.address_detail,
        },
        "logistics": (
            {
                "courier": logistics.courier,
                "tracking_no": logistics.tracking_no,
                "events": [
                    {"time": e.occurred_at, "description": e.description, "location": e.location}
                    for e in logistics.events
                ],
            }
            if logistics is not None
            else None
        ),
        "allowed_actions": allowed_actions(item.status),
    }
