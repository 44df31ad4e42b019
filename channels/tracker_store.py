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

Reading and saving run in worker threads, not on the Rasa server's event loop: Rasa's store
queries the database synchronously inside its coroutines, so every other conversation
waited while one turn's rows were read or synced to disk. Saving also hands the new events
to the event broker itself (the events it stores, in one batch when the broker takes one:
channels/event_broker.py) instead of Rasa's second read of the whole tracker to find them.
SQLite is opened in write-ahead-log mode behind a kept pool of connections.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import itertools
import json
import threading
import time
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

from channels.event_broker import pooled_sqlite_engine

# Set on the trackers `retrieve` builds from a window: (id of the last event before the
# window, how many state events precede the window's events).
WINDOW_ATTRIBUTE = "mall_window"
# Set on the trackers this store reads and saves: how many of their events (from the first)
# are stored, so a save knows the new ones without counting the conversation's rows.
STORED_ATTRIBUTE = "mall_stored_events"
# How long after `retrieve` found nothing stored for a conversation the next save of an
# unmarked tracker of it counts as the conversation's first (Rasa's create_tracker).
UNSTORED_SECONDS = 60.0


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
        self.engine: Any = pooled_sqlite_engine(self.engine)
        self.sessionmaker = sqlalchemy.orm.session.sessionmaker(bind=self.engine)
        if window_turns < 1:
            raise ValueError("window_turns must be at least 1")
        self.window_turns = int(window_turns)
        self.remembered_conversations = int(remembered_conversations)
        self._windows: OrderedDict[str, Window] = OrderedDict()
        # Conversations `retrieve` found nothing stored for, and when (time.monotonic()).
        self._unstored: OrderedDict[str, float] = OrderedDict()
        self._windows_lock = threading.Lock()

    # ---- reading ----

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The current session's latest turns, with the state before them."""
        return await asyncio.to_thread(self._retrieve_latest, sender_id)

    async def retrieve_full_tracker(self, conversation_id: str) -> DialogueStateTracker | None:
        """Every stored event of the conversation, across its sessions."""
        return await asyncio.to_thread(self._retrieve_stored, conversation_id, True)

    def _retrieve_latest(self, sender_id: str) -> DialogueStateTracker | None:
        with self._windows_lock:
            window = self._windows.get(sender_id)
            if window is not None:
                self._windows.move_to_end(sender_id)
        if window is not None:
            tracker = self._retrieve_window(sender_id, window)
            if tracker is not None:
                return tracker
            with self._windows_lock:
                self._windows.pop(sender_id, None)
        tracker = self._retrieve_stored(sender_id, False)
        if tracker is None:
            with self._windows_lock:
                self._unstored[sender_id] = time.monotonic()
                self._unstored.move_to_end(sender_id)
                while len(self._unstored) > self.remembered_conversations:
                    self._unstored.popitem(last=False)
        return tracker

    def _retrieve_stored(self, sender_id: str, all_sessions: bool) -> DialogueStateTracker | None:
        """As `SQLTrackerStore._retrieve`: the session's (or every) stored event."""
        with self.session_scope() as session:
            rows = self._event_query(
                session, sender_id, fetch_events_from_all_sessions=all_sessions
            ).all()
        if not self.domain or not rows:
            return None
        events = _deserialise(row.data for row in rows)
        tracker = DialogueStateTracker.from_events(sender_id, events, self.domain.slots)
        if not all_sessions:
            setattr(tracker, STORED_ATTRIBUTE, len(events))
        return tracker

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
        setattr(tracker, STORED_ATTRIBUTE, len(events))
        return tracker

    # ---- writing ----

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator:
        """The tracker's events that are not stored yet.

        A tracker this store read or saved says how many of its events are stored. One
        saved just after `retrieve` found nothing stored for its conversation is the one
        Rasa creates then (`get_or_create_tracker`, whose `create_tracker` Rasa's wrapping
        stores, FailSafeTrackerStore around AwaitableTrackerStore, take from the base
        class, not from this store): all of its events are new. Any other (one built from
        a request, say) is counted against the table, as `SQLTrackerStore` does on every
        save.
        """
        stored_events = getattr(tracker, STORED_ATTRIBUTE, None)
        with self._windows_lock:
            found_empty_at = self._unstored.pop(tracker.sender_id, None)
        just_found_empty = (
            found_empty_at is not None and time.monotonic() - found_empty_at < UNSTORED_SECONDS
        )
        if stored_events is None and just_found_empty:
            stored_events = 0
        if stored_events is None:
            return super()._additional_events(session, tracker)
        return itertools.islice(tracker.events, stored_events, len(tracker.events))

    async def create_tracker(
        self, sender_id: str, append_action_listen: bool = True
    ) -> DialogueStateTracker:
        """A new conversation's tracker, as Rasa's `create_tracker` makes and saves it.

        Rasa creates one only when `retrieve` found nothing stored for `sender_id`, so all
        of its events are new: the tracker says so, and its first save does not count the
        conversation's rows.
        """
        tracker = self.init_tracker(sender_id)
        setattr(tracker, STORED_ATTRIBUTE, 0)
        if append_action_listen:
            tracker.update(ActionExecuted(ACTION_LISTEN_NAME))
        await self.save(tracker)
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the new events, stream them, then move the window on when it has grown."""
        await asyncio.to_thread(self._save, tracker)

    def _save(self, tracker: DialogueStateTracker) -> None:
        with self.session_scope() as session:
            events = [event.as_dict() for event in self._additional_events(session, tracker)]
            rows = [
                {
                    "sender_id": tracker.sender_id,
                    "type_name": data.get("event"),
                    "timestamp": data.get("timestamp"),
                    "intent_name": data.get("parse_data", {}).get("intent", {}).get("name"),
                    "action_name": data.get("name"),
                    "data": json.dumps(data),
                }
                for data in events
            ]
            if rows:
                # One multi-row insert, in order (the ids keep the events' order), without
                # the ORM's unit of work: the rows are written, never read back as objects.
                session.execute(self.SQLEvent.__table__.insert(), rows)
            session.commit()
        setattr(tracker, STORED_ATTRIBUTE, len(tracker.events))
        self._publish(tracker.sender_id, events)
        self._move_window(tracker)

    def _publish(self, sender_id: str, events: list[dict[str, Any]]) -> None:
        """The stored events (as dicts) to the event broker, as Rasa's `stream_events`."""
        if self.event_broker is None or not events:
            return
        bodies = [{"sender_id": sender_id, **data} for data in events]
        publish_many = getattr(self.event_broker, "publish_many", None)
        if publish_many is not None:
            publish_many(bodies)
            return
        for body in bodies:
            self.event_broker.publish(body)

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
        moved = Window(
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
        with self._windows_lock:
            self._windows[tracker.sender_id] = moved
            self._windows.move_to_end(tracker.sender_id)
            while len(self._windows) > self.remembered_conversations:
                self._windows.popitem(last=False)


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
