"""Orders: own orders only, allowed actions per status, cancelling."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from mall import schemas

VIP = "wx-o7Xh2-vip"
REGULAR = "wx-o7Xh2-regular"


def test_orders_are_the_customers_own_newest_first(client: TestClient) -> None:
    body = client.get(f"/customers/{VIP}/orders").json()
    schemas.OrdersOut.parse_obj(body)
    ids = [order["id"] for order in body["items"]]
    assert ids == ["202611220004", "202611210005", "202611180001", "202611150002", "202610280003"]
    created = [order["created_at"] for order in body["items"]]
    assert created == sorted(created, reverse=True)


def test_customer_without_orders_has_an_empty_list(client: TestClient) -> None:
    assert client.get("/customers/web-new-001/orders").json() == {"items": []}


def test_shipped_order_shows_logistics_newest_event_first(client: TestClient) -> None:
    body = client.get(f"/customers/{VIP}/orders/202611180001").json()
    schemas.OrderOut.parse_obj(body)
    assert body["status"] == "shipped"
    assert body["status_name"] == "已发货"
    assert body["total"] == 2499.0
    assert body["items"] == [
        {
            "product_id": "P6002",
            "name": "扫拖一体机器人X10",
            "color": "白色",
            "size": None,
            "quantity": 1,
            "price": 2499.0,
        }
    ]
    logistics = body["logistics"]
    assert logistics["courier"] == "顺丰速运"
    assert logistics["tracking_no"] == "SF1428839204711"
    times = [event["time"] for event in logistics["events"]]
    assert len(times) == 4 and times == sorted(times, reverse=True)
    assert "派送" in logistics["events"][0]["description"]


def test_phone_numbers_are_masked(client: TestClient) -> None:
    address = client.get(f"/customers/{VIP}/orders/202611180001").json()["address"]
    assert address["phone"] == "138****5678"
    assert address["name"] == "王女士"


def test_totals_add_up(client: TestClient) -> None:
    body = client.get(f"/customers/{VIP}/orders/202611150002").json()
    assert body["goods_amount"] == 348.0
    assert body["discount"] == 30.0
    assert body["total"] == 318.0


def test_someone_elses_order_is_404(client: TestClient) -> None:
    own = client.get(f"/customers/{REGULAR}/orders/202611180001")
    assert own.status_code == 404
    assert own.json()["error"] == "not_found"
    assert client.get(f"/customers/{VIP}/orders/202611180001").status_code == 200


def test_unknown_order_is_404(client: TestClient) -> None:
    assert client.get(f"/customers/{VIP}/orders/209912310000").status_code == 404


@pytest.mark.parametrize(
    ("customer", "order_id", "status", "actions"),
    [
        (VIP, "202611220004", "pending_payment", ["cancel", "change_address", "change_sku"]),
        (VIP, "202611210005", "paid", ["cancel", "change_address", "change_sku"]),
        (VIP, "202611180001", "shipped", ["refuse_delivery"]),
        (VIP, "202611150002", "delivered", ["return", "exchange"]),
        (VIP, "202610280003", "completed", ["return", "exchange"]),
        (REGULAR, "202611100006", "refunding", []),
        (REGULAR, "202611170007", "cancelled", []),
    ],
)
def test_allowed_actions_follow_the_status(
    client: TestClient, customer: str, order_id: str, status: str, actions: list[str]
) -> None:
    body = client.get(f"/customers/{customer}/orders/{order_id}").json()
    assert body["status"] == status
    assert body["allowed_actions"] == actions


def test_cancel_an_unpaid_order(client: TestClient) -> None:
    response = client.post(f"/customers/{VIP}/orders/202611220004/cancel")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "cancelled"
    assert body["status_name"] == "已取消"
    assert body["allowed_actions"] == []
    stored = client.get(f"/customers/{VIP}/orders/202611220004").json()
    assert stored["status"] == "cancelled"


def test_cancel_a_shipped_order_is_refused_and_changes_nothing(client: TestClient) -> None:
    response = client.post(f"/customers/{VIP}/orders/202611180001/cancel")
    assert response.status_code == 409
    assert response.json()["error"] == "not_allowed"
    assert "已发货" in response.json()["message"]
    assert client.get(f"/customers/{VIP}/orders/202611180001").json()["status"] == "shipped"


def test_cancel_twice_is_refused_the_second_time(client: TestClient) -> None:
    assert client.post(f"/customers/{VIP}/orders/202611210005/cancel").status_code == 200
    again = client.post(f"/customers/{VIP}/orders/202611210005/cancel")
    assert again.status_code == 409
    assert again.json()["error"] == "not_allowed"


def test_cannot_cancel_someone_elses_order(client: TestClient) -> None:
    response = client.post(f"/customers/{REGULAR}/orders/202611220004/cancel")
    assert response.status_code == 404
    assert client.get(f"/customers/{VIP}/orders/202611220004").json()["status"] == (
        "pending_payment"
    )
