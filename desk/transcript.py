"""A conversation as the agent reads it: the people-readable events, personal data masked.

Each line keeps the index of its event in the tracker as its id, which stays the same on
every read (events are only ever appended). A line whose personal data the agent chose to
reveal (recorded in the mall's audit first) is shown as the customer wrote it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from security.pii import contains_pii, mask_pii


@dataclass(frozen=True)
class Line:
    """One line of a transcript."""

    id: int
    who: str  # customer / bot / agent / system
    text: str
    at: datetime | None
    sentiment: float | None = None
    intent: str | None = None
    agent: str | None = None
    revealed: bool = False

    @property
    def maskable(self) -> bool:
        """Whether the line holds personal data the desk masks."""
        return contains_pii(self.text)

    @property
    def shown(self) -> str:
        """What the page shows: the words as written once revealed, else masked."""
        return self.text if self.revealed else mask_pii(self.text)

    @property
    def target(self) -> str:
        """How the audit names this line."""
        return f"line:{self.id}"


def _time(event: dict[str, Any]) -> datetime | None:
    stamp = event.get("timestamp")
    if isinstance(stamp, int | float):
        return datetime.fromtimestamp(stamp, tz=timezone.utc)
    return None


def lines_from_events(events: list[dict[str, Any]], revealed: Collection[str] = ()) -> list[Line]:
    """The people-readable part of a tracker's events."""
    lines: list[Line] = []
    for index, event in enumerate(events):
        kind = event.get("event")
        shown = f"line:{index}" in revealed
        if kind == "user":
            parse = event.get("parse_data") or {}
            sentiment = parse.get("sentiment") or {}
            score = sentiment.get("score") if isinstance(sentiment, dict) else None
            lines.append(
                Line(
                    id=index,
                    who="customer",
                    text=str(event.get("text") or ""),
                    at=_time(event),
                    sentiment=float(score) if isinstance(score, int | float) else None,
                    intent=(parse.get("intent") or {}).get("name"),
                    revealed=shown,
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
                Line(
                    id=index,
                    who="agent" if agent else "bot",
                    text=text,
                    at=_time(event),
                    agent=agent,
                    revealed=shown,
                )
            )
        elif kind == "pause":
            lines.append(
                Line(id=index, who="system", text="机器人已暂停，人工接待中", at=_time(event))
            )
        elif kind == "resume":
            lines.append(Line(id=index, who="system", text="已交还机器人", at=_time(event)))
    return lines
