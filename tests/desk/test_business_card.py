"""The AI business card in the agent console, read live from the mall."""

from __future__ import annotations

from typing import Any

from mall.db import Database
from mall.services import handoffs
from tests.desk.conftest import ALWAYS_OPEN, logged_in


def open_for(database: Database, sender_id: str) -> int:
    with database.write_session() as session:
        opened = handoffs.open_handoff(
            session=session,
            sender_id=sender_id,
            channel="wechat",
            reason="request_human",
            context={"profile": {"name": "?"}},
            settings=ALWAYS_OPEN,
        )
        return int(opened.handoff.id)


def test_the_handoff_page_shows_the_customers_business_card(desk: Any, database: Database) -> None:
    handoff_id = open_for(database, "wx-o7Xh2-vip")
    page = logged_in(desk, "li").get(f"/console/handoffs/{handoff_id}").text
    assert 'id="business-card"' in page
    assert "李店长的数码小店（李店长）" in page
    assert '<span class="tag" id="card-segment">高价值</span>' in page
    assert "近60天到访9天，加购2次未下单" in page
    assert "美妆个护、数码电子、家用电器" in page
    assert "¥3465.00" in page


def test_each_segment_reads_differently(desk: Any, database: Database) -> None:
    li = logged_in(desk, "li")
    expected = {
        "wx-o7Xh2-churn": ("流失风险", "60天未互动"),
        "web-price-001": ("价格敏感", "比价3次只下单1次"),
        "web-new-001": ("新客", "今天首次到访"),
    }
    pages = {}
    for sender, (segment, words) in expected.items():
        pages[sender] = li.get(f"/console/handoffs/{open_for(database, sender)}").text
        assert f'id="card-segment">{segment}<' in pages[sender], sender
        assert words in pages[sender], sender
    assert "<th>退订</th><td>sms</td>" in pages["wx-o7Xh2-churn"]
    assert "<th>退订</th><td>无</td>" in pages["web-new-001"]


def test_an_unknown_customer_has_no_card(desk: Any) -> None:
    page = logged_in(desk, "li").get("/console/handoffs/1").text
    assert 'id="business-card"' not in page and "顾客与上下文" in page
