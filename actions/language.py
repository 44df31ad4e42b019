"""The customer's language as the actions see it: the latest message's, else the slot's.

The `language` slot is kept up to date inside Rasa (components/language.py, `LanguagePolicy`,
before the turn's first action); the actions decide the same way from the latest message, so
a line they write follows the customer even on the turn the language changes.
"""

from __future__ import annotations

from rasa_sdk import Tracker

from components.language import parse_language


def message_language(tracker: Tracker) -> str | None:
    """zh or en when the latest message (or, without words, its page) says which."""
    message = tracker.latest_message or {}
    return parse_language(message, message.get("metadata"))


def speaks_english(tracker: Tracker) -> bool:
    """Whether the customer writes English (the Chinese sales lines then stay unused)."""
    return (message_language(tracker) or tracker.get_slot("language")) == "en"
