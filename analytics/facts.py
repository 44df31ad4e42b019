"""From Rasa's events to conversation facts: pure functions, so a replay gives the same rows.

An event (the JSON a Rasa event broker publishes, or a row of the tracker store's `events`
table: the same dict) becomes one `analytics_events` row with the columns the KPIs read.
A sender's events, in time order, become one fact row per session: channel, messages,
fallbacks, confidence, sentiment, the first response time, the furthest sales stage, the
coupon offered and issued, and the handoff with its reason, wait and resolution.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from security.pii import mask_pii

# The sales flow's stages in order; the order itself is read from the mall.
STAGES = ("welcome", "price", "offer", "coupon")
HANDOFF_ACTION = "action_handoff"
WELCOME_ACTION = "action_welcome"
KEPT_TYPES = frozenset(
    {"user", "bot", "action", "slot", "session_started", "pause", "resume", "restart"}
)


class BadEvent(ValueError):
    """A message that is not a Rasa event (counted, then dropped)."""


def event_key(event: dict[str, Any], sender_id: str) -> str:
    """The event's identity: the same event from any broker or the tracker store, one key."""
    detail = event.get("name") or event.get("text") or ""
    raw = f"{sender_id}\x1f{event.get('event')}\x1f{event.get('timestamp')!r}\x1f{detail}"
    return hashlib.sha256(raw.encode("utf-8", "replace")).hexdigest()


def _text(value: Any, limit: int) -> str | None:
    if value is None:
        return None
    return str(value)[:limit]


def event_row(event: Any, source: str, sender_id: str | None = None) -> dict[str, Any] | None:
    """An `analytics_events` row (None for event types the facts do not use); BadEvent."""
    if isinstance(event, bytes | str):
        try:
            event = json.loads(event)
        except ValueError:
            raise BadEvent("not JSON") from None
    if not isinstance(event, dict):
        raise BadEvent("not an object")
    sender = sender_id or event.get("sender_id")
    kind = event.get("event")
    timestamp = event.get("timestamp")
    if not isinstance(sender, str) or not sender or not isinstance(kind, str):
        raise BadEvent("no sender_id or event type")
    if not isinstance(timestamp, int | float):
        raise BadEvent("no timestamp")
    if kind not in KEPT_TYPES:
        return None
    row: dict[str, Any] = {
        "event_key": event_key(event, sender),
        "sender_id": sender[:255],
        "type": kind,
        "timestamp": float(timestamp),
        "channel": None,
        "intent": None,
        "confidence": None,
        "sentiment_score": None,
        "sentiment_label": None,
        "action_name": None,
        "slot_name": None,
        "slot_value": None,
        "text": None,
        "from_agent": False,
        "source": source,
    }
    if kind == "user":
        parse = event.get("parse_data") or {}
        intent = parse.get("intent") or {}
        sentiment = parse.get("sentiment") or {}
        text = str(event.get("text") or "")
        row.update(
            channel=_text(event.get("input_channel") or "unknown", 32),
            intent=_text(intent.get("name"), 64),
            confidence=_number(intent.get("confidence")),
            sentiment_score=_number(sentiment.get("score")),
            sentiment_label=_text(sentiment.get("label"), 16),
            # A button's payload is not the customer's own message.
            from_agent=text.startswith("/"),
        )
        if row["intent"] == "nlu_fallback" and not text.startswith("/"):
            row["text"] = mask_pii(text)[:500]
    elif kind == "bot":
        metadata = event.get("metadata") or {}
        row["from_agent"] = bool(isinstance(metadata, dict) and metadata.get("agent"))
    elif kind == "action":
        row["action_name"] = _text(event.get("name"), 64)
    elif kind == "slot":
        row["slot_name"] = _text(event.get("name"), 64)
        value = event.get("value")
        row["slot_value"] = None if value is None else _text(value, 128)
    return row


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


@dataclass(frozen=True)
class Profile:
    """What the mall knows about a customer, for the breakdowns."""

    segment: str | None = None
    distributor: str | None = None
    # (experiment, variant, exposed_at) for every exposure.
    exposures: tuple[tuple[str, str, float], ...] = ()


