"""Retrieval answers: the topic Rasa's ResponseSelector chose, and its domain response.

Five intents are retrieval intents (`ask_product_info`, `return_refund`, `complaint`,
`ask_payment`, `ask_discount`): their training examples carry a topic (`return_refund/progress`)
and every topic has a domain response `utter_<intent>/<topic>`. The intent's action reads the
topic here, fills the response with live mall data and dispatches it, so a trainer adds a topic
in two YAML places and no Python.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

RESPONSE_SELECTOR = "response_selector"
SECOND_REQUEST = "second_request"
REQUEST_NAMES = Path(__file__).with_name("request_names.yml")


def answer_topic(tracker: Tracker, intent: str) -> str | None:
    """The topic of `intent` that the ResponseSelector ranked highest for the latest message.

    The selector ranks the topics of every retrieval intent together; only the intent the
    classifier chose counts (a complaint is never answered with a payment topic). A button
    may name the topic itself (`/return_refund{"topic": "progress"}`). None for a plain
    button payload or a model without a selector.
    """
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == "topic" and entity.get("value"):
            return str(entity["value"])
    selector = tracker.latest_message.get(RESPONSE_SELECTOR)
    if not isinstance(selector, dict):
        return None
    prefix = f"{intent}/"
    best: tuple[float, str] | None = None
    for name, result in selector.items():
        if name == "all_retrieval_intents" or not isinstance(result, dict):
            continue
        for item in result.get("ranking") or []:
            key = str(item.get("intent_response_key") or "")
            if key.startswith(prefix):
                confidence = float(item.get("confidence") or 0.0)
                if best is None or confidence > best[0]:
                    best = (confidence, key.removeprefix(prefix))
    return best[1] if best else None


def topic_response(intent: str, topic: str) -> str:
    """The domain response of a topic: `utter_return_refund/progress`."""
    return f"utter_{intent}/{topic}"


def has_response(domain: DomainDict, name: str) -> bool:
    """Whether the domain defines the response."""
    responses = domain.get("responses") or {}
    return name in responses


def utter_topic(
    dispatcher: CollectingDispatcher,
    domain: DomainDict,
    intent: str,
    topic: str | None,
    **values: Any,
) -> bool:
    """Dispatch the topic's response with `values` filled in; False when it has none."""
    if not topic:
        return False
    name = topic_response(intent, topic)
    if not has_response(domain, name):
        return False
    dispatcher.utter_message(response=name, **values)
    return True


def joined(values: Any, sep: str = "、") -> str:
    """A list as one line (`微信支付、支付宝`); a string stays as it is."""
    if isinstance(values, list):
        return sep.join(str(v) for v in values if v)
    return str(values) if values else ""


def numbered(lines: list[str]) -> str:
    """`1. ...\n2. ...`."""
    return "\n".join(f"{i}. {line}" for i, line in enumerate(lines, start=1))


def second_request(tracker: Tracker) -> dict[str, Any] | None:
    """The second request the latest message makes, if the NLU found one."""
    found = tracker.latest_message.get(SECOND_REQUEST)
    return found if isinstance(found, dict) and found.get("intent") else None


def answer_topics(tracker: Tracker, intent: str) -> list[str | None]:
    """The topics to answer: the message's, then a second one of the same intent."""
    topics = [answer_topic(tracker, intent)]
    second = second_request(tracker)
    if second and second["intent"] == intent and second.get("topic") not in topics:
        topics.append(str(second["topic"]))
    return topics


@functools.lru_cache(maxsize=1)
def request_names() -> dict[str, str]:
    """How requests are named to the customer (actions/request_names.yml)."""
    with REQUEST_NAMES.open(encoding="utf-8") as handle:
        return {str(k): str(v) for k, v in (yaml.safe_load(handle) or {}).items()}


def offer_second_request(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """Offer to answer a second request of another intent, with a button that asks it."""
    second = second_request(tracker)
    primary = (tracker.latest_message.get("intent") or {}).get("name")
    if second is None or second["intent"] == primary:
        return
    intent, topic = str(second["intent"]), second.get("topic")
    names = request_names()
    name = names.get(f"{intent}/{topic}") or names.get(intent)
    if not name:
        return
    payload = f"/{intent}" + (json.dumps({"topic": topic}) if topic else "")
    dispatcher.utter_message(response="utter_second_request", request=name, payload=payload)
