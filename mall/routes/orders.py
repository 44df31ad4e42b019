"""Order routes: a customer's own orders, one order, cancelling."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from mall import changes, schemas, views
from mall.routes.deps import CustomerId, DatabaseDep, Responses
from mall.services import orders

router = APIRouter(prefix="/customers/{customer_id}/orders", tags=["orders"])
ERRORS: Responses = {404: {"model": schemas.ErrorOut}, 409: {"model": schemas.ErrorOut}}


@router.get("", response_model=schemas.OrdersOut)
def list_orders(database: DatabaseDep, customer_id: CustomerId) -> dict[str, Any]:
    """The customer's orders, newest first."""
    with database.read_session() as session:
        items = orders.list_orders(session=session, customer_id=customer_id)
        return {"items": [views.order(o) for o in items]}


@router.get("/{order_id}", response_model=schemas.OrderOut, responses=ERRORS)
def get_order(database: DatabaseDep, customer_id: CustomerId, order_id: str) -> dict[str, Any]:
    """One of the customer's orders (404 when missing or someone else's)."""
    with database.read_session() as session:
        order = orders.get_order(session=session, customer_id=customer_id, order_id=order_id)
        return views.order(order)


@router.post("/{order_id}/cancel", response_model=schemas.OrderOut, responses=ERRORS)
def cancel_order(database: DatabaseDep, customer_id: CustomerId, order_id: str) -> dict[str, Any]:
    """Cancel the order if its status still allows it (409 not_allowed otherwise)."""
    with database.write_session() as session:
        order = orders.cancel_order(session=session, customer_id=customer_id, order_id=order_id)
        content = views.order(order)
    # Stock goes back to the products; the customer's figures change.
    changes.announce("product", *{str(item["product_id"]) for item in content.get("items", [])})
    changes.announce("profile", customer_id)
    return content
