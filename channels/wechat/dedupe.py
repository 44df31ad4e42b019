"""Each push handled once, across WeChat's retries and across server processes."""

from __future__ import annotations

import hashlib

from channels.once import Claim, Once, State
from channels.store import Store

# WeChat retries three times within about 15 s; a minute more covers slow networks.
SEEN_TTL = 300
_DONE = "done"
_REPLY = "reply:"


class Deduplicator:
    """Claims pushes by key, and keeps the passive reply so that a retry gets it again."""

    def __init__(self, store: Store, namespace: str) -> None:
        self._store = store
        self._once = Once(store)
        self._namespace = namespace

    async def claim(self, key: str) -> Claim | None:
        """The claim on a push nobody is handling (first delivery, or its handler died)."""
        return await self._once.claim(self._key("seen", key))

    async def state(self, key: str) -> State:
        """Whether a push is unhandled, being handled, or answered."""
        return await self._once.state(self._key("seen", key))

    @staticmethod
    async def answered_passively(claim: Claim, body: str) -> bool:
        """Keep the passive reply (a retry gets it again); False when another took over."""
        return await claim.finish(_REPLY + body, SEEN_TTL)

    @staticmethod
    async def answered(claim: Claim) -> bool:
        """The push is answered (or acknowledged) otherwise; False when another took over."""
        return await claim.finish(_DONE, SEEN_TTL)

    @staticmethod
    def reply_in(state: State) -> str | None:
        """The passive reply given to the first delivery, if it was answered passively."""
        if state.outcome is None or not state.outcome.startswith(_REPLY):
            return None
        return state.outcome[len(_REPLY) :]

    async def same_body(self, signature: str, body: bytes, window: int) -> bool:
        """False when a signature seen before comes back with a different body.

        In plain mode the signature covers only token, timestamp and nonce, not the body, so
        a captured query string must not carry someone else's message.
        """
        digest = hashlib.sha256(body).hexdigest()
        key = self._key("signature", signature)
        if await self._store.claim(key, digest, window):
            return True
        return await self._store.get(key) in (digest, None)

    def _key(self, kind: str, key: str) -> str:
        return f"{self._namespace}:{kind}:{key}"
