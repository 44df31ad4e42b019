"""The mall API, as someone on the network sees it: nothing but /health without the token."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.outsider.conftest import Target, listening_addresses

pytestmark = pytest.mark.integration

SAMPLE = {
    "{customer_id}": "wx-o7Xh2-vip",
    "{order_id}": "202611180001",
    "{product_id}": "P1001",
    "{code}": "CPXXXX",
    "{handoff_id}": "1",
}
BODIES: dict[str, Any] = {
    "/customers/{customer_id}/coupons": {"template_id": "T-VIP-50", "idempotency_key": "x-1"},
    "/customers/{customer_id}/events": {"type": "consult"},
    # A body that would record a consult and read the card profile with the token.
    "/customers/{customer_id}/consults": {"words": "声悦Pro降噪蓝牙耳机", "product_id": "P1001"},
    "/handoffs": {"sender_id": "wx-o7Xh2-vip", "reason": "angry"},
}


def operations(target: Target) -> list[tuple[str, str, str]]:
    """(method, template path, concrete path) of every documented operation."""
    token = target.secret("MALL_API_TOKEN")
    spec = requests.get(
        f"{target.mall}/openapi.json", headers={"Authorization": f"Bearer {token}"}, timeout=10
    ).json()
    found = []
    for path, methods in spec["paths"].items():
        concrete = path
        for name, value in SAMPLE.items():
            concrete = concrete.replace(name, value)
        found += [(method.upper(), path, concrete) for method in methods]
    return found


def test_the_mall_api_listens_on_loopback_only(target: Target) -> None:
    assert listening_addresses(target.settings.mall_port) == {"127.0.0.1"}
    assert listening_addresses(target.settings.actions_port) == {"127.0.0.1"}


@pytest.mark.parametrize(
    "credential",
    [
        {},
        {"Authorization": "Bearer wrong-token-0123456789abcdef"},
        {"Authorization": "Basic d3gtbzdYaDItdmlwOg=="},
        {"Authorization": "Bearer "},
        {"X-Api-Key": "anything"},
    ],
    ids=["none", "wrong", "basic", "empty", "other-header"],
)
def test_every_route_but_health_answers_401(
    target: Target, unchanged: Any, credential: dict[str, str]
) -> None:
    found = operations(target)
    assert len(found) >= 25  # catalogue, customers, orders, coupons, handoffs, agents
    with unchanged():
        for method, path, concrete in found:
            answer = requests.request(
                method,
                f"{target.mall}{concrete}",
                json=BODIES.get(path, {}),
                headers=credential,
                timeout=10,
            )
            expected = 200 if path == "/health" else 401
            assert answer.status_code == expected, (method, concrete, answer.status_code)
            if expected == 401:
                assert answer.json()["error"] == "unauthorized"
                assert "王女士" not in answer.text and "orders" not in answer.text


def test_probing_for_routes_reveals_nothing(target: Target, unchanged: Any) -> None:
    with unchanged():
        for path in ("/no/such/route", "/docs", "/openapi.json", "/shop", "/console", "/"):
            assert requests.get(f"{target.mall}{path}", timeout=10).status_code == 401
        token = target.secret("MALL_API_TOKEN")
        # The token only counts in its header: not in the query, not as a cookie.
        assert (
            requests.get(f"{target.mall}/products", params={"token": token}, timeout=10).status_code
            == 401
        )
        assert (
            requests.get(
                f"{target.mall}/products", cookies={"token": token}, timeout=10
            ).status_code
            == 401
        )


def test_with_the_token_bad_bodies_are_refused_cleanly(target: Target, unchanged: Any) -> None:
    auth = {"Authorization": f"Bearer {target.secret('MALL_API_TOKEN')}"}
    with unchanged():
        huge = requests.post(
            f"{target.mall}/customers/web-outsider/events",
            data=b'{"type": "consult", "x": "' + b"a" * (2 * 1024 * 1024) + b'"}',
            headers={**auth, "Content-Type": "application/json"},
            timeout=30,
        )
        assert huge.status_code == 413 and huge.json()["error"] == "too_large"
        broken = requests.post(
            f"{target.mall}/customers/web-outsider/events",
            data=b"{not json",
            headers={**auth, "Content-Type": "application/json"},
            timeout=10,
        )
        assert broken.status_code == 422 and "Traceback" not in broken.text
        for bad_id in ("..%2F..%2Fetc", "a" * 65, "wx-1;drop", "%00"):
            answer = requests.get(
                f"{target.mall}/customers/{bad_id}/orders", headers=auth, timeout=10
            )
            assert answer.status_code in (404, 422), bad_id
        # Another customer's order through this customer's path is not found.
        mine = requests.get(
            f"{target.mall}/customers/wx-o7Xh2-churn/orders/202611180001", headers=auth, timeout=10
        )
        assert mine.status_code == 404


def test_the_one_request_turn_routes_need_the_token_and_refuse_bad_input(
    target: Target, unchanged: Any
) -> None:
    """The greeting's, price and discount turns' routes (profile inside): nothing without
    the token."""
    consults = f"{target.mall}/customers/wx-o7Xh2-vip/consults"
    offer = f"{target.mall}/customers/wx-o7Xh2-vip/offer"
    welcome = f"{target.mall}/customers/wx-o7Xh2-vip/welcome"
    token = target.secret("MALL_API_TOKEN")
    auth = {"Authorization": f"Bearer {token}"}
    with unchanged():
        for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789abcdef"}):
            refused = requests.post(
                consults, json={"product_id": "P1001"}, headers=headers, timeout=10
            )
            assert refused.status_code == 401 and "王女士" not in refused.text
            refused = requests.get(
                offer, params={"product_id": "P1001"}, headers=headers, timeout=10
            )
            assert refused.status_code == 401 and "王女士" not in refused.text
            refused = requests.get(welcome, headers=headers, timeout=10)
            assert refused.status_code == 401 and "王女士" not in refused.text
        in_query = requests.get(offer, params={"product_id": "P1001", "token": token}, timeout=10)
        assert in_query.status_code == 401
        for body in ({"words": "x" * 101}, {"recommendations": 99}, {"text": ["a"]}):
            bad = requests.post(consults, json=body, headers=auth, timeout=10)
            assert bad.status_code == 422 and "Traceback" not in bad.text, body
        bad = requests.get(offer, params={"text": "x" * 1001}, headers=auth, timeout=10)
        assert bad.status_code == 422 and "Traceback" not in bad.text
        for params in ({"recommendations": 99}, {"page_product_id": "x" * 33}):
            bad = requests.get(welcome, params=params, headers=auth, timeout=10)
            assert bad.status_code == 422 and "Traceback" not in bad.text, params
        other = requests.post(
            f"{target.mall}/customers/..%2Fhandoffs/consults", json={}, headers=auth, timeout=10
        )
        assert other.status_code in (404, 422)
        other = requests.get(
            f"{target.mall}/customers/..%2Fhandoffs/welcome", headers=auth, timeout=10
        )
        assert other.status_code in (404, 422) and "王女士" not in other.text
