"""Handing a conversation to a person: the wait, the pause, the context, the offline path."""

from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import ActionHandoff, ActionLeaveMessage, find_phone, masked
from tests.actions.live_mall import LiveMall
from tests.actions.trackers import DOMAIN, make_tracker


def run(action: Any, tracker: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, DOMAIN))
    for event in events:
        if event["event"] == "slot":
            assert event["name"] in DOMAIN["slots"], event
    return dispatcher.messages, events


def angry_history() -> list[dict[str, Any]]:
    return [
        {"event": "action", "name": "action_listen"},
        {
            "event": "user",
            "text": "快递到哪了",
            "parse_data": {"intent": {"name": "ask_order_status"}, "sentiment": {"score": -0.1}},
        },
        {"event": "bot", "text": "您的订单已发货"},
        {"event": "action", "name": "action_listen"},
    ]


def test_handoff_pauses_the_bot_and_announces_the_wait(mall: LiveMall) -> None:
    mall.add_profile("wx-1", display_name="王女士", segment="high_value")
    tracker = make_tracker(
        sender_id="wx-1",
        intent="complaint",
        text="什么垃圾客服 我要投诉",
        slots={"handoff_reason": "angry", "product_id": "P1001", "product": "无线降噪耳机"},
        events=angry_history(),
    )
    messages, events = run(ActionHandoff(mall), tracker)
    assert messages[0]["response"] == "utter_handoff_started"
    assert messages[0]["wait_minutes"] == 4
    assert {"event": "pause", "timestamp": None} in events
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert slots["handoff_status"] == "waiting" and slots["handoff_id"] == "1"
    handoff = mall.handoffs()[0]
    assert handoff["reason"] == "angry"
    context = handoff["context"]
    assert context["profile"]["name"] == "王女士" and context["profile"]["segment"] == "high_value"
    assert context["product"] == {"id": "P1001", "name": "无线降噪耳机"}
    assert [line["text"] for line in context["transcript"]][-1] == "什么垃圾客服 我要投诉"
    assert context["sentiment"][0] == {"text": "快递到哪了", "score": -0.1}


def test_request_human_without_a_policy_reason_is_the_customers_wish(
    mall: LiveMall,
) -> None:
    tracker = make_tracker(intent="request_human", text="转人工")
    run(ActionHandoff(mall), tracker)
    assert mall.handoffs()[0]["reason"] == "customer_asked"


def test_outside_hours_offers_to_take_a_message_and_does_not_pause(
    mall: LiveMall,
) -> None:
    hours = mall.close_the_desk()
    mall.agents_away()
    messages, events = run(ActionHandoff(mall), make_tracker(intent="request_human", text="人工"))
    assert messages[0]["response"] == "utter_handoff_outside_hours"
    assert messages[0]["service_hours"] == hours
    assert all(e["event"] != "pause" for e in events)
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert slots["handoff_status"] == "leave_message"


def test_nobody_online_in_hours_says_so(mall: LiveMall) -> None:
    mall.agents_away()
    messages, _ = run(ActionHandoff(mall), make_tracker(intent="request_human", text="人工"))
    assert messages[0]["response"] == "utter_handoff_no_agent"


def test_mall_down_gives_the_hotline_not_silence(mall: LiveMall) -> None:
    mall.unavailable = True
    messages, events = run(ActionHandoff(mall), make_tracker(intent="request_human", text="人工"))
    assert messages[0]["response"] == "utter_handoff_failed"
    assert messages[0]["hotline"]
    assert all(e["event"] != "pause" for e in events)


def left_open(mall: LiveMall) -> str:
    """The id of a handoff opened outside service hours (the customer may leave a message)."""
    mall.close_the_desk()
    opened = mall.open_handoff("cust-1", "web", "customer_asked", {})
    return str(opened["handoff"]["id"])


def test_left_message_with_a_phone_number_is_a_callback(mall: LiveMall) -> None:
    tracker = make_tracker(
        intent="inform",
        text="麻烦明天上午打我电话 138 1234 5678",
        slots={"handoff_status": "leave_message", "handoff_id": left_open(mall)},
    )
    messages, events = run(ActionLeaveMessage(mall), tracker)
    note = mall.notes()[0]
    assert str(note["handoff_id"]) == tracker.get_slot("handoff_id")
    assert note["kind"] == "callback" and note["phone"] == "13812345678"
    assert messages[0]["response"] == "utter_callback_recorded"
    assert messages[0]["phone"] == "138****5678"
    assert {"event": "slot", "timestamp": None, "name": "handoff_status", "value": None} in events


def test_left_message_without_a_number_is_a_message(mall: LiveMall) -> None:
    tracker = make_tracker(
        text="耳机左边没声音，希望换一个",
        slots={"handoff_status": "leave_message", "handoff_id": left_open(mall)},
    )
    messages, _ = run(ActionLeaveMessage(mall), tracker)
    assert mall.notes()[0]["kind"] == "message" and mall.notes()[0]["phone"] is None
    assert messages[0]["response"] == "utter_message_recorded"


def test_phone_numbers_as_customers_type_them() -> None:
    assert find_phone("电话13912345678") == "13912345678"
    assert find_phone("打 021-62345678 找我") == "02162345678"
    assert find_phone("订单号202611180002") is None
    assert masked("13912345678") == "139****5678"


def test_an_open_breaker_hands_off_instead_of_apologising_again(mall: LiveMall) -> None:
    from actions.sales import ActionQuotePrice

    mall.unavailable = True
    for _ in range(mall.breaker.threshold):
        mall.breaker.record_failure()
    tracker = make_tracker(intent="ask_price", text="耳机多少钱", slots={"product_id": "P1001"})
    messages, events = run(ActionQuotePrice(mall), tracker)
    assert messages == []
    assert {"event": "followup", "timestamp": None, "name": "action_handoff"} in events
