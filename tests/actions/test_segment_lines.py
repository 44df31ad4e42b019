"""The per-segment sales line after a price quote: each segment hears its own."""

from __future__ import annotations

import json
from typing import Any

import pytest

from actions.formatting import yuan
from actions.sales import ActionQuotePrice
from actions.segment_lines import segment_line
from tests.actions.live_mall import LiveMall
from tests.actions.trackers import entity, make_profile, make_tracker, run_action

PRODUCT = {"id": "P1001", "name": "声悦Pro降噪蓝牙耳机", "price": 299}


def quote(mall: LiveMall, **profile: Any) -> list[dict[str, Any]]:
    mall.add_profile(**profile)
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
    mall: LiveMall, segment: str, words: str
) -> None:
    # The mall's recommendations, when it has some, come after the line, before the question.
    card, pitch, *_suggested, question = quote(mall, segment=segment)
    assert card["custom"]["type"] == "product_card"
    assert pitch["text"].startswith("小王，") and words in pitch["text"]
    assert question["text"].endswith("是否需要优惠?")


def test_the_lines_differ_by_segment(mall: LiveMall) -> None:
    lines = {
        s: quote(mall, segment=s)[1]["text"]
        for s in ("high_value", "price_sensitive", "churn_risk", "new")
    }
    assert len(set(lines.values())) == 4
    assert "免运费" in lines["high_value"] and "免运费" not in lines["price_sensitive"]
    assert "券" in lines["price_sensitive"] and "新人礼" in lines["new"]


def test_regular_customers_hear_no_extra_line(mall: LiveMall) -> None:
    card, *rest = quote(mall, segment="regular")
    assert [m["text"] for m in rest[:-1]] == ["看过这款的人还喜欢："]  # recommendations only


def test_a_missing_value_gives_the_plain_line(mall: LiveMall) -> None:
    # No card: the new customer's line names the shop, so it falls back to the plain one.
    pitch = quote(mall, segment="new", card=None)[1]["text"]
    assert pitch == "第一次来吧？首单下单就送新人礼一份。"
    nameless = quote(mall, segment="high_value", display_name="")[1]["text"]
    assert nameless == "今天下单享限时免运费，手慢无哦。"


def test_customers_who_opted_out_of_marketing_hear_none(mall: LiveMall) -> None:
    # The card, the mall's recommendations, the question: no sales line.
    assert len(quote(mall, segment="high_value", opt_outs=["marketing"])) == 3
    assert len(quote(mall, segment="high_value", opt_outs=["sms"])) == 4


def test_a_name_with_template_syntax_is_printed_as_written() -> None:
    profile: Any = make_profile(segment="high_value", display_name="{{ 7*7 }}")
    line = segment_line(profile, PRODUCT)  # type: ignore[arg-type]
    assert line is not None and line.startswith("{{ 7*7 }}，") and "49" not in line


def test_no_profile_no_line() -> None:
    assert segment_line(None, PRODUCT) is None  # type: ignore[arg-type]


def suggested_buttons(mall: LiveMall, product_id: str | None) -> list[dict[str, str]]:
    """The buttons the mall's own recommendations for cust-1 should become."""
    items = mall.recommend_products("cust-1", product_id)
    assert items, "the demo data recommends something to go with the product"
    return [
        {
            "title": f"{item['name']} ¥{yuan(item['price'])}",
            "payload": "/ask_price" + json.dumps({"product": item["name"]}, ensure_ascii=False),
        }
        for item in items
    ]


def test_recommendations_come_as_buttons_before_the_price_question(
    mall: LiveMall,
) -> None:
    mall.add_profile(segment="regular")
    before = suggested_buttons(mall, "P1001")
    messages = quote(mall, segment="regular")
    more, question = messages[-2], messages[-1]
    # The yes/no question (the domain's utter_quote_price, with its buttons) stays the last
    # menu: WeChat answers menus by position.
    assert question["response"] == "utter_quote_price"
    assert more["text"] == "看过这款的人还喜欢："
    # The action asks for them while the consult is being recorded, which may move them.
    assert more["buttons"] in (before, suggested_buttons(mall, "P1001"))


def test_the_welcome_suggests_products_too(mall: LiveMall) -> None:
    from actions.sales import ActionWelcome

    mall.add_profile(segment="regular")
    messages, _ = run_action(ActionWelcome(mall), make_tracker())
    assert messages[-1]["text"] == "为您挑了几件可能喜欢的："
    assert messages[-1]["buttons"] == suggested_buttons(mall, None)
    # From a product's page the welcome offers that product's price, nothing else.
    page = make_tracker(metadata={"product_id": "P1001"})
    messages, _ = run_action(ActionWelcome(mall), page)
    assert messages[-1]["response"] == "utter_welcome_on_product"
    assert all("为您挑了" not in (m.get("text") or "") for m in messages)


def test_no_recommendations_when_the_mall_cannot_say(mall: LiveMall) -> None:
    mall.failing.add("/recommendations")
    messages = quote(mall, segment="regular")
    assert messages[-1]["text"].endswith("是否需要优惠?")
