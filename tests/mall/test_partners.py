"""Distributor and supplier figures: right numbers, and only ever the asker's own."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from mall.db import Database
from mall.errors import InvalidRequest
from mall.services.agents import save_agent

PASSWORD = "partner-password-1"
ACCOUNTS = {
    "li": ("distributor", "card-li-digital"),
    "zhou": ("distributor", "card-zhou-beauty"),
    "audio": ("supplier", "sup-shenzhen-audio"),
    "beauty": ("supplier", "sup-guangzhou-beauty"),
    "desk-agent": ("agent", None),
}


@pytest.fixture
def sessions(client: TestClient, database: Database) -> dict[str, dict[str, str]]:
    with database.write_session() as session:
        for username, (role, scope) in ACCOUNTS.items():
            save_agent(
                session=session,
                username=username,
                display_name=username,
                password=PASSWORD,
                role=role,
                scope_id=scope,
            )
    headers = {}
    for username in ACCOUNTS:
        answer = client.post("/agents/sessions", json={"username": username, "password": PASSWORD})
        assert answer.status_code == 201
        assert answer.json()["agent"]["role"] == ACCOUNTS[username][0]
        headers[username] = {"X-Agent-Session": answer.json()["token"]}
    return headers


def test_a_distributor_sees_their_own_figures(client: TestClient, sessions: dict[str, Any]) -> None:
    answer = client.get("/distributors/card-li-digital/stats", headers=sessions["li"])
    assert answer.status_code == 200, answer.text
    stats = answer.json()
    assert stats["card"]["shop_name"] == "李店长的数码小店"
    # 王女士, 陈先生 and the new visitor came through 李店长's card.
    assert stats["customers"] == 3
    # 王女士's two consults, her two coupons (both used), her four paid orders (¥3465);
    # 陈先生's orders are older than the 60 days asked about.
    assert (stats["chats"], stats["chatting_customers"]) == (2, 1)
    assert (stats["coupons_issued"], stats["coupons_redeemed"]) == (2, 2)
    assert (stats["orders"], stats["revenue"], stats["buyers"]) == (4, 3465.0, 1)
    assert stats["visitors"] == 2 and stats["conversion"] == 0.5
    assert stats["segments"]["high_value"] == 1 and stats["segments"]["churn_risk"] == 1
    zhou = client.get("/distributors/card-zhou-beauty/stats", headers=sessions["zhou"]).json()
    assert (zhou["customers"], zhou["orders"], zhou["coupons_issued"]) == (1, 1, 3)
    wider = client.get(
        "/distributors/card-li-digital/stats", params={"days": 200}, headers=sessions["li"]
    ).json()
    assert wider["orders"] == 6


def test_a_consult_and_a_coupon_are_attributed_to_the_customers_card(
    client: TestClient, sessions: dict[str, Any]
) -> None:
    before = client.get("/distributors/card-li-digital/stats", headers=sessions["li"]).json()
    client.post("/customers/web-new-001/events", json={"type": "consult", "product_id": "P1001"})
    issued = client.post(
        "/customers/web-new-001/coupons", json={"template_id": "T-NEW-20", "idempotency_key": "k1"}
    )
    assert issued.status_code == 201
    after = client.get("/distributors/card-li-digital/stats", headers=sessions["li"]).json()
    assert after["chats"] == before["chats"] + 1
    assert after["coupons_issued"] == before["coupons_issued"] + 1
    # Nothing of it shows on the other distributor's page.
    zhou = client.get("/distributors/card-zhou-beauty/stats", headers=sessions["zhou"]).json()
    assert (zhou["chats"], zhou["coupons_issued"]) == (6, 3)


@pytest.mark.parametrize(
    ("who", "path"),
    [
        ("li", "/distributors/card-zhou-beauty/stats"),
        ("li", "/distributors/card-nobody/stats"),
        ("zhou", "/distributors/card-li-digital/stats"),
        ("audio", "/distributors/card-li-digital/stats"),
        ("desk-agent", "/distributors/card-li-digital/stats"),
        ("audio", "/suppliers/sup-guangzhou-beauty/backflow"),
        ("beauty", "/suppliers/sup-shenzhen-audio/backflow"),
        ("li", "/suppliers/sup-shenzhen-audio/backflow"),
        ("desk-agent", "/suppliers/sup-shenzhen-audio/backflow"),
    ],
)
def test_nobody_reads_another_partners_figures(
    client: TestClient, sessions: dict[str, Any], who: str, path: str
) -> None:
    answer = client.get(path, headers=sessions[who])
    assert answer.status_code == 403
    assert answer.json()["error"] == "forbidden"
    assert "card" not in answer.json() and "products" not in answer.json()


def test_without_a_live_session_nothing_is_shown(
    client: TestClient, sessions: dict[str, Any]
) -> None:
    for path in ("/distributors/card-li-digital/stats", "/suppliers/sup-shenzhen-audio/backflow"):
        assert client.get(path).status_code == 422  # the session header is required
        forged = client.get(path, headers={"X-Agent-Session": "forged-session-token"})
        assert forged.status_code == 401 and forged.json()["error"] == "unauthorized"
        anonymous = TestClient(client.app)
        assert anonymous.get(path, headers=sessions["li"]).status_code == 401  # no service token
    client.delete("/agents/me", headers=sessions["li"])
    ended = client.get("/distributors/card-li-digital/stats", headers=sessions["li"])
    assert ended.status_code == 401


def test_partner_accounts_cannot_act_on_conversations(
    client: TestClient, sessions: dict[str, Any]
) -> None:
    opened = client.post(
        "/handoffs",
        json={"sender_id": "wx-o7Xh2-vip", "channel": "wechat", "reason": "customer_asked"},
    )
    assert opened.status_code in (200, 201), opened.text
    handoff_id = opened.json()["handoff"]["id"]
    for who in ("li", "audio"):
        for action in ("claim", "close"):
            answer = client.post(f"/handoffs/{handoff_id}/{action}", headers=sessions[who])
            assert answer.status_code == 403, (who, action)
    assert client.get(f"/handoffs/{handoff_id}").json()["status"] == "waiting"
    # Signed-in partners are not agents online.
    assert client.get("/handoffs/availability").json()["agents_online"] == 1


def test_a_supplier_sees_after_sales_signals_for_their_products_only(
    client: TestClient, sessions: dict[str, Any]
) -> None:
    signals = [
        ("wx-o7Xh2-vip", "complaint", "P1001", {"kind": "defect"}),
        ("wx-o7Xh2-regular", "complaint", "P1001", {"kind": "defect"}),
        ("web-price-001", "complaint", "P1003", {"kind": "damage"}),
        ("web-price-001", "complaint", "P1003", {"kind": "smell"}),
        ("wx-o7Xh2-vip", "return_request", "P1001", {"reason": "质量问题"}),
        ("web-new-001", "stock_inquiry", "P1002", None),
        ("web-new-001", "stock_inquiry", "P1002", None),
        ("wx-o7Xh2-vip", "complaint", "P3001", {"kind": "wrong_item"}),
    ]
    for customer, kind, product, properties in signals:
        body: dict[str, Any] = {"type": kind, "product_id": product}
        if properties:
            body["properties"] = properties
        assert client.post(f"/customers/{customer}/events", json=body).status_code == 201
    audio = client.get("/suppliers/sup-shenzhen-audio/backflow", headers=sessions["audio"])
    assert audio.status_code == 200
    body = audio.json()
    by_product = {item["product_id"]: item for item in body["products"]}
    assert set(by_product) == {f"P100{n}" for n in range(1, 8)}
    assert by_product["P1001"]["complaints"] == {
        "defect": 2,
        "damage": 0,
        "wrong_item": 0,
        "other": 0,
    }
    assert by_product["P1001"]["return_reasons"] == {"质量问题": 1}
    assert by_product["P1003"]["complaints"]["damage"] == 1
    assert by_product["P1003"]["complaints"]["other"] == 1
    assert by_product["P1002"]["stock_inquiries"] == 2
    assert body["totals"] == {"stock_inquiries": 2, "complaints": 4, "returns": 1}
    beauty = client.get(
        "/suppliers/sup-guangzhou-beauty/backflow", headers=sessions["beauty"]
    ).json()
    assert beauty["totals"]["complaints"] == 1
    assert all(item["product_id"].startswith("P3") for item in beauty["products"])


def test_partner_accounts_need_a_real_scope(database: Database) -> None:
    with database.write_session() as session:
        for role, scope in (("distributor", "card-nobody"), ("supplier", None), ("agent", "x")):
            with pytest.raises(InvalidRequest):
                save_agent(
                    session=session,
                    username="bad",
                    display_name="bad",
                    password=PASSWORD,
                    role=role,
                    scope_id=scope,
                )
