"""Many messages at once through the real assistant: every one answered and stored once.

The Rasa server works on CONCURRENT_TURNS messages at a time (channels/turns.py) and queues
the rest; a customer's burst waits behind its own previous message. Here one customer sends
six messages at the same moment while four others chat: every request gets its answer, the
bursting customer's conversation holds each of its messages exactly once, and nothing is
left waiting in the queue afterwards.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
import requests

from launcher.stack import Stack
from tests.integration.conftest import Customer, tracker
from tests.integration.test_metrics import sample

pytestmark = pytest.mark.integration

BURST = ["你好", "在吗", "声悦Pro降噪蓝牙耳机多少钱", "有优惠吗", "快递几天到", "谢谢"]
OTHERS = ["你好", "保温杯多少钱", "我的快递到哪了", "怎么退货"]


def test_a_burst_and_other_customers_at_once_are_all_answered_and_stored_once(
    stack: Stack,
) -> None:
    settings = stack.settings
    burster = Customer(settings.rasa_url, f"web-burst-{uuid.uuid4().hex[:8]}")
    others = [Customer(settings.rasa_url) for _ in OTHERS]
    answers: dict[tuple[str, str], list[dict[str, Any]]] = {}
    failures: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(len(BURST) + len(OTHERS))

    def send(customer: Customer, text: str) -> None:
        try:
            start.wait(timeout=30)
            replies = customer.say(text)
            with lock:
                answers[(customer.sender, text)] = replies
        except BaseException as error:  # reported below, with the others
            with lock:
                failures.append(error)

    threads = [threading.Thread(target=send, args=(burster, text)) for text in BURST]
    threads += [
        threading.Thread(target=send, args=(customer, text))
        for customer, text in zip(others, OTHERS, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    assert len(answers) == len(BURST) + len(OTHERS)
    assert all(replies for replies in answers.values()), answers

    events = tracker(settings.rasa_url, settings.rasa_api_token, burster.sender)["events"]
    said = [event["text"] for event in events if event["event"] == "user"]
    assert sorted(said) == sorted(BURST)  # each message once, none lost
    for customer, text in zip(others, OTHERS, strict=True):
        events = tracker(settings.rasa_url, settings.rasa_api_token, customer.sender)["events"]
        assert [event["text"] for event in events if event["event"] == "user"] == [text]

    metrics = requests.get(f"{settings.rasa_url}/webhooks/metrics/", timeout=10)
    assert metrics.status_code == 200
    assert "assistant_turns_waiting" in metrics.text
    assert sample(metrics.text, "assistant_turns_waiting") == 0
