"""A Redis cache for the mall's hot reads (products, profiles): 5 minutes, dropped on change.

Every action server shares it, so a product read by one is a hit for the others. The mall
announces changes on pub/sub (mall/changes.py); each action server's listener drops the
stale entry. A cache that fails is a miss: the mall answers, and the customer never waits on
Redis for more than its short timeouts.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

logger = logging.getLogger(__name__)

CHANGES_CHANNEL = "mall-assistant:mall-changes"  # as mall/changes.py publishes
KINDS = frozenset({"product", "profile"})


class ReadCache:
    """get / put / drop of JSON objects by (kind, id), with a TTL."""

    def __init__(
        self,
        client: Any,
        *,
        ttl: int = 300,
        prefix: str = "mall-assistant:cache:",
        subscriber: Any | None = None,
    ) -> None:
        self.client = client
        self.ttl = ttl
        self.prefix = prefix
        # Pub/sub blocks on its socket: its own connection, without the reads' short timeout.
        self.subscriber = subscriber or client

    @classmethod
    def from_url(cls, url: str, *, ttl: int = 300) -> ReadCache:
        """A cache on the Redis at `url` (short timeouts: a slow Redis is a miss)."""
        import redis  # type: ignore[import-untyped]

        client = redis.Redis.from_url(url, socket_timeout=0.2, socket_connect_timeout=0.2)
        subscriber = redis.Redis.from_url(url, socket_connect_timeout=2, health_check_interval=30)
        return cls(client, ttl=ttl, subscriber=subscriber)

    def key(self, kind: str, item: str) -> str:
        """The Redis key of one entry."""
        return f"{self.prefix}{kind}:{item}"

    def get(self, kind: str, item: str) -> Any | None:
        """The cached value, or None (absent, or Redis unavailable)."""
        try:
            raw = self.client.get(self.key(kind, item))
        except Exception as error:
            logger.debug("cache miss (%s): %s", kind, error)
            return None
        return json.loads(raw) if raw else None

    def put(self, kind: str, item: str, value: Any) -> None:
        """Keep `value` for the TTL (nothing when Redis is unavailable)."""
        try:
            self.client.setex(self.key(kind, item), self.ttl, json.dumps(value, ensure_ascii=False))
        except Exception as error:
            logger.debug("cache put failed (%s): %s", kind, error)

    def drop(self, kind: str, item: str) -> None:
        """Forget one entry."""
        try:
            self.client.delete(self.key(kind, item))
        except Exception as error:
            logger.warning("could not drop a stale %s from the cache: %s", kind, error)

    def on_change(self, raw: bytes | str) -> None:
        """Handle one announcement from the mall."""
        try:
            change = json.loads(raw)
            kind, item = change["kind"], str(change["id"])
        except (ValueError, KeyError, TypeError):
            logger.warning("ignored a malformed change announcement")
            return
        if kind in KINDS:
            self.drop(kind, item)

    def listen(self) -> threading.Thread:
        """Drop entries as the mall announces changes, in a background thread."""

        def run() -> None:
            while True:
                try:
                    pubsub = self.subscriber.pubsub(ignore_subscribe_messages=True)
                    pubsub.subscribe(CHANGES_CHANNEL)
                    for message in pubsub.listen():
                        if message.get("type") == "message":
                            self.on_change(message["data"])
                except Exception as error:
                    logger.warning("change listener lost Redis (%s); retrying", error)
                    time.sleep(1.0)

        thread = threading.Thread(target=run, name="mall-change-listener", daemon=True)
        thread.start()
        return thread
