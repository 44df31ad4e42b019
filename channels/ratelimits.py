"""Rate limits on the channels' public routes: who is asking, and the clear 429 they get."""

from __future__ import annotations

import json
import math

from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from security.ratelimit import RateLimiter


class RateLimited(Exception):
    """Too many requests from one client or for one conversation."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited for {retry_after:.1f} s")
        self.retry_after = max(1, math.ceil(retry_after))

    def answer(self) -> HTTPResponse:
        """429 with what to do about it, for people and for programs."""
        return response.json(
            {
                "error": "rate_limited",
                "message": f"您发送得太快了，请 {self.retry_after} 秒后再试。",
                "retry_after": self.retry_after,
            },
            status=429,
            headers={"Retry-After": str(self.retry_after)},
            dumps=lambda body: json.dumps(body, ensure_ascii=False),
        )


def client_address(request: Request) -> str:
    """The caller's address: the proxy-forwarded one when Sanic is told to trust the proxy.

    Behind a reverse proxy set SANIC_PROXIES_COUNT (or SANIC_REAL_IP_HEADER) for the Rasa
    server, or every customer would share the proxy's address and its limit.
    """
    return str(request.remote_addr or request.ip or "unknown")


def too_many(limiter: RateLimiter, key: str) -> None:
    """Count one request for `key`; RateLimited when it is over the limit."""
    wait = limiter.hit(key)
    if wait is not None:
        raise RateLimited(wait)
