"""Wake a widget's waiting history request when its conversation gets a new message."""

from __future__ import annotations

import asyncio
from collections import defaultdict


class Notifier:
    """Per-conversation wake-ups for long-polling history requests (one process).

    Subscribe before reading the tracker and wait after: a message that lands in between
    still sets the event, so no wake-up is lost.
    """

    def __init__(self) -> None:
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)

    def subscribe(self, sender_id: str) -> asyncio.Event:
        """An event that the next notify for `sender_id` sets."""
        waiter = asyncio.Event()
        self._waiters[sender_id].add(waiter)
        return waiter

    def unsubscribe(self, sender_id: str, waiter: asyncio.Event) -> None:
        """Stop waking `waiter`."""
        waiters = self._waiters.get(sender_id)
        if waiters is None:
            return
        waiters.discard(waiter)
        if not waiters:
            del self._waiters[sender_id]

    def notify(self, sender_id: str) -> None:
        """Wake every request waiting on `sender_id`."""
        for waiter in self._waiters.get(sender_id, ()):
            waiter.set()

    def waiting(self, sender_id: str) -> int:
        """How many requests wait on `sender_id` right now."""
        return len(self._waiters.get(sender_id, ()))
