"""Builders for the action tests: trackers as the action server receives them, and readers
of what an action dispatched."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from mall.schemas import ProfileOut

ROOT = Path(__file__).resolve().parents[2]
DOMAIN_FILE = ROOT / "domain.yml"

DOMAIN: dict[str, Any] = yaml.safe_load(DOMAIN_FILE.read_text(encoding="utf-8"))
# Action names; an action Rasa sends the domain to is listed as `{name: {send_domain: true}}`.
DOMAIN_ACTIONS: frozenset[str] = frozenset(
    item if isinstance(item, str) else next(iter(item)) for item in DOMAIN["actions"]
)
SENT_THE_DOMAIN: frozenset[str] = frozenset(
    name
    for item in DOMAIN["actions"]
    if isinstance(item, dict)
    for name, options in item.items()
    if (options or {}).get("send_domain")
)
_VARIABLE = re.compile(r"\{(\w+)\}")


def make_profile(customer_id: str = "cust-1", **overrides: Any) -> dict[str, Any]:
    """A card profile body as the mall sends it (checked against the mall's schema)."""
    profile = {
        "customer_id": customer_id,
        "display_name": "小王",
        "channel": "wechat",
        "card": {"id": "card-1", "owner_name": "李姐", "shop_name": "李姐的数码小铺"},
        "interests": ["蓝牙耳机"],
        "segment": "regular",
        "last_visit_at": "2024-01-01T00:00:00+00:00",
        "stats": {"card_view": 3, "product_view": 5, "add_to_cart": 1, "consult": 2, "order": 1},
    }
    profile.update(overrides)
    ProfileOut.parse_obj(profile)
    return profile


def entity(name: str, value: str) -> dict[str, Any]:
    """An entity as NLU puts it in `latest_message`."""
    return {"entity": name, "value": value, "extractor": "DIETClassifier"}


def make_tracker(
    *,
    sender_id: str = "cust-1",
    slots: dict[str, Any] | None = None,
    intent: str = "ask_price",
    entities: list[dict[str, Any]] | None = None,
    text: str = "",
    metadata: dict[str, Any] | None = None,
    message_id: str | None = "msg-1",
    events: list[dict[str, Any]] | None = None,
    topic: str | None = None,
    second_request: dict[str, Any] | None = None,
) -> Tracker:
    """A tracker as the action server receives it, positioned right after a user message.

    `topic` is what the ResponseSelector chose for the intent (`progress` for
    return_refund/progress); `second_request` what the NLU found as a second request.
    """
    all_slots = {name: None for name in DOMAIN["slots"]}
    all_slots.update(slots or {})
    latest: dict[str, Any] = {
        "intent": {"name": intent, "confidence": 0.95},
        "entities": entities or [],
        "text": text,
        "message_id": message_id,
        "metadata": metadata or {},
    }
    if topic:
        key = f"{intent}/{topic}"
        latest["response_selector"] = {
            "all_retrieval_intents": [intent],
            "default": {
                "response": {"intent_response_key": key, "confidence": 0.9},
                "ranking": [{"intent_response_key": key, "confidence": 0.9}],
            },
        }
    if second_request:
        latest["second_request"] = second_request
    user_event = {"event": "user", "text": text, "parse_data": latest, "message_id": message_id}
    history = list(events or [{"event": "action", "name": "action_listen"}]) + [user_event]
    return Tracker(sender_id, all_slots, latest, history, False, None, {}, "action_listen")


def run_action(action: Any, tracker: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Run an action as the executor would; return (messages, events) after checking events.

    The action gets the domain only when domain.yml asks Rasa to send it (`send_domain`).
    """
    dispatcher = CollectingDispatcher()
    domain = DOMAIN if action.name() in SENT_THE_DOMAIN else {}
    events = asyncio.run(action.run(dispatcher, tracker, domain))
    check_events_fit_domain(events)
    return dispatcher.messages, events


def check_events_fit_domain(events: list[dict[str, Any]]) -> None:
    """Every SlotSet names a domain slot and a value its type accepts."""
    for event in events:
        if event["event"] == "followup":
            assert event["name"] in DOMAIN_ACTIONS, f"{event['name']} is not a domain action"
            continue
        assert event["event"] == "slot", f"unexpected event {event}"
        slot = DOMAIN["slots"].get(event["name"])
        assert slot is not None, f"slot {event['name']} is not in domain.yml"
        if slot["type"] == "categorical" and event["value"] is not None:
            assert event["value"] in slot["values"], f"{event['value']} not a {event['name']}"


def slots_of(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The SlotSet events as {name: value}."""
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}


def rendered(message: dict[str, Any]) -> str:
    """A dispatched message's text; a domain response is filled in as Rasa's NLG would."""
    if message.get("text"):
        return str(message["text"])
    name = message.get("response")
    if not name:
        return ""
    assert name in DOMAIN["responses"], f"{name} is not a domain response"
    template = str(DOMAIN["responses"][name][0].get("text") or "")
    values = {key: value for key, value in message.items() if key not in ("text", "response")}

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        assert key in values, f"{name} needs {{{key}}}, the action did not pass it"
        return str(values[key])

    return _VARIABLE.sub(fill, template)


def texts(messages: list[dict[str, Any]]) -> str:
    """All dispatched texts (domain responses filled in) joined, for substring checks."""
    return "\n".join(rendered(m) for m in messages)


def buttons(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every button of the dispatched messages, domain responses' filled in as Rasa would."""
    found: list[dict[str, Any]] = []
    for message in messages:
        name = message.get("response")
        if name:
            values = {key: str(value) for key, value in message.items() if key != "response"}

            def fill(match: re.Match[str], values: dict[str, str] = values) -> str:
                return values.get(match.group(1), match.group(0))

            for button in DOMAIN["responses"][name][0].get("buttons") or []:
                found.append({key: _VARIABLE.sub(fill, str(v)) for key, v in button.items()})
        # Rasa adds the action's own buttons after the response's.
        found.extend(message.get("buttons") or [])
    return found
