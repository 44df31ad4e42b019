"""Card profiles, behaviour events and segments."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from mall import schemas

SEEDED_SEGMENTS = {
    "wx-o7Xh2-vip": "high_value",
    "wx-o7Xh2-churn": "churn_risk",
    "web-price-001": "price_sensitive",
    "web-new-001": "new",
    "wx-o7Xh2-regular": "regular",
}


@pytest.mark.parametrize(("customer_id", "segment"), sorted(SEEDED_SEGMENTS.items()))
def test_seeded_behaviour_derives_the_documented_segment(
    client: TestClient, customer_id: str, segment: str
) -> None:
    assert client.get(f"/customers/{customer_id}/profile").json()["segment"] == segment


def test_profile_of_a_customer_who_came_through_a_card(client: TestClient) -> None:
    body = client.get("/customers/wx-o7Xh2-vip/profile").json()
    schemas.ProfileOut.parse_obj(body)
    assert body["display_name"] == "王女士"
    assert body["channel"] == "wechat"
    assert body["card"] == {
        "id": "card-li-digital",
        "owner_name": "李店长",
        "shop_name": "李店长的数码小店",
    }
    assert body["interests"] == ["数码", "美妆"]
    assert body["stats"]["order"] == 5
    assert body["stats"]["consult"] == 2
    assert body["last_visit_at"].endswith("+00:00")


def test_web_customer_without_card(client: TestClient) -> None:
    body = client.get("/customers/wx-o7Xh2-regular/profile").json()
    assert body["card"] is None
    assert client.get("/customers/web-new-001/profile").json()["channel"] == "web"


def test_unknown_customer_profile_is_404(client: TestClient) -> None:
    response = client.get("/customers/web-nobody/profile")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_first_event_creates_a_new_customer(client: TestClient) -> None:
    response = client.post("/customers/wx-first-visit/events", json={"type": "card_view"})
    assert response.status_code == 201
    assert response.json() == {"ok": True, "segment": "new"}
    profile = client.get("/customers/wx-first-visit/profile").json()
    assert profile["channel"] == "wechat"
    assert profile["stats"]["card_view"] == 1
    assert profile["last_visit_at"] is not None


def test_events_do_not_move_a_segment_until_segments_are_recomputed(
    client: TestClient,
) -> None:
    # The churn-risk customer comes back: during this visit they are still offered the
    # win-back, whatever they do; the next clustering run places them anew.
    url = "/customers/wx-o7Xh2-churn/events"
    for event in (
        {"type": "card_view"},
        {"type": "product_view", "product_id": "P1001"},
        {"type": "consult", "product_id": "P1001", "properties": {"sentiment": -0.2}},
    ):
        answer = client.post(url, json=event)
        assert answer.status_code == 201
        assert answer.json()["segment"] == "churn_risk"
    profile = client.get("/customers/wx-o7Xh2-churn/profile").json()
    assert profile["segment"] == "churn_risk"
    assert profile["stats"]["consult"] == 1


def test_mall_events_of_every_kind_are_counted(client: TestClient) -> None:
    url = "/customers/web-haggler/events"
    for kind in ("consult", "stock_inquiry", "complaint"):
        assert client.post(url, json={"type": kind, "product_id": "P1001"}).status_code == 201
    stats = client.get("/customers/web-haggler/profile").json()["stats"]
    assert (stats["consult"], stats["stock_inquiry"], stats["complaint"]) == (1, 1, 1)
    assert client.post(url, json={"type": "teleport"}).status_code == 422


def test_event_updates_last_visit(client: TestClient) -> None:
    before = client.get("/customers/wx-o7Xh2-churn/profile").json()["last_visit_at"]
    client.post("/customers/wx-o7Xh2-churn/events", json={"type": "card_view"})
    after = client.get("/customers/wx-o7Xh2-churn/profile").json()["last_visit_at"]
    assert after > before


def test_event_for_unknown_product_is_refused_and_records_nothing(client: TestClient) -> None:
    response = client.post(
        "/customers/web-new-001/events", json={"type": "product_view", "product_id": "P9999"}
    )
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_request"
    assert client.get("/customers/web-new-001/profile").json()["stats"]["product_view"] == 1


def test_the_business_card_says_why_and_what_the_customer_cares_about(
    client: TestClient,
) -> None:
    vip = client.get("/customers/wx-o7Xh2-vip/profile").json()
    schemas.ProfileOut.parse_obj(vip)
    assert vip["segment"] == "high_value"
    assert vip["segment_reason"] == "近60天到访9天，加购2次未下单"
    # Interests from behaviour (views 1, consults 2, cart adds 3, orders 4), not the
    # declared ones (数码, 美妆): beauty and digital 11 each, appliances 8.
    assert vip["top_interests"] == ["美妆个护", "数码电子", "家用电器"]
    # Her paid orders (249 + 318 + 2499 + 399); the unpaid one does not count.
    assert vip["lifetime_value"] == 3465.0
    assert vip["preferred_channel"] == "wechat" and vip["opt_outs"] == []
    churn = client.get("/customers/wx-o7Xh2-churn/profile").json()
    assert churn["segment_reason"] == "60天未互动"
    assert churn["opt_outs"] == ["sms"]
    price = client.get("/customers/web-price-001/profile").json()
    assert price["segment_reason"].startswith("比价3次只下单1次")
    new = client.get("/customers/web-new-001/profile").json()
    assert new["segment_reason"] == "今天首次到访，还没有下单"
    assert new["lifetime_value"] == 0 and new["top_interests"] == ["数码电子"]
