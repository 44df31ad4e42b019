"""Each push handled once, across WeChat's retries and across server processes."""

from __future__ import annotations

import hashlib

from channels.wechat.store import Store

# WeChat retries three times within about 15 s; a minute more covers slow networks.
SEEN_TTL = 300
_PENDING = "pending"
_REPLY = "reply:"


class Deduplicator:
    """Claims pushes by key, and keeps the passive reply so that a retry gets it again."""

    def __init__(self, store: Store, namespace: str) -> None:
        self._store = store
        self._namespace = namespace

    async def first_time(self, key: str) -> bool:
        """True for the first delivery of a push; False for retries and duplicates."""
        return await self._store.claim(self._key("seen", key), _PENDING, SEEN_TTL)

    async def remember_reply(self, key: str, body: str) -> None:
        """Keep the passive reply: WeChat retries only when our answer did not reach it."""
        await self._store.put(self._key("seen", key), _REPLY + body, SEEN_TTL)

    async def reply_for(self, key: str) -> str | None:
        """The passive reply given to the first delivery, if it was answered passively."""
        value = await self._store.get(self._key("seen", key))
        if value is None or not value.startswith(_REPLY):
            return None
        return value[len(_REPLY) :]

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
