"""The console's link to the Rasa server: read a conversation, speak in it, hand it back.

Transcripts come from Rasa's HTTP API (the tracker store keeps every message, including
the ones a customer sends while a person has the conversation). Agent lines, the pause on
claim and the hand-back go through the handoff bridge channel (channels/handoff.py), which
writes them into the tracker and pushes them through the customer's channel.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

import requests

from mall.handoff_settings import HandoffSettings

logger = logging.getLogger(__name__)

TIMEOUT = (2.0, 8.0)


class BridgeError(Exception):
    """Rasa could not be reached or refused the request."""


@dataclass(frozen=True)
class Line:
    """One line of a transcript."""

    who: str  # customer / bot / agent / system
    text: str
    at: datetime | None
    sentiment: float | None = None
    intent: str | None = None
    agent: str | None = None


class RasaBridge:
    """HTTP calls from the console to the Rasa server."""

    def __init__(self, settings: HandoffSettings, session: requests.Session | None = None) -> None:
        self.settings = settings
        self.http = session or requests.Session()

    def transcript(self, sender_id: str) -> list[Line]:
        """The conversation so far, oldest first."""
        url = f"{self.settings.rasa_url}/conversations/{quote(sender_id, safe='')}/tracker"
        try:
            answer = self.http.get(
                url,
                params={"include_events": "ALL", "token": self.settings.rasa_api_token},
                timeout=TIMEOUT,
            )
        except requests.RequestException as exc:
            raise BridgeError(f"Rasa is not reachable: {exc}") from exc
        if answer.status_code != 200:
            raise BridgeError(f"Rasa answered {answer.status_code} for the transcript")
        return lines_from_events(answer.json().get("events") or [])

    def _post(self, action: str, body: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.settings.rasa_url}/webhooks/handoff/{action}"
        try:
            answer = self.http.post(
                url,
                json=body,
                headers={"Authorization": f"Bearer {self.settings.bridge_token}"},
                timeout=TIMEOUT,
            )
        except requests.RequestException as exc:
            raise BridgeError(f"Rasa is not reachable: {exc}") from exc
        if answer.status_code != 200:
            raise BridgeError(f"Rasa refused {action}: {answer.status_code} {answer.text[:200]}")
        result: dict[str, Any] = answer.json()
        return result

    def claimed(self, sender_id: str, agent: str) -> dict[str, Any]:
        """Pause the bot (if it is not already) and greet the customer as the agent."""
        return self._post("claim", {"sender_id": sender_id, "agent": agent})

    def reply(self, sender_id: str, agent: str, text: str) -> dict[str, Any]:
        """Say `text` to the customer as the agent."""
        return self._post("reply", {"sender_id": sender_id, "agent": agent, "text": text})

    def closed(self, sender_id: str, agent: str) -> dict[str, Any]:
        """Hand the conversation back to the bot with a short line."""
        return self._post("close", {"sender_id": sender_id, "agent": agent})


def _time(event: dict[str, Any]) -> datetime | None:
    stamp = event.get("timestamp")
    if isinstance(stamp, int | float):
        return datetime.fromtimestamp(stamp, tz=timezone.utc)
    return None


def lines_from_events(events: list[dict[str, Any]]) -> list[Line]:
    """The people-readable part of a tracker's events."""
    lines: list[Line] = []
    for event in events:
        kind = event.get("event")
        if kind == "user":
            parse = event.get("parse_data") or {}
            sentiment = parse.get("sentiment") or {}
            score = sentiment.get("score") if isinstance(sentiment, dict) else None
            lines.append(
                Line(
                    who="customer",
                    text=str(event.get("text") or ""),
                    at=_time(event),
                    sentiment=float(score) if isinstance(score, int | float) else None,
                    intent=(parse.get("intent") or {}).get("name"),
                )
            )
        elif kind == "bot":
            metadata = event.get("metadata") or {}
            agent = metadata.get("agent") if isinstance(metadata, dict) else None
            text = str(event.get("text") or "")
            buttons = (event.get("data") or {}).get("buttons") or []
            if buttons:
                text += "  [" + " | ".join(str(b.get("title", "")) for b in buttons) + "]"
            lines.append(
                Line(who="agent" if agent else "bot", text=text, at=_time(event), agent=agent)
            )
        elif kind == "pause":
            lines.append(Line(who="system", text="机器人已暂停，人工接待中", at=_time(event)))
        elif kind == "resume":
            lines.append(Line(who="system", text="已交还机器人", at=_time(event)))
    return lines
