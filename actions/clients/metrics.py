"""The mall client's metrics: each call's latency and outcome, failures, the breaker's state."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from actions.clients.breaker import CircuitBreaker
from actions.clients.errors import (
    CircuitOpen,
    Conflict,
    InvalidRequest,
    MallUnavailable,
    NotFound,
    Unauthorized,
)
from monitoring.metrics import BREAKER_OPEN, MALL_CALL_ERRORS, MALL_CALL_SECONDS

# The mall answered, if only to say no: an outcome, not a failure of the mall.
_ANSWERS = ((NotFound, "not_found"), (Conflict, "conflict"), (InvalidRequest, "invalid"))
# Failures, counted in actions_mall_call_errors_total too (CircuitOpen before its base class).
_FAILURES = (
    (CircuitOpen, "breaker_open"),
    (MallUnavailable, "unavailable"),
    (Unauthorized, "unauthorized"),
)


def operation(method: str, path: str) -> str:
    """`GET /products`: the method and the first path segment (never an id or a query)."""
    first = path.split("?", 1)[0].strip("/").split("/", 1)[0]
    return f"{method} /{first}"


@contextmanager
def measured(method: str, path: str, breaker: CircuitBreaker) -> Iterator[None]:
    """Time one call to the mall; label it with its outcome; publish the breaker's state."""
    started = time.perf_counter()
    outcome = "ok"
    try:
        yield
    except Exception as error:
        outcome = "error"
        for kind, name in (*_ANSWERS, *_FAILURES):
            if isinstance(error, kind):
                outcome = name
                break
        if outcome not in {name for _, name in _ANSWERS}:
            MALL_CALL_ERRORS.labels(outcome).inc()
        raise
    finally:
        MALL_CALL_SECONDS.labels(operation(method, path), outcome).observe(
            time.perf_counter() - started
        )
        BREAKER_OPEN.set(1 if breaker.is_open else 0)
