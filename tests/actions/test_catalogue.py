"""Stock and product information."""

from __future__ import annotations

from typing import Any

from actions.catalogue import ActionCheckStock, ActionProductInfo
from tests.actions.live_mall import LiveMall
from tests.actions.trackers import entity, make_tracker, run_action, slots_of, texts

# ---------------------------------------------------------------- stock


def stock(mall: LiveMall, **kwargs: Any) -> tuple[str, dict[str, Any]]:
    """Ask the stock question; return the answer text and the slots set."""
    kwargs.setdefault("intent", "ask_stock")
    messages, events = run_action(ActionCheckStock(mall), make_tracker(**kwargs))
    return texts(messages), slots_of(events)


def test_stock_per_variant(mall: LiveMall) -> None:
    text, slots = stock(mall, entities=[entity("product", "耳机")], text="耳机有货吗")
    assert text.splitlines() == [
        "声悦Pro降噪蓝牙耳机库存情况：",
        "白色有货",
        "黑色有货",
        "薄荷绿暂时缺货",
    ]
    assert slots == {"product_id": "P1001", "product": "声悦Pro降噪蓝牙耳机"}


def test_stock_of_the_asked_colour(mall: LiveMall) -> None:
    text, _ = stock(mall, entities=[entity("product", "耳机"), entity("color", "白色")])
    assert text == "声悦Pro降噪蓝牙耳机：白色有货。"


def test_stock_of_colour_and_size_out_of_stock_lists_alternatives(mall: LiveMall) -> None:
    text, _ = stock(
        mall, entities=[entity("product", "T恤"), entity("color", "黑色"), entity("size", "L")]
    )
    first, others = text.splitlines()
    assert first == "织锦纯棉圆领T恤：黑色L码暂时缺货。"
    assert "白色L码有货" in others and "黑色L码" not in others


def test_stock_loose_colour_word(mall: LiveMall) -> None:
    text, _ = stock(mall, entities=[entity("product", "耳机"), entity("color", "黑的")])
    assert text == "声悦Pro降噪蓝牙耳机：黑色有货。"


def test_stock_size_l_is_not_xl(mall: LiveMall) -> None:
    text, _ = stock(mall, entities=[entity("product", "T恤"), entity("size", "L")])
    assert "XL" not in text
    assert "白色L码有货" in text


def test_stock_low_count_is_shown(mall: LiveMall) -> None:
    text, _ = stock(mall, entities=[entity("product", "保温杯"), entity("color", "樱花粉")])
    assert text == "不锈钢保温杯：樱花粉仅剩3件。"


def test_stock_unknown_variant_says_so(mall: LiveMall) -> None:
    text, _ = stock(mall, entities=[entity("product", "耳机"), entity("color", "紫色")])
    assert text.startswith("声悦Pro降噪蓝牙耳机没有紫色这个款式")
    assert "白色有货" in text


def test_stock_everything_sold_out(mall: LiveMall) -> None:
    text, _ = stock(mall, entities=[entity("product", "鲜花饼")])
    assert "全部暂时缺货" in text


def test_stock_single_variant_product(mall: LiveMall) -> None:
    text, _ = stock(mall, entities=[entity("product", "枕头")])
    assert text == "记忆棉护颈枕有货。"


def test_stock_remembers_colour_for_the_same_product(mall: LiveMall) -> None:
    text, _ = stock(
        mall, text="还有吗", slots={"product_id": "P2001", "color": "黑色", "size": "L"}
    )
    assert text.startswith("织锦纯棉圆领T恤：黑色L码暂时缺货")


def test_stock_ignores_a_colour_from_another_product(mall: LiveMall) -> None:
    text, _ = stock(
        mall,
        entities=[entity("product", "充电器")],
        slots={"product_id": "P2001", "color": "黑色"},
    )
    assert text == "快充65W氮化镓充电器库存情况：\n白色有货"


def test_stock_asks_which_product(mall: LiveMall) -> None:
    text, slots = stock(mall, text="有货吗")
    assert text == "您想查哪款商品的库存呢？"
    assert slots == {"pending_question": "stock"}


def test_stock_answer_clears_pending_question(mall: LiveMall) -> None:
    _, slots = stock(
        mall,
        intent="ask_product_info",
        entities=[entity("product", "鼠标")],
        slots={"pending_question": "stock"},
    )
    assert slots["pending_question"] is None


def test_stock_unknown_product_suggests_with_stock_buttons(mall: LiveMall) -> None:
    messages, _ = run_action(
        ActionCheckStock(mall),
        make_tracker(intent="ask_stock", entities=[entity("product", "蓝牙音箱")]),
    )
    assert messages[0]["text"].startswith("抱歉，没有找到“蓝牙音箱”")
    assert all(b["payload"].startswith('/ask_stock{"product": ') for b in messages[0]["buttons"])


def test_stock_when_the_mall_is_down(mall: LiveMall) -> None:
    mall.unavailable = True
    messages, events = run_action(
        ActionCheckStock(mall), make_tracker(intent="ask_stock", slots={"product_id": "P1001"})
    )
    assert [m["response"] for m in messages] == ["utter_service_unavailable"]
    assert events == []


# ---------------------------------------------------------------- product info


def test_product_info_describes_with_specs(mall: LiveMall) -> None:
    messages, events = run_action(
        ActionProductInfo(mall),
        make_tracker(
            intent="ask_product_info", entities=[entity("product", "充电宝")], text="充电宝介绍下"
        ),
    )
    text = texts(messages)
    assert text.startswith("极光20000毫安充电宝：20000mAh大容量")
    assert "容量：20000mAh" in text and "最大输出：22.5W" in text
    assert "现价¥129" in text
    assert slots_of(events) == {"product_id": "P1003", "product": "极光20000毫安充电宝"}


def test_product_info_answers_the_asked_spec_first(mall: LiveMall) -> None:
    messages, _ = run_action(
        ActionProductInfo(mall),
        make_tracker(
            intent="ask_product_info", text="这个耳机续航多久", metadata={"product_id": "P1001"}
        ),
    )
    lines = texts(messages).splitlines()
    assert lines[0] == "声悦Pro降噪蓝牙耳机的续航：8小时(耳机)/32小时(含充电仓)"
    assert "续航" not in lines[-2]  # not repeated among the other specs


def test_product_info_material_question_finds_the_fabric(mall: LiveMall) -> None:
    messages, _ = run_action(
        ActionProductInfo(mall),
        make_tracker(intent="ask_product_info", text="T恤什么材质的"),
    )
    assert texts(messages).splitlines()[0] == "织锦纯棉圆领T恤的面料：100%棉"


def test_product_info_asks_which_product(mall: LiveMall) -> None:
    messages, events = run_action(
        ActionProductInfo(mall), make_tracker(intent="ask_product_info", text="什么材质")
    )
    assert texts(messages) == "您想了解哪款商品呢？"
    assert slots_of(events) == {"pending_question": "info"}
