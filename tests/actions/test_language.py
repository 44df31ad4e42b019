"""The `language` slot follows what the customer writes; short Latin words do not switch it."""

from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk.executor import CollectingDispatcher

from actions.language import ValidateSlotMappings, speaks_english
from tests.actions.trackers import DOMAIN, make_tracker


def language_after(text: str, written: str | None, slot: str = "zh", **metadata: Any) -> Any:
    tracker = make_tracker(text=text, metadata=metadata or None)
    tracker.latest_message["sentiment"] = {"language": written} if written else {}
    tracker.slots["language"] = slot
    found = asyncio.run(
        ValidateSlotMappings().extract_language(CollectingDispatcher(), tracker, DOMAIN)
    )
    return found.get("language", slot)


def test_english_words_switch_to_english_and_chinese_back() -> None:
    assert language_after("how much is it", "en") == "en"
    assert language_after("多少钱", "zh", slot="en") == "zh"
    assert language_after("iPhone 有货吗", "mixed", slot="en") == "zh"


def test_a_word_or_a_number_keeps_the_language() -> None:
    assert language_after("ok", "en") == "zh"
    assert language_after("202611180001", "other", slot="en") == "en"
    assert language_after("👍", "emoji", slot="en") == "en"


def test_the_page_decides_a_message_without_words() -> None:
    assert language_after("/greet", None, language="en") == "en"
    tracker = make_tracker(text="/greet", metadata={"language": "en"})
    assert speaks_english(tracker)


def test_the_hook_sets_the_language_without_the_domain() -> None:
    # Rasa sends this per-message action no domain (selective domain in endpoints.yml).
    tracker = make_tracker(text="how much is it")
    tracker.latest_message["sentiment"] = {"language": "en"}
    tracker.slots["language"] = "zh"
    events = asyncio.run(ValidateSlotMappings().run(CollectingDispatcher(), tracker, {}))
    assert events == [{"event": "slot", "timestamp": None, "name": "language", "value": "en"}]
