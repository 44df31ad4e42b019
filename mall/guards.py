"""What every request passes before a route sees it: the service token, then the body size.

Both are plain ASGI middleware: they run for every path, known or not (an unknown path
without the token is a 401 like any other, so probing reveals nothing), and cost a header
lookup per request.
"""

from __future__ import annotations

from collections.abc import Iterable

from security.asgi import ASGIApp, BodyLimitMiddleware, Receive, Scope, Send, header, refuse
from security.tokens import bearer_token, same_secret

__all__ = ["CHANNEL_KEY_PATHS", "OPEN_PATHS", "BodyLimitMiddleware", "ServiceTokenMiddleware"]

# Liveness stays open: load balancers and the launcher probe it without credentials.
OPEN_PATHS = frozenset({"/health"})
# Routes that check a channel's own key instead (behaviour events): see mall/routes/events.py.
CHANNEL_KEY_PATHS = frozenset({"/events"})


class ServiceTokenMiddleware:
    """401 for any request but /health without `Authorization: Bearer <service token>`.

    The channel-key routes (behaviour events) take one of the channels' event keys instead,
    never the service token: a key held by a shop page's server can only append events.
    """

    def __init__(self, app: ASGIApp, token: str, channel_keys: Iterable[str] = ()) -> None:
        self.app = app
        self.token = token
        self.channel_keys = tuple(channel_keys)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path")
        if scope["type"] != "http" or path in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        offered = bearer_token(header(scope, b"authorization"))
        if path in CHANNEL_KEY_PATHS:
            # Every key is compared, so the time taken says nothing about a near match.
            matches = [same_secret(offered, key) for key in self.channel_keys]
            if any(matches):
                await self.app(scope, receive, send)
                return
            await refuse(
                send,
                401,
                "unauthorized",
                "需要渠道的事件密钥：Authorization: Bearer <该渠道的 *_EVENT_KEY>",
                {"www-authenticate": "Bearer"},
            )
            return
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
