"""Rasa's SQL tracker store, handing Rasa the latest turns of a long conversation only.

Rasa rebuilds the tracker from every event of the current session on each message, replays
it for every policy and sends it whole to the action server, so a turn late in a long
session costs several times one early on. `WindowedSQLTrackerStore` stores every event in
the same table, the same way as `SQLTrackerStore` (so transcripts, `retrieve_full_tracker`,
the HTTP API, erasure and `rasa export` see the whole conversation), but `retrieve` returns
only the events since a recent turn boundary, preceded by the state the conversation had
there: one `SlotSet` per slot off its initial value (and the pause, an active loop), the
way Rasa carries slots into a new session. The policies look back four turns (memoization)
or a rule's length, the actions a handful of lines; the window keeps `window_turns` to twice
that many customer turns.

Where a window starts is kept per conversation in this process (it is a fact about stored
history, so it never goes stale; a conversation this process has not seen yet, or whose
events were erased, is read whole once, as by `SQLTrackerStore`).
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    ConversationPaused,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import (
    DialogueStateTracker,
    get_trackers_for_conversation_sessions,
)
from rasa.shared.utils.common import all_subclasses

# Set on the trackers `retrieve` builds from a window: (id of the last event before the
# window, how many state events precede the window's events).
WINDOW_ATTRIBUTE = "mall_window"


@dataclass(frozen=True)
class Window:
    """Where a conversation's window starts and the state the conversation had there."""

    anchor_id: int  # the stored event just before the window
    slots: tuple[tuple[str, Any], ...]
    paused: bool
    active_loop: str | None
    timestamp: float | None

    def state_events(self) -> list[Event]:
        """The events that put a fresh tracker into this state."""
        events: list[Event] = [
            SlotSet(name, copy.deepcopy(value), timestamp=self.timestamp)
            for name, value in self.slots
        ]
        if self.active_loop:
            events.append(ActiveLoop(self.active_loop, timestamp=self.timestamp))
        if self.paused:
            events.append(ConversationPaused(timestamp=self.timestamp))
        return events


class WindowedSQLTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` whose `retrieve` gives the latest customer turns of the session."""

    def __init__(
        self,
        *args: Any,
        window_turns: int = 10,
        remembered_conversations: int = 10_000,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite":
            _write_ahead_log(self.engine)
        if window_turns < 1:
            raise ValueError("window_turns must be at least 1")
        self.window_turns = int(window_turns)
        self.remembered_conversations = int(remembered_conversations)
        self._windows: OrderedDict[str, Window] = OrderedDict()

    # ---- reading ----

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The current session's latest turns, with the state before them."""
        window = self._windows.get(sender_id)
        if window is not None:
            self._windows.move_to_end(sender_id)
            tracker = self._retrieve_window(sender_id, window)
            if tracker is not None:
                return tracker
            self._windows.pop(sender_id, None)
        return await super().retrieve(sender_id)

    def _retrieve_window(self, sender_id: str, window: Window) -> DialogueStateTracker | None:
        """The tracker from `window`, or None when the stored history no longer fits it."""
        with self.session_scope() as session:
            rows = (
                session.query(self.SQLEvent.id, self.SQLEvent.type_name, self.SQLEvent.data)
                .filter(
                    self.SQLEvent.sender_id == sender_id,
                    self.SQLEvent.id >= window.anchor_id,
                )
                .order_by(self.SQLEvent.id)
                .all()
            )
        # The anchor is gone (the conversation was erased) or a new session began: read
        # the session the way SQLTrackerStore does.
        if not rows or rows[0].id != window.anchor_id:
            return None
        if any(row.type_name == SessionStarted.type_name for row in rows[1:]):
            return None
        state = window.state_events()
        events = [*state, *_deserialise(row.data for row in rows[1:])]
        tracker = DialogueStateTracker.from_events(sender_id, events, self.domain.slots)
        setattr(tracker, WINDOW_ATTRIBUTE, (window.anchor_id, len(state)))
        return tracker

    # ---- writing ----

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator:
        """The tracker's events that are not stored yet."""
        window = getattr(tracker, WINDOW_ATTRIBUTE, None)
        if window is None:
            return super()._additional_events(session, tracker)
        anchor_id, state_events = window
        stored = (
            session.query(self.SQLEvent.id)
            .filter(self.SQLEvent.sender_id == tracker.sender_id, self.SQLEvent.id > anchor_id)
            .count()
        )
        return itertools.islice(tracker.events, state_events + stored, len(tracker.events))

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the new events, then move the window on when it has grown too long."""
        await super().save(tracker)
        self._move_window(tracker)

    def _move_window(self, tracker: DialogueStateTracker) -> None:
        events = list(tracker.events)
        window = getattr(tracker, WINDOW_ATTRIBUTE, None)
        first = window[1] if window is not None else 0
        turns = [i for i in range(first, len(events)) if isinstance(events[i], UserUttered)]
        if len(turns) <= 2 * self.window_turns:
            return
        cut = turns[-self.window_turns]
        previous = events[cut - 1]
        if isinstance(previous, ActionExecuted) and previous.action_name == ACTION_LISTEN_NAME:
            cut -= 1  # start the window where the turn starts, as a session does
        with self.session_scope() as session:
            query = session.query(self.SQLEvent.id)
            if window is not None:
                query = query.filter(
                    self.SQLEvent.sender_id == tracker.sender_id,
                    self.SQLEvent.id > window[0],
                ).order_by(self.SQLEvent.id)
            else:
                query = self._event_query(
                    session, tracker.sender_id, fetch_events_from_all_sessions=False
                ).with_entities(self.SQLEvent.id)
            ids = [row.id for row in query.all()]
        if len(ids) != len(events) - first:
            return  # not the history this tracker was built from: leave it be
        before = DialogueStateTracker.from_events(
            tracker.sender_id, events[:cut], self.domain.slots
        )
        self._windows[tracker.sender_id] = Window(
            anchor_id=ids[cut - 1 - first],
            slots=tuple(
                (name, copy.deepcopy(slot.value))
                for name, slot in before.slots.items()
                if slot.value != slot.initial_value
            ),
            paused=before.is_paused(),
            active_loop=before.active_loop_name,
            timestamp=events[cut - 1].timestamp,
        )
        self._windows.move_to_end(tracker.sender_id)
        while len(self._windows) > self.remembered_conversations:
            self._windows.popitem(last=False)


def _write_ahead_log(engine: Any) -> None:
    """SQLite in write-ahead-log mode, as the mall's database (mall/db.py).

    Rasa opens SQLite with a rollback journal that syncs the disk several times per commit:
    saving a turn then cost more than parsing the message. With the log, a commit appends
    and syncs at checkpoints; a crash of the process loses nothing committed, a power cut
    at most the latest turns.
    """

    @sqlalchemy.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    engine.dispose()  # the connections Rasa opened before the hook


@functools.lru_cache(maxsize=1)
def _event_classes() -> dict[str, type[Event]]:
    """Rasa's event classes by type name, the first one `Event.resolve_by_type` would pick."""
    classes: dict[str, type[Event]] = {}
    for cls in all_subclasses(Event):
        classes.setdefault(cls.type_name, cls)
    return classes


def _deserialise(rows: Iterator[str] | Any) -> list[Event]:
    """Events from their stored JSON, as `DialogueStateTracker.from_dict` reads them.

    Rasa's `Event.from_parameters` walks the whole tree of event classes for every event
    (about a quarter of a millisecond each, a tenth of a turn for a window of 100 events);
    the classes are looked up by name here instead, names not found going Rasa's way.
    """
    classes = _event_classes()
    events: list[Event] = []
    for data in rows:
        parameters = json.loads(data)
        cls = classes.get(parameters.get("event"))
        event = (
            cls._from_parameters(parameters)
            if cls is not None
            else Event.from_parameters(parameters)
        )
        if event is not None:
            events.append(event)
    return events


async def retrieve_since(tracker_store: Any, sender_id: str, since: float) -> Any:
    """The current session with at least every event after `since` (for showing history).

    A window that starts later (a reopened chat widget asking for the whole session) is
    replaced by the session read whole, from `retrieve_full_tracker`.
    """
    tracker = await tracker_store.retrieve(sender_id)
    window = getattr(tracker, WINDOW_ATTRIBUTE, None)
    if window is None:
        return tracker
    events = list(tracker.events)[window[1] :]
    if events and (events[0].timestamp or 0.0) <= since:
        return tracker
    full = await tracker_store.retrieve_full_tracker(sender_id)
    if full is None:
        return tracker
    return get_trackers_for_conversation_sessions(full)[-1]
