"""Metrics for the FastAPI processes (mall API, desk): request latency and a guarded /metrics.

`install(app)` is the one line an app factory adds, after its other middleware: this one is
then the outermost, so it times every request (refused ones too) and answers GET /metrics
itself, before the mall's service token is asked for (Prometheus holds METRICS_TOKEN, not the
mall's token). Each request is labelled with its route template (`/products/{product_id}`,
never the id itself); a path no route matched is `unmatched`, so scanners cannot grow the
label set.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from monitoring.access import MetricsSettings, may_read_metrics
from monitoring.metrics import HTTP_SECONDS
from security.asgi import header

METRICS_PATH = "/metrics"


class MetricsMiddleware:
    """Observe every HTTP request's duration; serve GET /metrics to whoever may read it."""

    def __init__(self, app: ASGIApp, settings: MetricsSettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope.get("path") == METRICS_PATH and scope.get("method") == "GET":
            await self._metrics(scope, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route: Any = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            HTTP_SECONDS.labels(template, scope.get("method", ""), str(status)).observe(
                time.perf_counter() - started
            )

    async def _metrics(self, scope: Scope, send: Send) -> None:
        client = scope.get("client")
        peer = client[0] if client else None
        if may_read_metrics(self.settings, peer, lambda name: header(scope, name.encode())):
            status, body, kind = 200, generate_latest(), CONTENT_TYPE_LATEST
        else:
            # Not found rather than forbidden: an outsider learns nothing about the endpoint.
            status, body, kind = 404, b'{"error":"not_found"}', "application/json"
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", kind.encode()), (b"cache-control", b"no-store")],
            }
        )
        await send({"type": "http.response.body", "body": body})


def install(app: Any, settings: MetricsSettings | None = None) -> None:
    """Add request metrics and GET /metrics (METRICS_TOKEN, else loopback only) to an app."""
    app.add_middleware(MetricsMiddleware, settings=settings or MetricsSettings.from_env())
