"""Retrieval answers: the topic the NLU chose decides the answer, filled with live mall data."""

from __future__ import annotations

from actions.answers import answer_topic
from actions.catalogue import ActionProductInfo
from actions.complaints import ActionComplaint
from actions.sales import ActionOfferCoupon
from actions.terms import ActionPaymentMethods, ActionReturnRefund
from tests.actions.live_mall import LiveMall
from tests.actions.trackers import (
    buttons,
    entity,
    make_tracker,
    run_action,
    slots_of,
    texts,
)

# ---------------------------------------------------------------- choosing the topic


def test_topic_of_the_classified_intent_only() -> None:
    tracker = make_tracker(intent="return_refund", topic="progress")
    assert answer_topic(tracker, "return_refund") == "progress"
    # The selector's topic belongs to return_refund: a complaint does not borrow it.
    assert answer_topic(tracker, "complaint") is None


def test_a_button_names_its_topic() -> None:
    tracker = make_tracker(intent="return_refund", entities=[entity("topic", "shipping")])
    assert answer_topic(tracker, "return_refund") == "shipping"


def test_no_selector_no_topic() -> None:
    assert answer_topic(make_tracker(intent="ask_payment"), "ask_payment") is None


# ---------------------------------------------------------------- product questions


def test_troubleshooting_on_a_product_page_adds_its_own_guidance(mall: LiveMall) -> None:
    messages, events = run_action(
        ActionProductInfo(mall),
        make_tracker(
            intent="ask_product_info",
            topic="troubleshooting",
            text="连不上手机怎么办",
            metadata={"product_id": "P1001"},
        ),
    )
    text = texts(messages)
    assert text.startswith("别着急，声悦Pro降噪蓝牙耳机出现这种情况")
    assert (
        "长按仓上按键10秒，指示灯白灯闪三下即恢复出厂，再重新配对" in text
    )  # the mall's guide for this product
    assert {b["payload"] for b in buttons(messages)} == {"/return_refund", "/request_human"}
    assert slots_of(events)["product_id"] == "P1001"


def test_troubleshooting_without_a_product_answers_then_asks_which(mall: LiveMall) -> None:
    messages, events = run_action(
        ActionProductInfo(mall),
        make_tracker(intent="ask_product_info", topic="troubleshooting", text="一直闪红灯怎么回事"),
    )
    text = texts(messages)
    assert "您的商品出现这种情况" in text and "您说的是哪款商品呢" in text
    assert slots_of(events) == {"pending_question": "info", "answer_topic": "troubleshooting"}


def test_naming_the_product_afterwards_keeps_the_question(mall: LiveMall) -> None:
    messages, events = run_action(
        ActionProductInfo(mall),
        make_tracker(
            intent="ask_product_info",
            topic="specs",  # a bare product name reads as a spec question
            entities=[entity("product", "耳机")],
            text="耳机",
            slots={"pending_question": "info", "answer_topic": "troubleshooting"},
        ),
    )
    assert "长按仓上按键10秒，指示灯白灯闪三下即恢复出厂，再重新配对" in texts(messages)
    assert slots_of(events)["pending_question"] is None
    assert slots_of(events)["answer_topic"] is None


def test_compatibility_leads_into_the_specs(mall: LiveMall) -> None:
    messages, _ = run_action(
        ActionProductInfo(mall),
        make_tracker(
            intent="ask_product_info",
            topic="compatibility",
            entities=[entity("product", "充电器")],
            text="充电器能给笔记本充吗",
        ),
    )
    text = texts(messages)
    assert text.startswith("快充65W氮化镓充电器的适配情况")
    assert "【参数】" in text or "的" in text.splitlines()[1]


# ---------------------------------------------------------------- returns, payment, discounts


def test_refund_progress_lists_refunds_under_way(mall: LiveMall) -> None:
    mall.add_order("cust-1", "O1", "refunding", total=59.0)
    messages, _ = run_action(
        ActionReturnRefund(mall), make_tracker(intent="return_refund", topic="progress")
    )
    text = texts(messages)
    assert "1-3个工作日内原路退回" in text
    assert "订单O1" in text and "¥59" in text
    assert "申请售后的步骤" not in text  # only the topic asked about


def test_refund_progress_without_refunds_says_so(mall: LiveMall) -> None:
    messages, _ = run_action(
        ActionReturnRefund(mall), make_tracker(intent="return_refund", topic="progress")
    )
    assert "暂时没有查到您正在处理中的退款" in texts(messages)


