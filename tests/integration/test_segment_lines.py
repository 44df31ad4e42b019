"""The sales line after a price quote differs by segment, through the real assistant:
the same question from the demo customers of four segments."""

from __future__ import annotations

import pytest

from launcher.stack import Stack
from tests.integration.conftest import Customer

pytestmark = pytest.mark.integration

QUESTION = "声悦Pro降噪蓝牙耳机多少钱"
LINES = {
    "wx-o7Xh2-vip": "限时免运费",  # high_value
    "web-price-001": "先领券再下单最划算",  # price_sensitive
    "wx-o7Xh2-churn": "回归专享券",  # churn_risk
    "web-new-001": "首单下单就送新人礼",  # new
}


def test_the_sales_line_differs_by_segment(stack: Stack) -> None:
    heard = {}
    for sender in LINES:
        customer = Customer(stack.settings.rasa_url, sender=sender)
        customer.say("/restart")  # whatever other tests left in these conversations
        heard[sender] = customer.say_text(QUESTION)
        assert "299" in heard[sender], heard[sender]
    for sender, words in LINES.items():
        assert words in heard[sender], (sender, heard[sender])
        others = [w for s, w in LINES.items() if s != sender]
        assert not any(other in heard[sender] for other in others), (sender, heard[sender])
    # A regular customer hears the price and the question, and no segment line.
    regular = Customer(stack.settings.rasa_url, sender="wx-o7Xh2-regular")
    regular.say("/restart")
    text = regular.say_text(QUESTION)
    assert "299" in text and not any(words in text for words in LINES.values())
