"""Outsiders against behaviour events: the mall's channel-key route and the shop's
endpoint, on `make run`'s defaults. Nothing they try is recorded."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

import pytest
import requests

from tests.outsider.conftest import Target

pytestmark = pytest.mark.integration


def batch(kind: str = "product_view", customer: str = "wx-o7Xh2-vip") -> dict[str, Any]:
    return {
        "events": [
            {
                "id": uuid.uuid4().hex,
                "type": kind,
                "customer_id": customer,
                "occurred_at": datetime.now(timezone.utc).isoformat(),
                "product_id": "P1001",
            }
        ]
    }


def test_the_mall_takes_events_only_with_a_channel_key(target: Target, unchanged: Any) -> None:
    url = f"{target.mall}/events"
    shop_key = target.secret("SHOP_EVENT_KEY")
    with unchanged():
        for headers in (
            {},
            {"Authorization": f"Bearer {target.secret('MALL_API_TOKEN')}"},
            {"Authorization": f"Bearer {target.secret('HANDOFF_TOKEN')}"},
            {"Authorization": "Bearer " + shop_key[:-1] + ("x" if shop_key[-1] != "x" else "y")},
        ):
            answer = requests.post(url, json=batch(), headers=headers, timeout=10)
            assert answer.status_code == 401 and answer.json()["error"] == "unauthorized"
        with_key = {"Authorization": f"Bearer {shop_key}"}
        # A channel's key cannot speak for another channel, nor report orders or consults.
        wrong = requests.post(
            url, json={**batch(), "source": "wechat"}, headers=with_key, timeout=10
        )
        assert wrong.status_code == 403
        for kind in ("order", "consult", "coupon_claim", "complaint"):
            answer = requests.post(url, json=batch(kind), headers=with_key, timeout=10)
            assert answer.status_code == 422 and "商城自己记录" in answer.json()["message"]


def test_the_shop_endpoint_refuses_other_sites_and_strangers(
    target: Target, unchanged: Any
) -> None:
    url = f"{target.desk}/shop/events"
    body = {"events": [{"id": uuid.uuid4().hex, "type": "share", "product_id": "P1001"}]}
    with unchanged():
        other_site = requests.post(
            url, json=body, headers={"Origin": "https://evil.example"}, timeout=10
        )
        assert other_site.status_code == 403
        own_origin = {"Origin": target.desk}
        # No visitor cookie (a script that never loaded the page), a forged one.
        assert requests.post(url, json=body, headers=own_origin, timeout=10).status_code == 401
        forged = requests.post(
            url,
            json=body,
            headers=own_origin,
            cookies={"shop_visitor": "web-v-0011223344556677.0000"},
            timeout=10,
        )
        assert forged.status_code == 401
        # A real visitor still cannot report an order or name a customer.
        visitor = requests.Session()
        visitor.get(f"{target.desk}/shop", timeout=10)
        order = {"events": [{"id": uuid.uuid4().hex, "type": "order", "product_id": "P1001"}]}
        answer = visitor.post(url, json=order, headers=own_origin, timeout=10)
        assert answer.status_code == 422
