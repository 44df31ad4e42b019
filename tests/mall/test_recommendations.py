"""Recommendations from behaviour: co-bought, co-viewed, the customer's categories."""

from __future__ import annotations

from fastapi.testclient import TestClient


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
