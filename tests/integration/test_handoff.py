"""Human handoff end to end: the trained model, Rasa, the action server, the mall and the console.

An angry customer is handed to a person and a neutral question is not; while handed off the
bot is silent and the customer's words reach the console; the agent's reply reaches the
conversation; closing gives it back to the bot.
"""

from __future__ import annotations

import uuid

import pytest

from launcher.stack import Stack
from tests.integration.conftest import Console, Customer, tracker

pytestmark = pytest.mark.integration

HANDOFF_LINE = "转接人工客服"


def new_customer(stack: Stack) -> Customer:
    return Customer(stack.settings.rasa_url, sender=f"web-handoff-{uuid.uuid4().hex[:8]}")


def slots(stack: Stack, sender: str) -> dict[str, object]:
    state = tracker(stack.settings.rasa_url, stack.settings.rasa_api_token, sender)
    found: dict[str, object] = state["slots"]
    return found


def test_sentiment_is_in_the_parse_data_the_tracker_keeps(stack: Stack) -> None:
    customer = new_customer(stack)
    customer.say("快递到哪了")
    customer.say("什么垃圾客服！！！再不处理我就投诉")
    events = tracker(stack.settings.rasa_url, stack.settings.rasa_api_token, customer.sender)[
        "events"
    ]
    scores = [e["parse_data"]["sentiment"]["score"] for e in events if e["event"] == "user"]
    assert len(scores) == 2
    assert scores[1] < scores[0] - 0.3  # angry clearly below neutral


def test_a_neutral_question_is_answered_by_the_bot(stack: Stack) -> None:
    customer = new_customer(stack)
    reply = customer.say_text("你好 怎么退货")
    assert reply and HANDOFF_LINE not in reply
    assert slots(stack, customer.sender)["handoff_reason"] is None


def test_angry_customer_goes_to_an_agent_and_back(stack: Stack) -> None:
    console = Console(stack.settings.desk_url)  # an agent is online
    customer = new_customer(stack)
    reply = customer.say_text("什么垃圾客服！！！等了一个礼拜还不发货，我要投诉")
    assert HANDOFF_LINE in reply and "分钟" in reply
    assert slots(stack, customer.sender)["handoff_reason"] in ("angry", "angry_complaint")

    # Handed off: the bot stays silent, and what the customer says reaches the console.
    assert customer.say("人呢？？") == []
    handoff_id = console.handoff_id(customer.sender)
    page = console.page(f"/handoffs/{handoff_id}")
    assert "人呢？？" in page
    assert "顾客情绪激动" in page or "投诉且情绪负面" in page

    console.post(handoff_id, "claim")
    console.post(handoff_id, "reply", text="您好，我是客服小美，马上帮您催发货")
    events = tracker(stack.settings.rasa_url, stack.settings.rasa_api_token, customer.sender)[
        "events"
    ]
    agent_lines = [
        e["text"] for e in events if e["event"] == "bot" and e.get("metadata", {}).get("agent")
    ]
    assert agent_lines[-1] == "您好，我是客服小美，马上帮您催发货"
    assert any("人工客服小美" in line for line in agent_lines)  # the greeting on claim
    assert customer.say("好的 谢谢") == []  # still with the agent

    console.post(handoff_id, "close")
    events = tracker(stack.settings.rasa_url, stack.settings.rasa_api_token, customer.sender)[
        "events"
    ]
    assert [e["event"] for e in events if e["event"] in ("pause", "resume")][-1] == "resume"
    reply = customer.say_text("蓝牙耳机多少钱")
    assert "¥299" in reply  # the bot answers again
    assert "已结束" in console.page(f"/handoffs/{handoff_id}")


def test_asking_for_a_person_pauses_the_bot(stack: Stack) -> None:
    Console(stack.settings.desk_url)  # an agent is online
    customer = new_customer(stack)
    reply = customer.say_text("帮我转人工")
    assert HANDOFF_LINE in reply
    state = slots(stack, customer.sender)
    assert state["handoff_reason"] == "customer_asked"
    assert state["handoff_status"] == "waiting"
    assert customer.say("在吗") == []


def test_a_handoff_survives_a_restart_of_every_process(stack: Stack) -> None:
    Console(stack.settings.desk_url)
    customer = new_customer(stack)
    assert HANDOFF_LINE in customer.say_text("转人工 快点")
    stack.stop()
    stack.start(timeout=240)
    # Still with a person after the restart: the bot stays silent, the console still has it.
    assert customer.say("还在吗") == []
    console = Console(stack.settings.desk_url)
    handoff_id = console.handoff_id(customer.sender)
    assert "还在吗" in console.page(f"/handoffs/{handoff_id}")
    console.post(handoff_id, "claim")
    console.post(handoff_id, "close")
    assert customer.say_text("你好")  # and the bot is back
