"""The customer's language (`language` slot: zh or en), so responses answer in it.

`action_validate_slot_mappings` runs after every customer message, before any answer: it sets
the slot from the message (the sentiment component reports the script it is written in), or
from the page (`metadata.language`) when the message has no words, and otherwise keeps it.
Domain responses then pick their English variation by a slot condition.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import ValidationAction
from rasa_sdk.types import DomainDict

LANGUAGES = ("zh", "en")
ENGLISH_WORD = re.compile(r"[A-Za-z]{2,}")


def message_language(tracker: Tracker) -> str | None:
    """zh or en when the latest message says which; None for emoji, digits, order numbers.

    English needs two words or more: Chinese customers write "ok" or "iPhone" too.
    """
    written = (tracker.latest_message.get("sentiment") or {}).get("language")
    text = str(tracker.latest_message.get("text") or "")
    if written == "en" and len(ENGLISH_WORD.findall(text)) >= 2:
        return "en"
    if written in ("zh", "mixed"):
        return "zh"
    page = (tracker.latest_message.get("metadata") or {}).get("language")
    return page if page in LANGUAGES else None


def speaks_english(tracker: Tracker) -> bool:
    """Whether the customer writes English (the Chinese sales lines then stay unused)."""
    return (message_language(tracker) or tracker.get_slot("language")) == "en"


class ValidateSlotMappings(ValidationAction):
    """Rasa's per-message slot hook: keeps `language` up to date."""

    def name(self) -> str:
        """Rasa calls the action by this name after extracting slots."""
        return "action_validate_slot_mappings"

    def domain_slots(self, domain: DomainDict) -> list[str]:
        """The slots this hook keeps: `language` alone.

        Rasa sends this action no domain (domain.yml, selective domain: it runs on every
        message), so the slots are named here rather than read from the domain's slots.
        """
        return ["language"]

    async def extract_language(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The latest message's language when it tells and differs from the slot."""
        language = message_language(tracker)
        if language is None or language == tracker.get_slot("language"):
            return {}
        return {"language": language}
