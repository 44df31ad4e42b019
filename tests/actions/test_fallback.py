"""Not understood: a hint first, a human the second time in a row."""

from __future__ import annotations

from actions.fallback import ActionFallback
from tests.actions.live_mall import LiveMall
from tests.actions.trackers import (
    buttons,
    entity,
    make_tracker,
    run_action,
    slots_of,
    texts,
)


def turn(text: str, bot_action: str) -> list[dict[str, object]]:
    """Events of an earlier turn: the customer said `text`, the assistant ran `bot_action`."""
    return [
        {"event": "user", "text": text, "parse_data": {}},
        {"event": "action", "name": bot_action},
        {"event": "bot", "text": "..."},
        {"event": "action", "name": "action_listen"},
    ]


def test_first_fallback_gives_the_hint(mall: LiveMall) -> None:
    tracker = make_tracker(
        intent="nlu_fallback", text="asdf", events=turn("你好", "action_welcome")
    )
    messages, events = run_action(ActionFallback(mall), tracker)
    assert [m["response"] for m in messages] == ["utter_default"]
    assert events == []


def test_second_fallback_in_a_row_offers_a_human(mall: LiveMall) -> None:
    tracker = make_tracker(
        intent="nlu_fallback", text="qwer", events=turn("asdf", "action_fallback")
    )
    messages, events = run_action(ActionFallback(mall), tracker)
    assert "转人工" in texts(messages)
    payloads = {b["title"]: b["payload"] for b in buttons(messages)}
    assert payloads["转人工"] == "/request_human"
    assert "换个问法" in payloads
    assert events == []


def test_fallback_after_an_answered_turn_is_a_first_fallback(mall: LiveMall) -> None:
    history = turn("asdf", "action_fallback") + turn("耳机多少钱", "action_quote_price")
    tracker = make_tracker(intent="nlu_fallback", text="zzz", events=history)
    messages, _ = run_action(ActionFallback(mall), tracker)
    assert [m["response"] for m in messages] == ["utter_default"]


def test_fallback_at_the_start_of_a_conversation(mall: LiveMall) -> None:
    tracker = make_tracker(intent="nlu_fallback", text="zzz", events=[])
    messages, _ = run_action(ActionFallback(mall), tracker)
    assert [m["response"] for m in messages] == ["utter_default"]
    assert mall.calls == []


def test_an_order_number_alone_asks_what_about_it(mall: LiveMall) -> None:
    messages, events = run_action(
        ActionFallback(mall),
        make_tracker(
            intent="nlu_fallback",
            text="订单号 202611180001",
            entities=[entity("order_id", "202611180001")],
        ),
    )
    assert texts(messages) == "收到，订单202611180001。请问您想了解这个订单的什么呢？"
    assert messages[0]["status_payload"] == '/ask_order_status{"order_id": "202611180001"}'
    assert {b["title"] for b in buttons(messages)} == {"查物流", "退换货", "修改订单"}
    assert slots_of(events) == {"order_id": "202611180001"}