class Profiles(Protocol):
    """Looks customers up (the mall's database; tests pass a dict)."""

    def profile(self, customer_id: str) -> Profile:
        """The customer's segment, distributor card and experiment exposures."""
        ...


class NoProfiles:
    """No mall to ask: the breakdowns by segment, distributor and variant say `unknown`."""

    def profile(self, customer_id: str) -> Profile:
        """Nothing known."""
        return Profile()


def sessions(rows: Sequence[Any]) -> Iterable[list[Any]]:
    """A sender's events split at each session start."""
    current: list[Any] = []
    for row in rows:
        if row.type == "session_started" and current:
            yield current
            current = []
        current.append(row)
    if current:
        yield current


def conversation_fact(sender: str, rows: Sequence[Any], profile: Profile) -> dict[str, Any] | None:
    """The fact row of one session (None when the customer never wrote)."""
    users = [row for row in rows if row.type == "user" and not row.from_agent]
    if not users:
        return None
    first = users[0]
    answer = next(
        (row for row in rows if row.type == "bot" and row.timestamp >= first.timestamp), None
    )
    stage_rank = -1
    offered = issued = False
    handoff_at: float | None = None
    reason: str | None = None
    wait: float | None = None
    resolution: str | None = None
    for row in rows:
        if row.type == "action" and row.action_name == WELCOME_ACTION:
            stage_rank = max(stage_rank, 0)
        elif row.type == "slot" and row.slot_value is not None:
            if row.slot_name == "sales_stage" and row.slot_value == "price_quoted":
                stage_rank = max(stage_rank, 1)
            elif row.slot_name == "offered_coupon" or (
                row.slot_name == "sales_stage" and row.slot_value == "coupon_offered"
            ):
                stage_rank, offered = max(stage_rank, 2), True
            elif row.slot_name == "issued_coupon":
                stage_rank, issued = 3, True
            elif row.slot_name == "handoff_reason" and handoff_at is not None and reason is None:
                reason = row.slot_value
        elif row.type == "action" and row.action_name == HANDOFF_ACTION and handoff_at is None:
            handoff_at, resolution = row.timestamp, "open"
        elif row.type == "bot" and row.from_agent and handoff_at is not None and wait is None:
            wait = row.timestamp - handoff_at
        elif row.type == "resume" and handoff_at is not None:
            resolution = "handed_back"
    confidences = [row.confidence for row in users if row.confidence is not None]
    scores = [row.sentiment_score for row in users if row.sentiment_score is not None]
    started = rows[0].timestamp if rows[0].type == "session_started" else first.timestamp
    variants = sorted(
        f"{experiment}/{variant}"
        for experiment, variant, exposed_at in profile.exposures
        if exposed_at <= rows[-1].timestamp
    )
    return {
        "sender_id": sender,
        "started_at": started,
        "channel": first.channel or "unknown",
        "segment": profile.segment,
        "distributor": profile.distributor,
        "variants": ",".join(variants),
        "messages": len(users),
        "fallbacks": sum(1 for row in users if row.intent == "nlu_fallback"),
        "mean_confidence": sum(confidences) / len(confidences) if confidences else None,
        "min_sentiment": min(scores) if scores else None,
        "first_response_seconds": None if answer is None else answer.timestamp - first.timestamp,
        "stage": STAGES[stage_rank] if stage_rank >= 0 else None,
        "coupon_offered": offered or issued,
        "coupon_issued": issued,
        "handed_off": handoff_at is not None,
        "handoff_reason": reason,
        "handoff_wait_seconds": wait,
        "handoff_resolution": resolution,
    }


def conversation_facts(sender: str, rows: Sequence[Any], profile: Profile) -> list[dict[str, Any]]:
    """Every session's fact row of one sender."""
    facts = []
    for session in sessions(rows):
        fact = conversation_fact(sender, session, profile)
        if fact is not None:
            facts.append(fact)
    return facts
