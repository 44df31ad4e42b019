"""Per-key rate limits for the public endpoints (per client address, per sender, per account).

A sliding log in the process's memory: at most `limit` accepted hits in any `window` seconds
for one key. Refused hits are not counted, so a client that stops for a window is served
again. Each process keeps its own counts; behind several processes the limit applies per
process, which still bounds what one client can make the assistant do.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    """`count` requests per `seconds`."""

    count: int
    seconds: float

    @classmethod
    def parse(cls, name: str, raw: str | None, default: Limit) -> Limit:
        """'30/60' (30 per 60 s) from a setting; empty gives `default`, '0' switches it off."""
        text = (raw or "").strip()
        if not text:
            return default
        if text == "0":
            return cls(0, default.seconds)
        count, _, seconds = text.partition("/")
        try:
            limit = cls(int(count), float(seconds or default.seconds))
        except ValueError:
            raise ValueError(f"{name} must look like 30/60 (30 per 60 s), got {raw!r}") from None
        if limit.count < 0 or limit.seconds <= 0:
            raise ValueError(f"{name} must look like 30/60 (30 per 60 s), got {raw!r}")
        return limit


class RateLimiter:
    """At most `limit.count` accepted hits per key in any `limit.seconds` (0: no limit)."""

    def __init__(
        self,
        limit: Limit,
        *,
        max_keys: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._max_keys = max_keys
        self._clock = clock
        # The desk serves requests from a thread pool.
        self._lock = threading.Lock()

    def hit(self, key: str) -> float | None:
        """Count one request for `key`; None when allowed, else seconds until it would be."""
        if self.limit.count == 0:
            return None
        now = self._clock()
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                hits = self._hits[key] = deque()
            horizon = now - self.limit.seconds
            while hits and hits[0] <= horizon:
                hits.popleft()
            if len(hits) >= self.limit.count:
                return max(hits[0] + self.limit.seconds - now, 0.001)
            hits.append(now)
            self._hits.move_to_end(key)
            # Bounded memory under a flood of distinct keys: forget the quietest.
            while len(self._hits) > self._max_keys:
                self._hits.popitem(last=False)
        return None

    def reset(self, key: str) -> None:
        """Forget the hits of `key`."""
        with self._lock:
            self._hits.pop(key, None)
