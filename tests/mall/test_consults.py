"""The price turn in one request: product in play, profile, suggestions, the consult recorded."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient


def consult(client: TestClient, customer: str, **body: Any) -> dict[str, Any]:
    answer = client.post(f"/customers/{customer}/consults", json=body)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def consult_count(client: TestClient, customer: str) -> int:
    answer = client.get(f"/customers/{customer}/profile")
    return int(answer.json()["stats"]["consult"]) if answer.status_code == 200 else 0


def test_the_named_product_with_profile_and_suggestions_as_the_separate_routes_answer(
    client: TestClient,
) -> None:
    profile_before = client.get("/customers/wx-o7Xh2-vip/profile").json()
    suggested = client.get(
        "/customers/wx-o7Xh2-vip/recommendations", params={"product_id": "P1001"}
    ).json()["items"]

    body = consult(client, "wx-o7Xh2-vip", words="声悦Pro降噪蓝牙耳机", product_id="P3001")

    assert body["product"] == client.get("/products/P1001").json()
    assert body["asked_for"] is None and body["suggestions"] == []
    assert body["profile"] == profile_before  # as it was before this consult
    assert body["recommendations"] == suggested
    assert body["segment"] == "high_value"
    assert consult_count(client, "wx-o7Xh2-vip") == profile_before["stats"]["consult"] + 1


def test_sources_in_order_words_page_text_earlier(client: TestClient) -> None:
    everything = {"page_product_id": "P3001", "text": "充电宝多少钱", "product_id": "P4006"}
    assert consult(client, "web-a", words="耳机", **everything)["product"]["id"] == "P1001"
    assert consult(client, "web-b", **everything)["product"]["id"] == "P3001"
    no_page = {**everything, "page_product_id": "P9999"}  # a page product no longer sold
    text_product = consult(client, "web-c", **no_page)["product"]
    assert (
        text_product["name"]
        == client.get("/products/match", params={"text": "充电宝"}).json()["items"][0]["name"]
    )
    assert consult(client, "web-d", product_id="P4006", text="多少钱")["product"]["id"] == "P4006"


def test_words_naming_nothing_give_near_matches_and_record_nothing(client: TestClient) -> None:
    body = consult(client, "web-unknown-words", words="蓝牙耳鸡", product_id="P4006")
    resolved = client.get("/products/resolve", params={"q": "蓝牙耳鸡"}).json()
    assert body["product"] is None and body["asked_for"] == "蓝牙耳鸡"
    assert body["suggestions"] == resolved["suggestions"]
    assert body["profile"] is None and body["recommendations"] == [] and body["segment"] is None
    assert client.get("/customers/web-unknown-words/profile").status_code == 404


def test_no_product_anywhere(client: TestClient) -> None:
    body = consult(client, "web-nothing", text="多少钱")
    assert body == {
        "product": None,
        "asked_for": None,
        "suggestions": [],
        "profile": None,
        "recommendations": [],
        "segment": None,
    }


def test_a_first_time_customer_is_created_with_the_time_zone(client: TestClient) -> None:
    body = consult(
        client,
        "web-first-consult",
        product_id="P1001",
        properties={"time_zone": "Europe/Berlin"},
        recommendations=0,
    )
    assert body["profile"] is None  # unknown until this consult
    assert body["recommendations"] == [] and body["segment"] == "new"
    profile = client.get("/customers/web-first-consult/profile").json()
    assert profile["stats"]["consult"] == 1


def test_bad_bodies_are_refused_clearly(client: TestClient) -> None:
    for body in ({"words": ""}, {"words": "x" * 101}, {"recommendations": 11}, {"text": ["a"]}):
        answer = client.post("/customers/web-bad/consults", json=body)
        assert answer.status_code == 422, body
        assert answer.json()["error"] == "invalid_request"
    assert client.post("/customers/bad id!/consults", json={}).status_code == 422


# ---------------------------------------------------------------- the offer in one request


def offer(client: TestClient, customer: str, **params: Any) -> dict[str, Any]:
    answer = client.get(f"/customers/{customer}/offer", params=params)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_the_offer_is_the_best_coupon_on_the_product_in_play_with_the_profile(
    client: TestClient,
) -> None:
    body = offer(client, "wx-o7Xh2-vip", text="要优惠", product_id="P1001")
    best = client.get("/customers/wx-o7Xh2-vip/coupons/best", params={"product_id": "P1001"}).json()
    assert body["product"] == client.get("/products/P1001").json()
    assert body["best"] == best and body["best"]["template"] is not None
    assert body["profile"] == client.get("/customers/wx-o7Xh2-vip/profile").json()
    assert body["asked_for"] is None and body["suggestions"] == []
    # Reads only: asking twice changes nothing.
    assert offer(client, "wx-o7Xh2-vip", text="要优惠", product_id="P1001") == body


def test_the_offer_without_a_product_is_store_wide_and_unknown_words_ask_which(
    client: TestClient,
) -> None:
    body = offer(client, "web-nobody-yet", text="有优惠吗")
    assert body["product"] is None and body["profile"] is None
    assert body["best"] == client.get("/customers/web-nobody-yet/coupons/best").json()
    unknown = offer(client, "web-nobody-yet", words="蓝牙耳鸡", product_id="P1001")
    assert unknown["asked_for"] == "蓝牙耳鸡" and unknown["best"] is None
    assert unknown["suggestions"]
    assert client.get("/customers/web-nobody-yet/profile").status_code == 404
    assert client.get("/customers/web-x/offer", params={"words": "x" * 101}).status_code == 422


# ---------------------------------------------------------------- the greeting in one request


def test_the_greeting_reads_as_the_separate_routes_answer(client: TestClient) -> None:
    profile = client.get("/customers/wx-o7Xh2-vip/profile").json()
    suggested = client.get("/customers/wx-o7Xh2-vip/recommendations").json()["items"]

    answer = client.get("/customers/wx-o7Xh2-vip/welcome", params={"page_product_id": "P1003"})

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body == {
        "profile": profile,
        "product": client.get("/products/P1003").json(),
        "recommendations": suggested,
    }
    # A read only: nothing recorded.
    assert client.get("/customers/wx-o7Xh2-vip/profile").json() == profile


def test_the_greeting_of_a_stranger_on_an_unknown_page_is_plain_not_an_error(
    client: TestClient,
) -> None:
    answer = client.get(
        "/customers/web-first-visit/welcome",
        params={"page_product_id": "P9999", "recommendations": 2},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["profile"] is None and body["product"] is None
    assert len(body["recommendations"]) == 2  # the best sellers fill in
    assert client.get("/customers/web-first-visit/profile").status_code == 404
    none = client.get("/customers/web-first-visit/welcome", params={"recommendations": 0})
    assert none.json()["recommendations"] == []


def test_the_greeting_refuses_bad_input_clearly(client: TestClient) -> None:
    for params in ({"recommendations": 11}, {"recommendations": -1}, {"page_product_id": "P" * 33}):
        answer = client.get("/customers/wx-o7Xh2-vip/welcome", params=params)
        assert answer.status_code == 422, params
        assert "Traceback" not in answer.text


def test_an_issued_coupon_comes_with_the_profile_after_it(client: TestClient) -> None:
    body = {"template_id": "T-VIP-50", "idempotency_key": "welcome-test-1"}
    issued = client.post("/customers/wx-o7Xh2-vip/coupons", json=body)
    assert issued.status_code == 201, issued.text
    profile = client.get("/customers/wx-o7Xh2-vip/profile").json()
    assert issued.json()["profile"] == profile
    assert issued.json()["code"] in {c["code"] for c in profile_coupons(client)}
    again = client.post("/customers/wx-o7Xh2-vip/coupons", json=body)
    assert again.status_code == 200
    assert again.json()["code"] == issued.json()["code"]
    assert again.json()["profile"] == profile


def profile_coupons(client: TestClient) -> list[dict[str, Any]]:
    return list(client.get("/customers/wx-o7Xh2-vip/coupons").json()["items"])


def test_a_coupon_issued_while_the_profile_cannot_be_read_is_still_answered(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    from mall.routes import coupons as coupon_routes

    def busy(**_kwargs: object) -> None:
        raise OperationalError("SELECT ...", {}, Exception("database is locked"))

    monkeypatch.setattr(coupon_routes.consults, "profile_view", busy)
    body = {"template_id": "T-VIP-50", "idempotency_key": "busy-1"}
    issued = client.post("/customers/wx-o7Xh2-vip/coupons", json=body)
    assert issued.status_code == 201, issued.text
    assert issued.json()["profile"] is None
    assert issued.json()["code"] in {c["code"] for c in profile_coupons(client)}
