"""Customer messages worked on a few at a time, the others waiting in order of arrival.

The Rasa server runs every message's NLU and policies on its one event loop and lets other
messages in at each wait (the tracker store, the action server). With ten customers typing
at once, each turn is cut into pieces shared out among all ten: every turn takes about ten
turns' time and a long turn ten long ones, so a busy server's slowest replies are much
slower than its typical ones. `TurnGate` lets CONCURRENT_TURNS messages in at once (enough
to keep the loop busy while one waits on the action server) and queues the rest first come,
first served: the server does the same work, but a reply waits for the turns ahead of it
instead of for everyone's, and the slowest replies come closer to the typical ones.

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


class TurnGate:
    """At most `limit` turns at once per event loop (0: no limit); the rest wait in order."""

    def __init__(self, limit: int) -> None:
        if limit < 0:
            raise ValueError("the number of concurrent turns cannot be negative")
        self.limit = limit
        self._semaphores: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        semaphore = self._semaphores.get(loop)
        if semaphore is None:
            # Loops of finished asyncio.run() calls (tests, scripts) are dropped.
            self._semaphores = {
                known: kept for known, kept in self._semaphores.items() if not known.is_closed()
            }
            semaphore = self._semaphores[loop] = asyncio.Semaphore(self.limit)
        return semaphore

    async def run(self, turn: Any) -> Any:
        """Await the coroutine `turn` when its place in the queue comes."""
        if not self.limit:
            return await turn
        semaphore = self._semaphore()
        TURNS_WAITING.inc()
        try:
            await semaphore.acquire()
        except BaseException:
            turn.close()
            raise
        finally:
            TURNS_WAITING.dec()
        try:
            return await turn
        finally:
            semaphore.release()


def install(limit: int) -> None:
    """Put `Agent.handle_message` behind a gate of `limit` turns (once per process)."""
    installed: TurnGate | None = getattr(Agent.handle_message, _GATED, None)
    if installed is not None:
        installed.limit = limit
        installed._semaphores.clear()
        return
    gate = TurnGate(limit)
    handle = Agent.handle_message

    @functools.wraps(handle)
    async def handle_message(self: Agent, message: UserMessage) -> Any:
        return await gate.run(handle(self, message))

    setattr(handle_message, _GATED, gate)
    Agent.handle_message = handle_message
