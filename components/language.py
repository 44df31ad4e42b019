"""Which language a customer message is written in (zh or en), decided the same on both sides.

`LanguagePolicy` (components/language_policy.py) keeps the `language` slot with it inside Rasa,
and the actions (actions/language.py) read the same decision from the latest message. This
module imports nothing from Rasa, so the action server does not load Rasa to use it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

LANGUAGES = ("zh", "en")
SLOT = "language"
ENGLISH_WORD = re.compile(r"[A-Za-z]{2,}")


def message_language(
    text: str, written: str | None, metadata: Mapping[str, Any] | None
) -> str | None:
    """zh or en when the message says which; None for emoji, digits, order numbers.

    `written` is the sentiment component's script (zh, en, mixed, emoji, other). English
    needs two words or more: Chinese customers write "ok" or "iPhone" too. A message that
    does not tell takes the page's language, when the channel sent one.
    """
    if written == "en" and len(ENGLISH_WORD.findall(text)) >= 2:
        return "en"
    if written in ("zh", "mixed"):
        return "zh"
    page = (metadata or {}).get("language")
    return page if page in LANGUAGES else None


def parse_language(parse_data: Mapping[str, Any], metadata: Mapping[str, Any] | None) -> str | None:
    """`message_language` of a parsed message (Rasa's parse data)."""
    written = (parse_data.get("sentiment") or {}).get("language")
    return message_language(str(parse_data.get("text") or ""), written, metadata)
