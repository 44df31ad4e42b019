"""A customer who writes English is answered in English, from the domain's English variations."""

from __future__ import annotations

import pytest

from launcher.stack import Stack
from tests.integration.conftest import Customer

pytestmark = pytest.mark.integration


def test_an_english_writer_gets_english_lines_and_chinese_switches_back(stack: Stack) -> None:
    customer = Customer(stack.settings.rasa_url)
    page = {"product_id": "P1001"}
    quote = customer.say_text("how much is it", page)
    assert "is ¥299 now. Would you like a discount?" in quote
    assert "You're welcome" in customer.say_text("thank you so much")
    # Chinese again: the Chinese lines again.
    assert "是否需要优惠" in customer.say_text("蓝牙耳机多少钱", page)


def test_a_short_latin_word_keeps_a_chinese_customer_in_chinese(stack: Stack) -> None:
    customer = Customer(stack.settings.rasa_url)
    customer.say_text("蓝牙耳机多少钱")
    offer = customer.say_text("ok")
    assert "券" in offer and "coupon" not in offer.lower()
