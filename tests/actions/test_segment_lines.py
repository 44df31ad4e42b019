"""The per-segment sales line after a price quote: each segment hears its own."""

from __future__ import annotations

from typing import Any

import pytest

from actions.sales import ActionQuotePrice
from actions.segment_lines import segment_line
from tests.actions.fakes import FakeMallClient, entity, make_profile, make_tracker, run_action

PRODUCT = {"id": "P1001", "name": "声悦Pro降噪蓝牙耳机", "price": 299}


def quote(mall: FakeMallClient, **profile: Any) -> list[dict[str, Any]]:
    mall.profiles["cust-1"] = make_profile(**profile)
    messages, _ = run_action(
        ActionQuotePrice(mall), make_tracker(entities=[entity("product", "耳机")])
    )
    return messages


@pytest.mark.parametrize(
    ("segment", "words"),
    [
        ("high_value", "今天下单声悦Pro降噪蓝牙耳机享限时免运费"),
        ("price_sensitive", "先领券再下单最划算：声悦Pro降噪蓝牙耳机现在有券可用"),
        ("churn_risk", "好久不见！李姐特意给回来的老朋友留了回归专享券"),
        ("new", "第一次来李姐的数码小铺吧？首单下单就送新人礼一份"),
    ],
)
def test_each_segment_hears_its_own_line_between_the_card_and_the_question(
    mall: FakeMallClient, segment: str, words: str
) -> None:
    card, pitch, question = quote(mall, segment=segment)
    assert card["custom"]["type"] == "product_card"
    assert pitch["text"].startswith("小王，") and words in pitch["text"]
    assert question["text"].endswith("是否需要优惠?")


def test_the_lines_differ_by_segment(mall: FakeMallClient) -> None:
    lines = {
        s: quote(mall, segment=s)[1]["text"]
        for s in ("high_value", "price_sensitive", "churn_risk", "new")
    }
    assert len(set(lines.values())) == 4
    assert "免运费" in lines["high_value"] and "免运费" not in lines["price_sensitive"]
    assert "券" in lines["price_sensitive"] and "新人礼" in lines["new"]


def test_regular_customers_hear_no_extra_line(mall: FakeMallClient) -> None:
    assert len(quote(mall, segment="regular")) == 2


def test_a_missing_value_gives_the_plain_line(mall: FakeMallClient) -> None:
    # No card: the new customer's line names the shop, so it falls back to the plain one.
    pitch = quote(mall, segment="new", card=None)[1]["text"]
    assert pitch == "第一次来吧？首单下单就送新人礼一份。"
    nameless = quote(mall, segment="high_value", display_name="")[1]["text"]
    assert nameless == "今天下单享限时免运费，手慢无哦。"


def test_customers_who_opted_out_of_marketing_hear_none(mall: FakeMallClient) -> None:
    assert len(quote(mall, segment="high_value", opt_outs=["marketing"])) == 2
    assert len(quote(mall, segment="high_value", opt_outs=["sms"])) == 3


def test_a_name_with_template_syntax_is_printed_as_written() -> None:
    profile: Any = make_profile(segment="high_value", display_name="{{ 7*7 }}")
    line = segment_line(profile, PRODUCT)  # type: ignore[arg-type]
    assert line is not None and line.startswith("{{ 7*7 }}，") and "49" not in line


def test_no_profile_no_line() -> None:
    assert segment_line(None, PRODUCT) is None  # type: ignore[arg-type]


SUGGESTED = [
    {"id": "P1005", "name": "快充65W氮化镓充电器", "price": 99.0, "reason": "买了这款的人也买了"},
    {"id": "P1003", "name": "极光20000毫安充电宝", "price": 129.5, "reason": "看过这款的人也在看"},
]


def test_recommendations_come_as_buttons_before_the_price_question(
    mall: FakeMallClient,
) -> None:
    mall.recommendations["cust-1"] = SUGGESTED
    messages = quote(mall, segment="regular")
    more, question = messages[-2], messages[-1]
    # The yes/no question (the domain's utter_quote_price, with its buttons) stays the last
    # menu: WeChat answers menus by position.
    assert question["response"] == "utter_quote_price"
    assert more["text"] == "看过这款的人还喜欢："
    assert more["buttons"] == [
        {
            "title": "快充65W氮化镓充电器 ¥99",
            "payload": '/ask_price{"product": "快充65W氮化镓充电器"}',
        },
        {
            "title": "极光20000毫安充电宝 ¥129.50",
            "payload": '/ask_price{"product": "极光20000毫安充电宝"}',
        },
    ]


def test_the_welcome_suggests_products_too(mall: FakeMallClient) -> None:
    from actions.sales import ActionWelcome

    mall.profiles["cust-1"] = make_profile(segment="regular")
    mall.recommendations["cust-1"] = SUGGESTED[:1]
    messages, _ = run_action(ActionWelcome(mall), make_tracker())
    assert messages[-1]["text"] == "为您挑了几件可能喜欢的："
    assert [b["title"] for b in messages[-1]["buttons"]] == ["快充65W氮化镓充电器 ¥99"]
    # From a product's page the welcome offers that product's price, nothing else.
    page = make_tracker(metadata={"product_id": "P1001"})
    messages, _ = run_action(ActionWelcome(mall), page)
    assert messages[-1]["response"] == "utter_welcome_on_product"
    assert all("为您挑了" not in (m.get("text") or "") for m in messages)


def test_no_recommendations_when_the_mall_cannot_say(mall: FakeMallClient) -> None:
    mall.recommendations["cust-1"] = SUGGESTED
    mall.failing.add("recommend_products")
    messages = quote(mall, segment="regular")
    assert messages[-1]["text"].endswith("是否需要优惠?")
