"""Order status and order changes: only ever the customer's own orders."""

from __future__ import annotations

import json

import pytest

from actions.orders import ActionModifyOrder, ActionOrderStatus
from tests.actions.live_mall import LiveMall
from tests.actions.trackers import (
    entity,
    make_tracker,
    run_action,
    slots_of,
    texts,
)


def test_status_of_a_named_shipped_order(mall: LiveMall) -> None:
    mall.add_order("cust-1", "O100", "shipped")
    tracker = make_tracker(intent="ask_order_status", entities=[entity("order_id", "O100")])
    messages, events = run_action(ActionOrderStatus(mall), tracker)
    text = texts(messages)
    assert text.startswith("订单O100：已发货")
    assert "声悦Pro降噪蓝牙耳机（白色）×1，合计¥299" in text
    assert "顺丰速运，运单号SF1234567890" in text
    # The newest event, in China time (02:05 UTC -> 10:05).
    assert "最新物流：1月2日 10:05 【深圳】快件已到达深圳转运中心" in text
    assert slots_of(events) == {"order_id": "O100"}


def test_another_customers_order_is_not_shown(mall: LiveMall) -> None:
    mall.add_order("someone-else", "O200", "shipped")
    tracker = make_tracker(intent="ask_order_status", entities=[entity("order_id", "O200")])
    messages, events = run_action(ActionOrderStatus(mall), tracker)
    text = texts(messages)
    assert "没有找到订单号O200" in text and "核对" in text
    assert "SF1234567890" not in text
    assert events == []


def test_no_orders(mall: LiveMall) -> None:
    messages, events = run_action(ActionOrderStatus(mall), make_tracker(intent="ask_order_status"))
    assert "还没有订单" in texts(messages)
    assert events == []


def test_the_only_open_order_is_used(mall: LiveMall) -> None:
    mall.add_order("cust-1", "O1", "paid")
    mall.add_order("cust-1", "O0", "completed")
    messages, events = run_action(ActionOrderStatus(mall), make_tracker(intent="ask_order_status"))
    assert texts(messages).startswith("订单O1：待发货")
    assert slots_of(events) == {"order_id": "O1"}


def test_several_open_orders_are_listed_as_buttons(mall: LiveMall) -> None:
    for i in range(5):
        mall.add_order("cust-1", f"O{i}", "shipped")
    messages, events = run_action(ActionOrderStatus(mall), make_tracker(intent="ask_order_status"))
    assert "5笔订单" in texts(messages)
    buttons = messages[0]["buttons"]
    assert len(buttons) == 3
    intent, _, body = buttons[0]["payload"].partition("{")
    assert intent == "/ask_order_status"
    assert json.loads("{" + body) == {"order_id": "O0"}
    assert events == []


def test_order_id_from_an_earlier_turn(mall: LiveMall) -> None:
    mall.add_order("cust-1", "O1", "pending_payment")
    mall.add_order("cust-1", "O2", "paid")
    tracker = make_tracker(intent="ask_order_status", slots={"order_id": "O2"})
    messages, events = run_action(ActionOrderStatus(mall), tracker)
    assert texts(messages).startswith("订单O2：")
    assert events == []  # unchanged slot is not set again


def test_order_status_when_the_mall_is_down(mall: LiveMall) -> None:
    mall.unavailable = True
    messages, events = run_action(ActionOrderStatus(mall), make_tracker(intent="ask_order_status"))
    assert [m["response"] for m in messages] == ["utter_service_unavailable"]
    assert events == []


@pytest.mark.parametrize(
    ("status", "expected", "absent"),
    [
        ("pending_payment", ["还没付款", "取消订单", "修改地址"], ["全额退款"]),
        ("paid", ["还没发货", "修改地址", "修改规格", "取消订单", "全额退款"], []),
        # The mall lets a shipped order be refused at the door; a return comes after delivery.
        ("shipped", ["已经发货，没法再修改", "拒收"], ["点「修改地址」", "申请退货"]),
        ("delivered", ["已经签收", "退货", "换货"], ["取消订单"]),
        ("cancelled", ["已经取消了"], ["取消订单", "修改地址", "订单页面"]),
    ],
)
def test_modify_order_explains_what_the_status_allows(
    mall: LiveMall, status: str, expected: list[str], absent: list[str]
) -> None:
    mall.add_order("cust-1", "O9", status)
    tracker = make_tracker(intent="modify_order", entities=[entity("order_id", "O9")])
    messages, _ = run_action(ActionModifyOrder(mall), tracker)
    text = texts(messages)
    for phrase in expected:
        assert phrase in text
    for phrase in absent:
        assert phrase not in text


def test_modify_order_never_cancels_from_chat(mall: LiveMall) -> None:
    mall.add_order("cust-1", "O9", "paid")
    run_action(ActionModifyOrder(mall), make_tracker(intent="modify_order", text="取消订单"))
    assert set(mall.calls) == {"GET /customers/cust-1/orders"}
    assert mall.get_order("cust-1", "O9")["status"] == "paid"


def test_modify_order_lists_buttons_for_modify(mall: LiveMall) -> None:
    mall.add_order("cust-1", "O1", "paid")
    mall.add_order("cust-1", "O2", "pending_payment")
    messages, _ = run_action(ActionModifyOrder(mall), make_tracker(intent="modify_order"))
    assert messages[0]["buttons"][1]["payload"] == '/modify_order{"order_id": "O2"}'
