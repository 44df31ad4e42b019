"""Placeholders in chat text: masked fields, order ids, links, numbers.

Shop systems mask personal data before anyone reads a chat ([数字x], [金额x], <num>, [姓名x]),
and customers paste order ids and links. Different shops mask differently, so the classifiers
read every kind as one canonical symbol per meaning (a number, an amount, an order id, ...),
and the sentiment model, for which they carry no feeling, reads them as nothing.
"""

from __future__ import annotations

import re

# (pattern, symbol): applied in order, so a specific kind wins over "a number".
_KINDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE), "Ⓤ"),
    (re.compile(r"\[ORDERID_[0-9A-Za-z]+\]|<order_?id>", re.IGNORECASE), "Ⓞ"),
    (re.compile(r"\[金额x\]|<(?:amount|money|price)>", re.IGNORECASE), "Ⓜ"),
    (re.compile(r"\[(?:日期|时间)x\]|<(?:date|time)>", re.IGNORECASE), "Ⓓ"),
    (re.compile(r"\[[^\[\]\s]{1,8}x\]|<[a-z_]{2,12}>", re.IGNORECASE), "Ⓧ"),
    # A long run of digits is an id (order, tracking, phone); a short one a quantity.
    (re.compile(r"\d{8,}"), "Ⓞ"),
    (re.compile(r"\d+(?:\.\d+)?"), "Ⓝ"),
)
_SYMBOLS = "ⓊⓄⓂⒹⓍⓃ"
_ANY_SYMBOL = re.compile(f"[{_SYMBOLS}]")
_NUMBER_WORD = re.compile(r"\[数字x\]|<num(?:ber)?>", re.IGNORECASE)


def canonical(text: str) -> str:
    """The text with each placeholder, link and number replaced by its kind's symbol."""
    text = _NUMBER_WORD.sub("0", text)
    for pattern, symbol in _KINDS:
        text = pattern.sub(symbol, text)
    return text


def blank(text: str) -> str:
    """The text with placeholders, links, ids and numbers replaced by spaces."""
    return _ANY_SYMBOL.sub(" ", canonical(text))
