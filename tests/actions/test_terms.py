"""Shipping, returns and payment answers."""

from __future__ import annotations

from actions.terms import ActionPaymentMethods, ActionReturnRefund, ActionShippingTerms
from tests.actions.fakes import (
    FakeMallClient,
    entity,
    make_order,
    make_tracker,
    run_action,
    slots_of,
    texts,
)


def test_shipping_terms_in_full(mall: FakeMallClient) -> None:
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


def test_shipping_says_the_product_ships_free(mall: FakeMallClient) -> None:
    messages, events = run_action(
        ActionShippingTerms(mall),
        make_tracker(intent="ask_shipping", entities=[entity("product", "耳机")]),
    )
    assert "声悦Pro降噪蓝牙耳机（¥299）买一件就包邮" in texts(messages)
    assert slots_of(events)["product_id"] == "P1001"


def test_shipping_says_how_much_is_missing(mall: FakeMallClient) -> None:
    messages, _ = run_action(
        ActionShippingTerms(mall),
        make_tracker(intent="ask_shipping", slots={"product_id": "P7004"}),
    )
    assert "婴儿有机米粉¥68，再凑¥31就能包邮" in texts(messages)


def test_shipping_when_the_mall_is_down(mall: FakeMallClient) -> None:
    mall.unavailable = True
    messages, events = run_action(ActionShippingTerms(mall), make_tracker(intent="ask_shipping"))
    assert [m["response"] for m in messages] == ["utter_service_unavailable"]
    assert events == []


def test_returns_terms_steps(mall: FakeMallClient) -> None:
    messages, _ = run_action(ActionReturnRefund(mall), make_tracker(intent="return_refund"))
    text = texts(messages)
    assert "7天内支持无理由退货" in text
    assert "质量问题15天内" in text
    assert "买家承担运费" in text
    assert "1-3个工作日内原路退回" in text
    assert "1. 打开「我的订单」" in text and "3. 填写原因并寄回商品" in text
    assert "退款进度" not in text


def test_returns_shows_refund_progress(mall: FakeMallClient) -> None:
    mall.orders["cust-1"] = [
        make_order("O1", "refunding", total=59.0),
        make_order("O2", "completed"),
        make_order("O3", "refunded"),
    ]
    messages, _ = run_action(ActionReturnRefund(mall), make_tracker(intent="return_refund"))
    text = texts(messages)
    assert "订单O1（声悦Pro降噪蓝牙耳机，¥59）：退款中" in text
    assert "订单O3" in text and "已退款" in text
    assert "订单O2" not in text


def test_returns_terms_survives_orders_being_unavailable(mall: FakeMallClient) -> None:
    mall.failing = {"list_orders"}
    messages, _ = run_action(ActionReturnRefund(mall), make_tracker(intent="return_refund"))
    assert "7天内支持无理由退货" in texts(messages)


def test_payment_methods(mall: FakeMallClient) -> None:
    messages, _ = run_action(ActionPaymentMethods(mall), make_tracker(intent="ask_payment"))
    text = texts(messages)
    assert "支付方式：微信支付、支付宝、银行卡" in text
    assert "花呗分期" in text
    assert "电子普通发票" in text
