"""The sales flow: welcome, price, coupon offer, coupon issue, decline."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from actions.clients.errors import NotFound
from actions.sales import (
    ActionDeclineOffer,
    ActionIssueCoupon,
    ActionOfferCoupon,
    ActionQuotePrice,
    ActionWelcome,
    coupon_idempotency_key,
)
from tests.actions.live_mall import LiveMall
from tests.actions.trackers import (
    buttons,
    entity,
    make_tracker,
    run_action,
    slots_of,
    texts,
)


def no_route(route: str) -> Callable[..., None]:
    """A client method of a mall without `route`: it answers 404."""

    def answer(*_args: object, **_kwargs: object) -> None:
        raise NotFound(f"{route} -> 404 not_found", code="not_found")

    return answer


# ---------------------------------------------------------------- welcome


def test_welcome_without_profile_is_plain(mall: LiveMall) -> None:
    messages, events = run_action(ActionWelcome(mall), make_tracker(intent="greet", text="你好"))
    assert "欢迎光临" in texts(messages)
    assert events == []


@pytest.mark.parametrize(
    ("segment", "expected"),
    [
        ("churn_risk", "好久不见"),
        ("high_value", "VIP"),
        ("new", "欢迎第一次来李姐的数码小铺"),
        ("price_sensitive", "优惠"),
    ],
)
def test_welcome_speaks_to_the_segment(mall: LiveMall, segment: str, expected: str) -> None:
    mall.add_profile(segment=segment)
    messages, _ = run_action(ActionWelcome(mall), make_tracker(intent="greet", text="在吗"))
    text = texts(messages)
    assert text.startswith("小王")
    assert expected in text
    assert "蓝牙耳机" in text  # first interest


def test_welcome_mentions_the_distributor_card(mall: LiveMall) -> None:
    mall.add_profile(segment="regular")
    messages, _ = run_action(ActionWelcome(mall), make_tracker(intent="greet"))
    assert "这里是李姐的数码小铺，店主李姐" in texts(messages)


def test_welcome_offers_the_price_of_the_page_product(mall: LiveMall) -> None:
    tracker = make_tracker(intent="greet", metadata={"product_id": "P1003"})
    messages, events = run_action(ActionWelcome(mall), tracker)
    assert "极光20000毫安充电宝" in texts(messages)
    button = buttons(messages)[0]
    assert button["payload"] == '/ask_price{"product": "极光20000毫安充电宝"}'
    assert slots_of(events) == {"product_id": "P1003", "product": "极光20000毫安充电宝"}


def test_welcome_still_greets_when_the_mall_is_down(mall: LiveMall) -> None:
    mall.unavailable = True
    tracker = make_tracker(intent="greet", metadata={"product_id": "P1003"})
    messages, events = run_action(ActionWelcome(mall), tracker)
    assert "欢迎光临" in texts(messages)
    assert events == []


def test_welcome_is_one_mall_call(mall: LiveMall) -> None:
    mall.add_profile(segment="churn_risk")
    mall.calls.clear()
    messages, _ = run_action(ActionWelcome(mall), make_tracker(intent="greet", text="在吗"))
    assert mall.calls == ["GET /customers/cust-1/welcome"]
    assert texts(messages).startswith("小王") and "好久不见" in texts(messages)


@pytest.mark.parametrize("metadata", [{}, {"product_id": "P1003"}], ids=["no-page", "page"])
def test_welcome_from_the_separate_routes_when_the_mall_has_no_welcome_route(
    mall: LiveMall, monkeypatch: pytest.MonkeyPatch, metadata: dict[str, str]
) -> None:
    mall.add_profile(segment="price_sensitive")
    tracker = make_tracker(intent="greet", text="你好", metadata=metadata)
    in_one, in_one_events = run_action(ActionWelcome(mall), tracker)
    monkeypatch.setattr(mall, "welcome", no_route("GET /customers/cust-1/welcome"))
    mall.calls.clear()
    separate, separate_events = run_action(ActionWelcome(mall), tracker)
    assert "GET /customers/cust-1/profile" in mall.calls
    assert separate == in_one and separate_events == in_one_events


# ---------------------------------------------------------------- quote price


def test_quote_price_for_a_named_product(mall: LiveMall) -> None:
    tracker = make_tracker(entities=[entity("product", "耳机")], text="耳机多少钱")
    messages, events = run_action(ActionQuotePrice(mall), tracker)
    # The product as a card first (widget card, WeChat mini-program card), then what others
    # who viewed it liked (the mall's recommendations), then the question.
    card, *_suggested, quote = messages
    assert card["custom"] == {
        "type": "product_card",
        "product_id": "P1001",
        "title": "声悦Pro降噪蓝牙耳机",
        "price": "299",
        "list_price": "399",
        "image": None,
    }
    text = texts([quote])
    assert "声悦Pro降噪蓝牙耳机现在到手价¥299" in text
    assert "原价¥399，立省¥100" in text
    assert text.splitlines()[-1].endswith("是否需要优惠?")
    assert buttons([quote]) == [
        {"title": "要优惠", "payload": "/affirm"},
        {"title": "不用了", "payload": "/deny"},
    ]
    assert slots_of(events) == {
        "product_id": "P1001",
        "product": "声悦Pro降噪蓝牙耳机",
        "sales_stage": "price_quoted",
    }
    assert mall.events_of("cust-1") == [("cust-1", "consult", "P1001")]


def test_quote_price_without_discount_has_no_saving(mall: LiveMall) -> None:
    tracker = make_tracker(entities=[entity("product", "运动耳机")])
    messages, _ = run_action(ActionQuotePrice(mall), tracker)
    assert "声悦Air开放式运动耳机现在到手价¥259" in texts(messages)
    assert "原价" not in texts(messages)


def test_quote_price_shows_fen_when_the_price_has_them(mall: LiveMall) -> None:
    tracker = make_tracker(entities=[entity("product", "褚橙")])
    messages, _ = run_action(ActionQuotePrice(mall), tracker)
    assert "到手价¥69.90，原价¥89，立省¥19.10" in texts(messages)


def test_quote_price_clears_a_pending_question(mall: LiveMall) -> None:
    tracker = make_tracker(
        intent="ask_product_info",
        entities=[entity("product", "充电宝")],
        slots={"pending_question": "price"},
    )
    _, events = run_action(ActionQuotePrice(mall), tracker)
    assert slots_of(events)["pending_question"] is None


def test_quote_price_does_not_repeat_unchanged_slots(mall: LiveMall) -> None:
    tracker = make_tracker(
        entities=[entity("product", "充电宝")], slots={"sales_stage": "price_quoted"}
    )
    _, events = run_action(ActionQuotePrice(mall), tracker)
    assert set(slots_of(events)) == {"product_id", "product"}


def test_quote_price_asks_which_product(mall: LiveMall) -> None:
    tracker = make_tracker(text="多少钱", slots={"sales_stage": "price_quoted"})
    messages, events = run_action(ActionQuotePrice(mall), tracker)
    assert texts(messages) == "您想了解哪款商品的价格呢？"
    assert slots_of(events) == {"pending_question": "price", "sales_stage": None}
    assert mall.events_of("cust-1") == []


def test_quote_price_unknown_product_suggests_near_matches(mall: LiveMall) -> None:
    tracker = make_tracker(entities=[entity("product", "降噪耳塞")], text="降噪耳塞多少钱")
    messages, events = run_action(ActionQuotePrice(mall), tracker)
    assert messages[0]["text"].startswith("抱歉，没有找到“降噪耳塞”")
    buttons = messages[0]["buttons"]
    assert 1 <= len(buttons) <= 3
    assert buttons[0]["title"] == "声悦Pro降噪蓝牙耳机"
    for button in buttons:
        intent, _, body = button["payload"].partition("{")
        assert intent == "/ask_price"
        assert json.loads("{" + body) == {"product": button["title"]}
    assert slots_of(events) == {"pending_question": "price"}


def test_quote_price_unknown_product_without_suggestions(mall: LiveMall) -> None:
    tracker = make_tracker(entities=[entity("product", "火箭")])
    messages, _ = run_action(ActionQuotePrice(mall), tracker)
    assert messages[0]["buttons"] == []
    assert "换个说法" in messages[0]["text"]


def test_quote_price_uses_the_page_product(mall: LiveMall) -> None:
    tracker = make_tracker(text="这个多少钱", metadata={"product_id": "P6001"})
    messages, events = run_action(ActionQuotePrice(mall), tracker)
    assert "美居空气炸锅5L现在到手价¥299" in texts(messages)
    assert slots_of(events)["product_id"] == "P6001"


def test_quote_price_finds_a_product_the_nlu_missed(mall: LiveMall) -> None:
    tracker = make_tracker(text="你们那个氮化镓充电器啥价")
    messages, _ = run_action(ActionQuotePrice(mall), tracker)
    assert "快充65W氮化镓充电器现在到手价¥99" in texts(messages)


def test_quote_price_remembers_the_product_from_earlier_turns(mall: LiveMall) -> None:
    tracker = make_tracker(text="多少钱", slots={"product_id": "P2001", "product": "T恤"})
    messages, events = run_action(ActionQuotePrice(mall), tracker)
    assert "织锦纯棉圆领T恤现在到手价¥59" in texts(messages)
    assert slots_of(events)["product"] == "织锦纯棉圆领T恤"


def test_quote_price_entity_beats_page_and_earlier_product(mall: LiveMall) -> None:
    tracker = make_tracker(
        entities=[entity("product", "口红")],
        text="口红多少钱",
        metadata={"product_id": "P1001"},
        slots={"product_id": "P2001"},
    )
    messages, _ = run_action(ActionQuotePrice(mall), tracker)
    assert "丝绒哑光口红" in texts(messages)


def test_quote_price_page_product_beats_an_earlier_one(mall: LiveMall) -> None:
    tracker = make_tracker(
        text="多少钱", metadata={"product_id": "P1005"}, slots={"product_id": "P2001"}
    )
    messages, events = run_action(ActionQuotePrice(mall), tracker)
    assert "快充65W氮化镓充电器" in texts(messages)
    assert slots_of(events)["product_id"] == "P1005"


def test_quote_price_ignores_a_page_product_no_longer_sold(mall: LiveMall) -> None:
    tracker = make_tracker(
        text="多少钱", metadata={"product_id": "P404"}, slots={"product_id": "P2001"}
    )
    messages, _ = run_action(ActionQuotePrice(mall), tracker)
    assert "织锦纯棉圆领T恤现在到手价¥59" in texts(messages)


def test_offer_coupon_for_an_unknown_product_suggests(mall: LiveMall) -> None:
    tracker = make_tracker(intent="ask_discount", entities=[entity("product", "降噪耳塞")])
    messages, events = run_action(ActionOfferCoupon(mall), tracker)
    assert messages[0]["text"].startswith("抱歉，没有找到“降噪耳塞”")
    assert messages[0]["buttons"][0]["payload"].startswith('/ask_discount{"product": ')
    assert "offered_coupon" not in slots_of(events)


def test_quote_price_when_the_mall_is_down(mall: LiveMall) -> None:
    mall.unavailable = True
    tracker = make_tracker(entities=[entity("product", "耳机")])
    messages, events = run_action(ActionQuotePrice(mall), tracker)
    assert messages == [
        {
            "text": None,
            "buttons": [],
            "elements": [],
            "custom": {},
            "template": "utter_service_unavailable",
            "response": "utter_service_unavailable",
            "image": None,
            "attachment": None,
        }
    ]
    assert events == []


def test_quote_price_survives_a_failed_consult_record(mall: LiveMall) -> None:
    mall.failing = {"/events"}
    tracker = make_tracker(entities=[entity("product", "耳机")])
    messages, events = run_action(ActionQuotePrice(mall), tracker)
    assert "到手价¥299" in texts(messages)
    assert slots_of(events)["sales_stage"] == "price_quoted"


def test_quote_price_survives_a_missing_profile_service(mall: LiveMall) -> None:
    mall.failing = {"/profile"}
    tracker = make_tracker(entities=[entity("product", "耳机")])
    messages, _ = run_action(ActionQuotePrice(mall), tracker)
    assert "到手价¥299" in texts(messages)


@pytest.mark.parametrize(
    ("segment", "expected"),
    [("price_sensitive", "省"), ("high_value", "VIP"), ("churn_risk", "好久不见")],
)
def test_quote_price_question_fits_the_segment(mall: LiveMall, segment: str, expected: str) -> None:
    mall.add_profile(segment=segment)
    messages, _ = run_action(
        ActionQuotePrice(mall), make_tracker(entities=[entity("product", "耳机")])
    )
    question = messages[-1]["text"].splitlines()[-1]
    assert "优惠" in question and expected in question


@pytest.mark.parametrize("typed", ["{{ 7*7 }}", "{{ ''.__class__ }}", "{% raw %}x"])
def test_customer_text_comes_back_verbatim(mall: LiveMall, typed: str) -> None:
    tracker = make_tracker(entities=[entity("product", typed)], text=typed)
    messages, _ = run_action(ActionQuotePrice(mall), tracker)
    assert messages[0]["text"].startswith(f"抱歉，没有找到“{typed}”")
    assert "49" not in messages[0]["text"]


def test_template_syntax_in_a_display_name_is_not_evaluated(mall: LiveMall) -> None:
    mall.add_profile(display_name="{{ 7*7 }}", segment="high_value")
    messages, _ = run_action(
        ActionQuotePrice(mall), make_tracker(entities=[entity("product", "耳机")])
    )
    assert "{{ 7*7 }}，VIP会员" in messages[-1]["text"]


# ---------------------------------------------------------------- offer coupon


def test_offer_coupon_for_the_quoted_product(mall: LiveMall) -> None:
    mall.withdraw_seeded_coupons()
    mall.add_template()
    tracker = make_tracker(
        intent="affirm",
        text="要",
        slots={
            "product_id": "P1001",
            "product": "声悦Pro降噪蓝牙耳机",
            "sales_stage": "price_quoted",
        },
    )
    messages, events = run_action(ActionOfferCoupon(mall), tracker)
    text = texts(messages)
    assert "「耳机满减券」，满199减30元，有效期至2031年1月31日" in text
    assert "用券后声悦Pro降噪蓝牙耳机到手价¥269" in text
    assert text.endswith("需要帮您领取吗？")
    assert [b["payload"] for b in buttons(messages)] == ["/affirm", "/deny"]
    assert slots_of(events) == {
        "product_id": "P1001",
        "product": "声悦Pro降噪蓝牙耳机",
        "sales_stage": "coupon_offered",
        "offered_coupon": "T-AUDIO-30",
    }


def test_offer_coupon_store_wide_without_a_product(mall: LiveMall) -> None:
    mall.withdraw_seeded_coupons()
    mall.add_template()
    mall.add_template(
        template_id="T-ALL-10",
        name="全场立减券",
        kind="instant",
        amount=10.0,
        threshold=None,
        product_ids=[],
        valid_until=None,
        valid_days=7,
    )
    messages, events = run_action(
        ActionOfferCoupon(mall), make_tracker(intent="ask_discount", text="有优惠券吗")
    )
    text = texts(messages)
    assert "「全场立减券」，立减10元，领取后7天内有效" in text
    assert "到手价" not in text
    assert slots_of(events)["offered_coupon"] == "T-ALL-10"


def test_offer_coupon_honest_when_there_is_none(mall: LiveMall) -> None:
    mall.withdraw_seeded_coupons()
    tracker = make_tracker(
        intent="affirm",
        slots={"product_id": "P1001", "sales_stage": "price_quoted"},
    )
    messages, events = run_action(ActionOfferCoupon(mall), tracker)
    text = texts(messages)
    assert "目前没有可以领取的优惠券" in text
    assert "声悦Pro降噪蓝牙耳机现在到手价¥299" in text
    assert messages[0]["buttons"] == []
    assert slots_of(events)["sales_stage"] is None
    assert "offered_coupon" not in slots_of(events)


def test_offer_coupon_skips_a_threshold_the_product_cannot_reach(mall: LiveMall) -> None:
    mall.withdraw_seeded_coupons()
    mall.add_template(product_ids=["P1003"])  # 129 < 199
    tracker = make_tracker(intent="ask_discount", entities=[entity("product", "充电宝")])
    messages, _ = run_action(ActionOfferCoupon(mall), tracker)
    assert "目前没有可以领取的优惠券" in texts(messages)


def test_offer_coupon_when_the_mall_is_down(mall: LiveMall) -> None:
    mall.withdraw_seeded_coupons()
    mall.add_template()
    mall.failing = {"/offer", "/coupons/best"}
    tracker = make_tracker(intent="affirm", slots={"product_id": "P1001"})
    messages, events = run_action(ActionOfferCoupon(mall), tracker)
    assert [m["response"] for m in messages] == ["utter_service_unavailable"]
    assert events == []


# ---------------------------------------------------------------- issue coupon


def offered(message_id: str = "msg-7", **slots: str) -> object:
    """A tracker right after the customer said yes to the coupon offer."""
    values = {
        "offered_coupon": "T-AUDIO-30",
        "sales_stage": "coupon_offered",
        "product_id": "P1001",
    }
    values.update(slots)
    return make_tracker(intent="affirm", text="好的", slots=values, message_id=message_id)


def test_issue_coupon_confirms_code_amount_and_date(mall: LiveMall) -> None:
    mall.withdraw_seeded_coupons()
    mall.add_template()
    messages, events = run_action(ActionIssueCoupon(mall), offered())
    text = texts(messages)
    code = mall.coupons_of("cust-1")[0]["code"]
    assert f"券码：{code}" in text
    assert "满199减30元" in text
    assert "有效期至2031年1月31日" in text
    assert slots_of(events) == {"issued_coupon": code, "sales_stage": None, "offered_coupon": None}


def test_issue_coupon_is_one_mall_call_and_speaks_to_the_customer(mall: LiveMall) -> None:
    mall.withdraw_seeded_coupons()
    mall.add_template()
    mall.add_profile()
    mall.calls.clear()
    messages, _ = run_action(ActionIssueCoupon(mall), offered())
    assert mall.calls == ["POST /customers/cust-1/coupons"]
    assert "小王购物愉快" in texts(messages)


def test_issue_coupon_asks_for_the_profile_when_the_mall_does_not_send_it(
    mall: LiveMall, monkeypatch: pytest.MonkeyPatch
) -> None:
    mall.withdraw_seeded_coupons()
    mall.add_template()
    mall.add_profile()
    issue = mall.issue_coupon

    def without_profile(*args: Any, **kwargs: Any) -> Any:
        coupon = dict(issue(*args, **kwargs))
        coupon.pop("profile")
        return coupon

    monkeypatch.setattr(mall, "issue_coupon", without_profile)
    mall.calls.clear()
    messages, _ = run_action(ActionIssueCoupon(mall), offered())
    assert mall.calls == ["POST /customers/cust-1/coupons", "GET /customers/cust-1/profile"]
    assert "小王购物愉快" in texts(messages)


def test_issue_coupon_finds_the_best_when_nothing_was_offered(mall: LiveMall) -> None:
    mall.withdraw_seeded_coupons()
    mall.add_template()
    tracker = make_tracker(intent="affirm", slots={"product_id": "P1001"})
    messages, events = run_action(ActionIssueCoupon(mall), tracker)
    assert mall.coupons_of("cust-1")[0]["template_id"] == "T-AUDIO-30"
    assert slots_of(events)["issued_coupon"] == mall.coupons_of("cust-1")[0]["code"]


def test_issue_coupon_with_nothing_to_issue(mall: LiveMall) -> None:
    mall.withdraw_seeded_coupons()
    tracker = make_tracker(intent="affirm", slots={"product_id": "P1001"})
    messages, events = run_action(ActionIssueCoupon(mall), tracker)
    assert "没有可以领取的优惠券" in texts(messages)
    assert "issued_coupon" not in slots_of(events)


def test_issue_coupon_limit_reached_shows_the_existing_code(mall: LiveMall) -> None:
    mall.withdraw_seeded_coupons()
    mall.add_template()
    run_action(ActionIssueCoupon(mall), offered(message_id="msg-1"))
    first_code = mall.coupons_of("cust-1")[0]["code"]
    messages, events = run_action(ActionIssueCoupon(mall), offered(message_id="msg-2"))
    assert "已经领过这张券" in texts(messages)
    assert first_code in texts(messages)
    assert len(mall.coupons_of("cust-1")) == 1
    assert slots_of(events)["issued_coupon"] == first_code


def test_issue_coupon_out_of_stock_apologises(mall: LiveMall) -> None:
    mall.withdraw_seeded_coupons()
    mall.add_template(stock_left=0)
    messages, events = run_action(ActionIssueCoupon(mall), offered())
    assert "领完了" in texts(messages)
    assert "issued_coupon" not in slots_of(events)
    assert slots_of(events)["sales_stage"] is None


def test_issue_coupon_withdrawn_template_apologises(mall: LiveMall) -> None:
    messages, events = run_action(ActionIssueCoupon(mall), offered())
    assert "下架" in texts(messages)
    assert slots_of(events) == {"sales_stage": None, "offered_coupon": None}


def test_retried_turn_issues_only_once(mall: LiveMall) -> None:
    mall.withdraw_seeded_coupons()
    mall.add_template(per_user_limit=5)
    first, _ = run_action(ActionIssueCoupon(mall), offered(message_id="msg-9"))
    again, _ = run_action(ActionIssueCoupon(mall), offered(message_id="msg-9"))
    assert len(mall.coupons_of("cust-1")) == 1
    assert texts(first) == texts(again)
    run_action(ActionIssueCoupon(mall), offered(message_id="msg-10"))
    assert len(mall.coupons_of("cust-1")) == 2


def test_idempotency_key_is_stable_per_message() -> None:
    key = coupon_idempotency_key("cust-1", "T-AUDIO-30", "msg-1")
    assert key == coupon_idempotency_key("cust-1", "T-AUDIO-30", "msg-1")
    assert key != coupon_idempotency_key("cust-1", "T-AUDIO-30", "msg-2")
    assert key != coupon_idempotency_key("cust-2", "T-AUDIO-30", "msg-1")
    assert key != coupon_idempotency_key("cust-1", "T-OTHER", "msg-1")


def test_issue_coupon_when_the_mall_is_down(mall: LiveMall) -> None:
    mall.withdraw_seeded_coupons()
    mall.add_template()
    mall.unavailable = True
    messages, events = run_action(ActionIssueCoupon(mall), offered())
    assert [m["response"] for m in messages] == ["utter_service_unavailable"]
    assert events == []


# ---------------------------------------------------------------- decline


def test_decline_closes_politely(mall: LiveMall) -> None:
    tracker = make_tracker(
        intent="deny",
        slots={"sales_stage": "coupon_offered", "offered_coupon": "T-AUDIO-30", "product": "耳机X"},
    )
    messages, events = run_action(ActionDeclineOffer(mall), tracker)
    assert "没问题" in texts(messages) and "耳机X" in texts(messages)
    assert slots_of(events) == {"sales_stage": None, "offered_coupon": None}
    assert mall.calls == []


def test_quote_price_is_one_mall_call(mall: LiveMall) -> None:
    mall.add_profile(segment="price_sensitive")
    tracker = make_tracker(
        entities=[entity("product", "声悦Pro降噪蓝牙耳机")],
        text="声悦Pro降噪蓝牙耳机多少钱",
        metadata={"product_id": "P1003", "time_zone": "Asia/Shanghai"},
    )
    mall.calls.clear()
    messages, events = run_action(ActionQuotePrice(mall), tracker)
    assert mall.calls == ["POST /customers/cust-1/consults"]
    assert "声悦Pro降噪蓝牙耳机现在到手价¥299" in texts(messages)
    assert slots_of(events)["product_id"] == "P1001"
    assert mall.events_of("cust-1")[-1] == ("cust-1", "consult", "P1001")


def test_quote_price_from_the_separate_routes_when_the_mall_has_no_consult_route(
    mall: LiveMall, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracker = make_tracker(entities=[entity("product", "耳机")], text="耳机多少钱")
    consulted, consulted_events = run_action(ActionQuotePrice(mall), tracker)
    monkeypatch.setattr(mall, "consult", no_route("POST /customers/cust-1/consults"))
    mall.calls.clear()
    separate, separate_events = run_action(
        ActionQuotePrice(mall),
        make_tracker(sender_id="cust-2", entities=[entity("product", "耳机")], text="耳机多少钱"),
    )
    assert "GET /products/resolve" in mall.calls
    assert "POST /customers/cust-2/events" in mall.calls
    assert separate[0] == consulted[0] and separate[-1] == consulted[-1]
    assert slots_of(separate_events) == slots_of(consulted_events)
    assert mall.events_of("cust-2") == [("cust-2", "consult", "P1001")]


def _quoted_tracker(sender_id: str = "cust-1") -> object:
    return make_tracker(
        sender_id=sender_id,
        intent="affirm",
        text="要",
        slots={
            "product_id": "P1001",
            "product": "声悦Pro降噪蓝牙耳机",
            "sales_stage": "price_quoted",
        },
    )


def test_offer_coupon_is_one_mall_call(mall: LiveMall) -> None:
    mall.withdraw_seeded_coupons()
    mall.add_template()
    mall.calls.clear()
    messages, events = run_action(ActionOfferCoupon(mall), _quoted_tracker())
    assert mall.calls == ["GET /customers/cust-1/offer"]
    assert "用券后声悦Pro降噪蓝牙耳机到手价¥269" in texts(messages)
    assert slots_of(events)["offered_coupon"] == "T-AUDIO-30"


def test_offer_coupon_from_the_separate_routes_when_the_mall_has_no_offer_route(
    mall: LiveMall, monkeypatch: pytest.MonkeyPatch
) -> None:
    mall.withdraw_seeded_coupons()
    mall.add_template()
    in_one, in_one_events = run_action(ActionOfferCoupon(mall), _quoted_tracker())
    monkeypatch.setattr(mall, "offer", no_route("GET /customers/cust-1/offer"))
    mall.calls.clear()
    separate, separate_events = run_action(ActionOfferCoupon(mall), _quoted_tracker())
    assert "GET /customers/cust-1/coupons/best" in mall.calls
    assert separate == in_one and separate_events == in_one_events
    unknown = make_tracker(intent="ask_discount", entities=[entity("product", "蓝牙耳鸡")])
    asked, _ = run_action(ActionOfferCoupon(mall), unknown)
    assert "GET /products/resolve" in mall.calls
    assert buttons(asked)  # near matches offered, as through the offer route
