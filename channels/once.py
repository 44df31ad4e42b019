"""A message handled once across Rasa replicas, and still handled when its replica dies.

A resend (WeChat's retries, the widget's) may land on another replica than the first
delivery. The first one claims the message's key in the shared store with a short lease and
renews it while it works; the key then keeps the outcome for a while. A resend that finds a
live lease leaves the message to its owner; one that finds the lease run out (the owner was
killed mid-turn) takes the message over, so the customer is still answered, and once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from dataclasses import dataclass, field

from channels.store import Store

logger = logging.getLogger(__name__)

# Short enough that a resend 5 s later finds a dead owner's lease gone (WeChat's retry comes
# 5 s after the first delivery and waits 4.5 s for its answer); renewed every second, so a
# live owner keeps it unless its event loop stalls for 3 s.
LEASE_SECONDS = 4
RENEW_SECONDS = 1.0
PENDING = "pending:"


def owner_token() -> str:
    """Who holds a claim: host and process (readable in Redis when debugging), made unique."""
    return f"{PENDING}{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class State:
    """What the store says about a message: nobody's, being handled, or handled (`outcome`)."""

    free: bool = False
    pending: bool = False
    outcome: str | None = None


@dataclass
class Claim:
    """This process handles the message; the lease is renewed until `finish`."""

    store: Store
    key: str
    token: str = field(default_factory=owner_token)
    lost: bool = False
    _renewing: asyncio.Task[None] | None = None

    def hold(self) -> None:
        """Renew the lease in the background until `finish` (or until another owner took it)."""
        if self._renewing is None:
            self._renewing = asyncio.ensure_future(self._renew())

    async def finish(self, outcome: str, ttl: int) -> bool:
        """Record the outcome; False when the lease was lost and another process took over."""
        await self._stop()
        kept = await self.store.replace(self.key, self.token, outcome, ttl)
        self.lost = not kept
        if not kept:
            logger.warning("%s was taken over by another process; leaving it to that one", self.key)
        return kept

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(RENEW_SECONDS)
            if not await self.store.replace(self.key, self.token, self.token, LEASE_SECONDS):
                self.lost = True
                return

    async def _stop(self) -> None:
        task, self._renewing = self._renewing, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class Once:
    """Claims on message keys in a store shared by every replica."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def claim(self, key: str) -> Claim | None:
        """The claim on `key` when nobody holds it (its lease renewed from now on), else None."""
        claim = Claim(self.store, key)
        if not await self.store.claim(key, claim.token, LEASE_SECONDS):
            return None
        claim.hold()
        return claim

    async def state(self, key: str) -> State:
        """Whether `key` is free, being handled, or handled with which outcome."""
        value = await self.store.get(key)
        if value is None:
            return State(free=True)
        if value.startswith(PENDING):
            return State(pending=True)
        return State(outcome=value)
