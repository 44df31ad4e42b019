"""The conversation as the widget shows it, read from the tracker's events."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from rasa.shared.core.events import BotUttered, Event, UserUttered

# `/intent` or `/intent{"entity": "value"}`: what a button sends, and the widget's greeting.
INTENT_PAYLOAD = re.compile(r"^/[A-Za-z_][A-Za-z0-9_]*(\{.*\})?$", re.DOTALL)
# Only the latest messages: a long conversation must not make every page load heavy.
MAX_ITEMS = 200


def _buttons(raw: Any) -> list[dict[str, str]]:
    if not isinstance(raw, list):
        return []
    return [
        {"title": str(button.get("title", "")), "payload": str(button.get("payload", ""))}
        for button in raw
        if isinstance(button, dict) and button.get("title")
    ]


def _bot_item(event: BotUttered) -> dict[str, Any]:
    data = event.data or {}
    item: dict[str, Any] = {"role": "bot", "text": event.text or ""}
    agent = (event.metadata or {}).get("agent")
    if agent:
        # A human agent's reply through the handoff bridge: the widget labels it.
        item["role"] = "agent"
        item["agent"] = str(agent)
    buttons = _buttons(data.get("buttons") or data.get("quick_replies"))
    if buttons:
        item["buttons"] = buttons
    for key in ("image", "attachment"):
        if isinstance(data.get(key), str):
            item[key] = data[key]
    if isinstance(data.get("custom"), dict):
        item["custom"] = data["custom"]
    if isinstance(data.get("elements"), list):
        item["elements"] = [e for e in data["elements"] if isinstance(e, dict)]
    return item


def _user_text(text: str, last_buttons: list[dict[str, str]]) -> str | None:
    """What the customer saw themselves send; None for a payload nobody typed."""
    if not INTENT_PAYLOAD.match(text):
        return text
    for button in last_buttons:
        if button["payload"] == text:
            return button["title"]
    return None


def conversation_items(events: Iterable[Event]) -> list[dict[str, Any]]:
    """The user, bot and agent messages of `events`, oldest first, each with a stable id."""
    items: list[dict[str, Any]] = []
    last_buttons: list[dict[str, str]] = []
    for event in events:
        if isinstance(event, BotUttered):
            item = _bot_item(event)
            last_buttons = item.get("buttons", last_buttons)
        elif isinstance(event, UserUttered):
            text = _user_text(event.text or "", last_buttons)
            if text is None:
                continue
            item = {"role": "user", "text": text}
            if event.message_id:
                item["message_id"] = event.message_id
        else:
            continue
        item["ts"] = event.timestamp
        items.append(item)
    _number(items)
    return items[-MAX_ITEMS:]


def _number(items: list[dict[str, Any]]) -> None:
    # Events of one turn can share a timestamp; the id must still tell them apart, and stay
    # the same on every read so the widget never shows a message twice.
    seen: dict[float, int] = {}
    for item in items:
        n = seen.get(item["ts"], 0)
        seen[item["ts"]] = n + 1
        item["id"] = f"{item['ts']:.6f}-{n}"


def items_after(items: list[dict[str, Any]], after: float) -> list[dict[str, Any]]:
    """The items newer than the cursor `after`."""
    return [item for item in items if item["ts"] > after]
