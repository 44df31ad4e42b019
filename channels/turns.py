"""Customer messages worked on a few at a time, the others waiting in order of arrival.

The Rasa server runs every message's NLU and policies on its one event loop and lets other
messages in at each wait (the tracker store, the action server). With ten customers typing
at once, each turn is cut into pieces shared out among all ten: every turn takes about ten
turns' time and a long turn ten long ones, so a busy server's slowest replies are much
slower than its typical ones. `TurnGate` lets CONCURRENT_TURNS messages in at once (enough
to keep the loop busy while one waits on the action server) and queues the rest first come,
first served: the server does the same work, but a reply waits for the turns ahead of it
instead of for everyone's, and the slowest replies come closer to the typical ones.

A conversation's messages queue for a place one at a time: a customer who sends a burst holds
one place, not all of them (Rasa's conversation lock would keep the rest of the burst waiting
inside their places, and everyone else outside).

The gate wraps `Agent.handle_message`, which every channel's message goes through (a
conversation's own lock is taken inside it, so a queued message holds no lock), once per
process: importing the `channels` package installs it, before the metrics wrap the same
method (monitoring/rasa_server.py), so the turn time they report includes the wait. The
number of messages waiting is the gauge `assistant_turns_waiting`.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from rasa.core.agent import Agent
from rasa.core.channels.channel import UserMessage

from monitoring.metrics import TURNS_WAITING

_GATED = "_mall_assistant_turn_gate"


class _Conversation:
    """A conversation's messages in this process, one at a time, in order of arrival."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.messages = 0


class _LoopState:
    """The places and the conversations queued on one event loop."""

    def __init__(self, limit: int) -> None:
        self.places = asyncio.Semaphore(limit)
        self.conversations: dict[str, _Conversation] = {}


class TurnGate:
    """At most `limit` turns at once per event loop (0: no limit); the rest wait in order.

    A conversation's next message waits for its previous one before it queues for a place
    (Rasa would make it wait for the conversation's lock anyway): a customer who sends ten
    messages at once holds one place, not all of them, and the others' turns go on.
    """

    def __init__(self, limit: int) -> None:
        self._loops: dict[asyncio.AbstractEventLoop, _LoopState] = {}
        self.reset(limit)

    def _state(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        state = self._loops.get(loop)
        if state is None:
            # Loops of finished asyncio.run() calls (tests, scripts) are dropped.
            self._loops = {
                known: kept for known, kept in self._loops.items() if not known.is_closed()
            }
            state = self._loops[loop] = _LoopState(self.limit)
        return state

    def reset(self, limit: int) -> None:
        """A new limit, for the turns that arrive from now on."""
        if limit < 0:
            raise ValueError("the number of concurrent turns cannot be negative")
        self.limit = limit
        self._loops.clear()

    async def run(self, turn: Any, conversation: str | None = None) -> Any:
        """Await the coroutine `turn` when its place in the queue comes."""
        if not self.limit:
            return await turn
        state = self._state()
        if conversation is None:
            return await self._in_place(state, turn)
        queued = state.conversations.get(conversation)
        if queued is None:
            queued = state.conversations[conversation] = _Conversation()
        queued.messages += 1
        try:
            await _wait_for(queued.lock.acquire(), turn)
            try:
                return await self._in_place(state, turn)
            finally:
                queued.lock.release()
        finally:
            queued.messages -= 1
            if not queued.messages:
                state.conversations.pop(conversation, None)

    async def _in_place(self, state: _LoopState, turn: Any) -> Any:
        await _wait_for(state.places.acquire(), turn)
        try:
            return await turn
        finally:
            state.places.release()


async def _wait_for(acquire: Any, turn: Any) -> None:
    """Await `acquire`, counted as waiting; a turn that never gets there is closed unrun."""
    TURNS_WAITING.inc()
    try:
        await acquire
    except BaseException:
        turn.close()
        raise
    finally:
        TURNS_WAITING.dec()


def install(limit: int) -> None:
    """Put `Agent.handle_message` behind a gate of `limit` turns (once per process)."""
    installed: TurnGate | None = getattr(Agent.handle_message, _GATED, None)
    if installed is not None:
        installed.reset(limit)
        return
    gate = TurnGate(limit)
    handle = Agent.handle_message

    @functools.wraps(handle)
    async def handle_message(self: Agent, message: UserMessage) -> Any:
        return await gate.run(handle(self, message), message.sender_id)

    setattr(handle_message, _GATED, gate)
    Agent.handle_message = handle_message
