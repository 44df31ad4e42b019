"""Short-lived state the channels share: Redis when configured (several processes), else this one.

The WeChat channel keeps its deduplication, menu choices and access token here, the web
channel its duplicate-message check; with several Rasa replicas both need Redis, or a message
resent to another replica is answered twice.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from typing import Protocol

import redis.asyncio as aioredis  # type: ignore[import-untyped]
from redis.exceptions import RedisError  # type: ignore[import-untyped]

logger = logging.getLogger(__name__)


class Store(Protocol):
    """Keys with a time to live; `claim` sets a key only if nobody holds it."""

    async def claim(self, key: str, value: str, ttl: int) -> bool:
        """Set `key` unless it exists; True when this caller got it."""

    async def get(self, key: str) -> str | None:
        """The value of `key`, or None when missing or expired."""

    async def put(self, key: str, value: str, ttl: int) -> None:
        """Set `key`, replacing any value."""

    async def delete(self, key: str) -> None:
        """Forget `key`."""

    async def replace(self, key: str, expected: str, value: str, ttl: int) -> bool:
        """Set `key` to `value` only while it still holds `expected`; True when it did."""


class MemoryStore:
    """One process's store, bounded so that a flood of pushes cannot exhaust memory."""

    def __init__(self, max_entries: int = 20_000) -> None:
        self._entries: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._max_entries = max_entries

    async def claim(self, key: str, value: str, ttl: int) -> bool:
        """Set `key` unless it exists; True when this caller got it."""
        if await self.get(key) is not None:
            return False
        await self.put(key, value, ttl)
        return True

    async def get(self, key: str) -> str | None:
        """The value of `key`, or None when missing or expired."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires <= time.monotonic():
            del self._entries[key]
            return None
        return value

    async def put(self, key: str, value: str, ttl: int) -> None:
        """Set `key`, replacing any value."""
        self._entries[key] = (time.monotonic() + ttl, value)
        self._entries.move_to_end(key)
        self._evict()

    async def delete(self, key: str) -> None:
        """Forget `key`."""
        self._entries.pop(key, None)

    async def replace(self, key: str, expected: str, value: str, ttl: int) -> bool:
        """Set `key` to `value` only while it still holds `expected`; True when it did."""
        if await self.get(key) != expected:
            return False
        await self.put(key, value, ttl)
        return True

    def _evict(self) -> None:
        now = time.monotonic()
        while self._entries:
            oldest_key, (expires, _) = next(iter(self._entries.items()))
            if expires > now and len(self._entries) <= self._max_entries:
                break
            del self._entries[oldest_key]


# Compare and set in one step: another process may have taken the key in between.
_REPLACE_IF = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    redis.call('set', KEYS[1], ARGV[2], 'EX', ARGV[3])
    return 1
end
return 0
"""


class RedisStore:
    """A store shared by every process that uses the same Redis (SET NX EX for claims).

    When Redis is unreachable it fails open: a message answered twice is better than a
    customer left without any answer.
    """

    def __init__(self, url: str) -> None:
        # Connections are made on first use, inside the server's event loop.
        self._redis = aioredis.from_url(url, decode_responses=True, socket_timeout=2.0)

    async def claim(self, key: str, value: str, ttl: int) -> bool:
        """Set `key` unless it exists; True when this caller got it (or Redis is down)."""
        try:
            return bool(await self._redis.set(key, value, nx=True, ex=ttl))
        except RedisError as exc:
            logger.warning("Redis unavailable, handling %s without dedupe: %s", key, exc)
            return True

    async def get(self, key: str) -> str | None:
        """The value of `key`, or None when missing, expired or Redis is down."""
        try:
            value = await self._redis.get(key)
        except RedisError as exc:
            logger.warning("Redis unavailable, %s unknown: %s", key, exc)
            return None
        return None if value is None else str(value)

    async def put(self, key: str, value: str, ttl: int) -> None:
        """Set `key`, replacing any value."""
        try:
            await self._redis.set(key, value, ex=ttl)
        except RedisError as exc:
            logger.warning("Redis unavailable, %s not kept: %s", key, exc)

    async def delete(self, key: str) -> None:
        """Forget `key`."""
        try:
            await self._redis.delete(key)
        except RedisError as exc:
            logger.warning("Redis unavailable, %s not forgotten: %s", key, exc)

    async def replace(self, key: str, expected: str, value: str, ttl: int) -> bool:
        """Set `key` to `value` only while it holds `expected` (True too when Redis is down)."""
        try:
            return bool(await self._redis.eval(_REPLACE_IF, 1, key, expected, value, ttl))
        except RedisError as exc:
            logger.warning("Redis unavailable, %s replaced blindly: %s", key, exc)
            return True

    async def close(self) -> None:
        """Close the connections."""
        await self._redis.close()


def open_store(redis_url: str | None) -> Store:
    """Redis when a URL is configured, else an in-process store."""
    if redis_url:
        return RedisStore(redis_url)
    return MemoryStore()
