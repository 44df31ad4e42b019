"""Order rules: a customer sees only their own orders; what each status allows."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.sql import Select

from mall.errors import NotAllowed, NotFound
from mall.models import Logistics, Order

STATUS_NAMES = {
    "pending_payment": "待付款",
    "paid": "待发货",
    "shipped": "已发货",
    "delivered": "已签收",
    "completed": "已完成",
    "cancelled": "已取消",
    "refunding": "退款中",
    "refunded": "已退款",
}

# Before shipping an order can still be changed or cancelled; on the way it can only be
# refused at the door; once received, after-sales (return, exchange) takes over.
ALLOWED_ACTIONS: dict[str, tuple[str, ...]] = {
    "pending_payment": ("cancel", "change_address", "change_sku"),
    "paid": ("cancel", "change_address", "change_sku"),
    "shipped": ("refuse_delivery",),
    "delivered": ("return", "exchange"),
    "completed": ("return", "exchange"),
    "cancelled": (),
    "refunding": (),
    "refunded": (),
}


def allowed_actions(status: str) -> list[str]:
    """What the customer may still do with an order in this status."""
    return list(ALLOWED_ACTIONS.get(status, ()))


def _with_details(statement: Select) -> Select:
    # Two queries whatever the number of orders: orders joined with their items and
    # logistics, then all their logistics events.
    return statement.options(
        joinedload(Order.items),
        joinedload(Order.logistics).selectinload(Logistics.events),
    )


def list_orders(*, session: Session, customer_id: str) -> list[Order]:
    """The customer's orders, newest first, with items and logistics."""
    statement = (
        select(Order)
        .where(Order.customer_id == customer_id)
        .order_by(Order.created_at.desc(), Order.id.desc())
    )
    return list(session.scalars(_with_details(statement)).unique())


def get_order(*, session: Session, customer_id: str, order_id: str) -> Order:
    """One of the customer's orders; NotFound when missing or someone else's."""
    statement = select(Order).where(Order.id == order_id, Order.customer_id == customer_id)
    order = session.scalars(_with_details(statement)).unique().one_or_none()
    if order is None:
        # Someone else's order reads exactly like a missing one: ids must not leak.
        raise NotFound(f"没有找到订单 {order_id}")
    return order


def cancel_order(*, session: Session, customer_id: str, order_id: str) -> Order:
    """Cancel an order whose status still allows it; NotAllowed otherwise."""
    status = session.scalar(
        select(Order.status)
        .where(Order.id == order_id, Order.customer_id == customer_id)
        .with_for_update()
    )
    if status is None:
        raise NotFound(f"没有找到订单 {order_id}")
    if "cancel" not in allowed_actions(status):
        raise NotAllowed(f"订单{STATUS_NAMES.get(status, status)}，不能取消了")
    order = get_order(session=session, customer_id=customer_id, order_id=order_id)
    order.status = "cancelled"
    return order
