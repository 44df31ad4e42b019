"""Distributor and supplier pages in the desk: each partner sees only their own figures."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from mall.db import Database
from mall.services.agents import save_agent
from mall.services.profiles import record_event
from tests.desk.conftest import PASSWORD, csrf_of, logged_in


def add_partners(database: Database) -> None:
    with database.write_session() as session:
        for username, role, scope in (
            ("li-shop", "distributor", "card-li-digital"),
            ("zhou-shop", "distributor", "card-zhou-beauty"),
            ("audio-co", "supplier", "sup-shenzhen-audio"),
        ):
            save_agent(
                session=session,
                username=username,
                display_name=username,
                password=PASSWORD,
                role=role,
                scope_id=scope,
            )
        record_event(
            session=session,
            customer_id="wx-o7Xh2-vip",
            event_type="complaint",
            product_id="P1001",
            properties={"kind": "damage"},
        )
        record_event(
            session=session,
            customer_id="web-price-001",
            event_type="complaint",
            product_id="P3002",
            properties={"kind": "defect"},
        )


def test_a_distributor_signs_in_and_sees_their_own_card(desk: Any, database: Database) -> None:
    add_partners(database)
    li = logged_in(desk, "li-shop")
    # The console is not theirs: every console page sends them to their own page.
    answer = li.get("/console", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/console/partner"
    assert li.get("/console/handoffs/1", follow_redirects=False).status_code == 303
    page = li.get("/console/partner").text
    assert "李店长的数码小店" in page and 'id="revenue">¥3465.00<' in page
    assert 'id="coupons">2 / 2<' in page and "周姐美妆严选" not in page
    zhou = logged_in(desk, "zhou-shop").get("/console/partner").text
    assert "周姐美妆严选" in zhou and "李店长的数码小店" not in zhou
    assert 'id="revenue">¥77.00<' in zhou


def test_partners_cannot_act_in_the_console(desk: Any, database: Database) -> None:
    add_partners(database)
    li = logged_in(desk, "li-shop")
    token = csrf_of(li.get("/console/partner").text)
    for action in ("claim", "reply", "close", "reveal"):
        answer = li.post(f"/console/handoffs/1/{action}", data={"csrf": token, "text": "x"})
        assert answer.status_code == 403, action
    # They can still sign out.
    out = li.post("/console/logout", data={"csrf": token}, follow_redirects=False)
    assert out.status_code == 303
    assert li.get("/console/partner", follow_redirects=False).status_code == 303


def test_a_supplier_sees_complaints_about_their_products_only(
    desk: Any, database: Database
) -> None:
    add_partners(database)
    page = logged_in(desk, "audio-co").get("/console/partner").text
    assert "深圳声悦科技有限公司" in page
    assert 'id="product-P1001"' in page and 'id="product-P3002"' not in page
    assert "投诉 1 " in page


def test_agents_and_strangers_have_no_partner_page(desk: Any, database: Database) -> None:
    add_partners(database)
    agent = logged_in(desk, "li")
    answer = agent.get("/console/partner", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/console"
    stranger = TestClient(desk)
    stranger.cookies.set("console_session", "forged-token")
    answer = stranger.get("/console/partner", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/console/login"
