"""What every request passes before a route sees it: the service token, then the body size.

Both are plain ASGI middleware: they run for every path, known or not (an unknown path
without the token is a 401 like any other, so probing reveals nothing), and cost a header
lookup per request.
"""

from __future__ import annotations

from security.asgi import ASGIApp, BodyLimitMiddleware, Receive, Scope, Send, header, refuse
from security.tokens import bearer_token, same_secret

__all__ = ["OPEN_PATHS", "BodyLimitMiddleware", "ServiceTokenMiddleware"]

# Liveness stays open: load balancers and the launcher probe it without credentials.
OPEN_PATHS = frozenset({"/health"})


class ServiceTokenMiddleware:
    """401 for any request but /health without `Authorization: Bearer <service token>`."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        offered = bearer_token(header(scope, b"authorization"))
        if not same_secret(offered, self.token):
            await refuse(
                send,
                401,
                "unauthorized",
                "需要服务令牌：Authorization: Bearer <MALL_API_TOKEN>",
                {"www-authenticate": "Bearer"},
            )
            return
        await self.app(scope, receive, send)
