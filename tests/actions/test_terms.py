"""Shipping, returns and payment answers."""

from __future__ import annotations

from actions.terms import ActionPaymentMethods, ActionReturnRefund, ActionShippingTerms
from tests.actions.live_mall import LiveMall
from tests.actions.trackers import (
    entity,
    make_tracker,
    run_action,
    slots_of,
    texts,
)


def test_shipping_terms_in_full(mall: LiveMall) -> None:
    messages, events = run_action(
        ActionShippingTerms(mall), make_tracker(intent="ask_shipping", text="包邮吗")
    )
    text = texts(messages)
    assert "满¥99包邮，不满收运费¥8" in text
    assert "48小时内发货" in text
    assert "2-4天送达" in text
    assert "顺丰速运、中通快递" in text
    assert "新疆、西藏" in text
    assert events == []


def test_shipping_says_the_product_ships_free(mall: LiveMall) -> None:
    messages, events = run_action(
        ActionShippingTerms(mall),
        make_tracker(intent="ask_shipping", entities=[entity("product", "耳机")]),
    )
    assert "声悦Pro降噪蓝牙耳机（¥299）买一件就包邮" in texts(messages)
    assert slots_of(events)["product_id"] == "P1001"


def test_shipping_says_how_much_is_missing(mall: LiveMall) -> None:
    messages, _ = run_action(
        ActionShippingTerms(mall),
        make_tracker(intent="ask_shipping", slots={"product_id": "P7004"}),
    )
    assert "婴儿有机米粉¥68，再凑¥31就能包邮" in texts(messages)


def test_shipping_when_the_mall_is_down(mall: LiveMall) -> None:
    mall.unavailable = True
    messages, events = run_action(ActionShippingTerms(mall), make_tracker(intent="ask_shipping"))
    assert [m["response"] for m in messages] == ["utter_service_unavailable"]
    assert events == []


def test_returns_terms_steps(mall: LiveMall) -> None:
    messages, _ = run_action(ActionReturnRefund(mall), make_tracker(intent="return_refund"))
    text = texts(messages)
    assert "7天内支持无理由退货" in text
    assert "质量问题15天内" in text
    assert "买家承担寄回运费" in text
    assert "1-3个工作日内原路退回" in text
    assert "1. 在「我的订单」里找到这笔订单" in text
    assert "4. 商家签收检查后1-3个工作日内原路退款" in text
    assert "退款进度" not in text


def test_returns_shows_refund_progress(mall: LiveMall) -> None:
    mall.add_order("cust-1", "O1", "refunding", total=59.0)
    mall.add_order("cust-1", "O2", "completed")
    mall.add_order("cust-1", "O3", "refunded")
    messages, _ = run_action(ActionReturnRefund(mall), make_tracker(intent="return_refund"))
    text = texts(messages)
    assert "订单O1（声悦Pro降噪蓝牙耳机，¥59）：退款中" in text
    assert "订单O3" in text and "已退款" in text
    assert "订单O2" not in text


def test_returns_terms_survives_orders_being_unavailable(mall: LiveMall) -> None:
    mall.failing = {"/orders"}
    messages, _ = run_action(ActionReturnRefund(mall), make_tracker(intent="return_refund"))
    assert "7天内支持无理由退货" in texts(messages)


def test_payment_methods(mall: LiveMall) -> None:
    messages, _ = run_action(ActionPaymentMethods(mall), make_tracker(intent="ask_payment"))
    text = texts(messages)
    assert "支付方式：微信支付、支付宝、银联云闪付、信用卡" in text
    assert "花呗或信用卡分3/6/12期" in text
    assert "电子普通发票" in text
