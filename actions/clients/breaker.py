"""A circuit breaker: after repeated failures, stop calling a service for a while.

While it is open, calls fail at once instead of each waiting for a timeout, and the
actions hand the customer to a person (or to the hotline) instead of apologising turn
after turn. After the cool-down one call is let through to probe; success closes it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class CircuitBreaker:
    """Counts consecutive failures; open after `threshold`, half-open after `cooldown`."""

    def __init__(
        self,
        threshold: int = 3,
        cooldown: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        """Open: calls should not be attempted (the cool-down has not passed)."""
        with self._lock:
            return self._opened_at is not None and self._clock() - self._opened_at < self.cooldown

    def allow(self) -> bool:
        """Whether a call may go out now (closed, or half-open after the cool-down)."""
        with self._lock:
            if self._opened_at is None:
                return True
            if self._clock() - self._opened_at >= self.cooldown:
                # Half-open: this call probes; until it reports, the next ones wait again.
                self._opened_at = self._clock()
                return True
            return False

    def record_success(self) -> None:
        """The service answered: close the circuit."""
        with self._lock:
            self._failures = 0
            self._opened_at = None

    def record_failure(self) -> None:
        """The service failed; open the circuit at the threshold."""
        with self._lock:
            self._failures += 1
            if self._failures >= self.threshold:
                self._opened_at = self._clock()
