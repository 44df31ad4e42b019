"""The mall announces what changed (a product, a customer's profile) on Redis pub/sub.

Whoever caches the mall's answers (the action servers' read cache, actions/clients/cache.py)
listens and drops what went stale; the mall knows nothing about their keys. Off unless
MALL_CHANGES_REDIS_URL is set; an announcement that cannot be sent is logged, never an
error for the request that made the change (the cache's 5-minute TTL bounds the staleness).
"""

from __future__ import annotations

import functools
import json
import logging
from typing import Literal

logger = logging.getLogger("mall")

CHANGES_CHANNEL = "mall-assistant:mall-changes"
Kind = Literal["product", "profile"]


@functools.lru_cache(maxsize=1)
def _publisher() -> object | None:
    # The routes announce without a request at hand: the mall's settings, read on first use
    # (the same values the app was built from).
    from mall.settings import Settings

    url = Settings.from_env().changes_redis_url
    if not url:
        return None
    import redis  # type: ignore[import-untyped]

    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)


def announce(kind: Kind, *ids: str) -> None:
    """Tell the listeners that these products or profiles changed."""
    publisher = _publisher()
    if publisher is None:
        return
    for item in ids:
        try:
            publisher.publish(CHANGES_CHANNEL, json.dumps({"kind": kind, "id": item}))  # type: ignore[attr-defined]
        except Exception as error:
            logger.warning("could not announce the %s change: %s", kind, error)