def test_two_topics_of_returns_are_both_answered(mall: LiveMall) -> None:
    second = {"intent": "return_refund", "topic": "shipping", "confidence": 0.7, "text": "运费谁出"}
    messages, _ = run_action(
        ActionReturnRefund(mall),
        make_tracker(intent="return_refund", topic="how_to", second_request=second),
    )
    text = texts(messages)
    assert "申请售后的步骤" in text and "退货运费：七天无理由退货由买家承担寄回运费" in text
    assert "您还问到了" not in text  # answered, not offered


def test_a_second_request_of_another_intent_is_offered(mall: LiveMall) -> None:
    second = {"intent": "ask_shipping", "topic": None, "confidence": 0.8, "text": "运费多少"}
    messages, _ = run_action(
        ActionReturnRefund(mall),
        make_tracker(intent="return_refund", topic="exchange", second_request=second),
    )
    text = texts(messages)
    assert "换货可以的" in text
    assert text.endswith("您还问到了「运费和配送时效」，需要我也帮您看看吗？")
    offer = messages[-1]
    assert offer["payload"] == "/ask_shipping"
    assert buttons(messages)[-1]["payload"] == "/ask_shipping"  # as Rasa's NLG fills it in


def test_a_second_request_names_its_topic_in_the_button(mall: LiveMall) -> None:
    second = {"intent": "ask_payment", "topic": "invoice", "confidence": 0.8, "text": "发票呢"}
    messages, _ = run_action(
        ActionReturnRefund(mall),
        make_tracker(intent="return_refund", topic="how_to", second_request=second),
    )
    assert messages[-1]["payload"] == '/ask_payment{"topic": "invoice"}'
    assert "「发票」" in texts(messages)


def test_invoice_question_gets_the_invoice_answer_only(mall: LiveMall) -> None:
    messages, _ = run_action(
        ActionPaymentMethods(mall), make_tracker(intent="ask_payment", topic="invoice")
    )
    text = texts(messages)
    assert text.startswith("发票：支持电子普通发票")
    assert "支付方式" not in text and "分期" not in text


def test_payment_without_topic_gives_the_overview(mall: LiveMall) -> None:
    messages, _ = run_action(ActionPaymentMethods(mall), make_tracker(intent="ask_payment"))
    text = texts(messages)
    assert (
        "支付方式：微信支付、支付宝、银联云闪付、信用卡。" in text
        and "分期：" in text
        and "发票：" in text
    )


def test_price_protection_is_answered_not_a_coupon_offer(mall: LiveMall) -> None:
    messages, events = run_action(
        ActionOfferCoupon(mall),
        make_tracker(intent="ask_discount", topic="price_protection", text="降价了能退差价吗"),
    )
    text = texts(messages)
    assert "下单后7天内同一商品降价，可以申请退差价" in text
    assert "领取" not in text
    assert not any(call.endswith(("/coupons/best", "/offer")) for call in mall.calls)
    assert slots_of(events).get("sales_stage") is None


def test_promotions_come_from_the_mall(mall: LiveMall) -> None:
    messages, _ = run_action(
        ActionOfferCoupon(mall), make_tracker(intent="ask_discount", topic="promotion")
    )
    assert "全场实付满199减20元、满399减50元，可与店铺优惠券叠加；新客首单立减10元" in texts(
        messages
    )


# ---------------------------------------------------------------- complaints


def test_defect_complaint_apologises_and_offers_the_after_sales_path(
    mall: LiveMall,
) -> None:
    messages, events = run_action(
        ActionComplaint(mall),
        make_tracker(
            intent="complaint",
            topic="defect",
            entities=[entity("product", "耳机")],
            text="耳机用了两天就没声音了",
        ),
    )
    text = texts(messages)
    assert text.startswith("非常抱歉，声悦Pro降噪蓝牙耳机出现故障")
    assert "签收后15天内可以直接退货或换新" in text
    assert {b["payload"] for b in buttons(messages)} == {"/return_refund", "/request_human"}
    assert slots_of(events)["product_id"] == "P1001"


def test_wrong_item_gets_its_own_apology(mall: LiveMall) -> None:
    messages, _ = run_action(
        ActionComplaint(mall), make_tracker(intent="complaint", topic="wrong_item")
    )
    assert texts(messages).startswith("非常抱歉给您发错了")


def test_a_threat_goes_to_a_person(mall: LiveMall) -> None:
    messages, events = run_action(
        ActionComplaint(mall), make_tracker(intent="complaint", topic="threat")
    )
    assert "我马上请人工客服专门跟进" in texts(messages)
    assert [e["name"] for e in events if e["event"] == "followup"] == ["action_handoff"]
    assert slots_of(events)["handoff_reason"] == "angry_complaint"
