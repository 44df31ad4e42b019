"""GET /metrics for the Sanic processes (the Rasa server, the action server)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from monitoring.access import MetricsSettings, may_read_metrics


def metrics_handler(
    settings: MetricsSettings | None = None,
    refresh: Callable[[], Awaitable[None]] | None = None,
) -> Callable[[Request], Coroutine[Any, Any, HTTPResponse]]:
    """A route handler answering the metrics to whoever may read them (404 to the others).

    `refresh` reads what can only be read asynchronously (the event queue's depth) first.
    """
    settings = settings or MetricsSettings.from_env()

    async def metrics(request: Request) -> HTTPResponse:
        # request.ip is the socket's peer, whatever forwarding headers claim.
        if not may_read_metrics(settings, request.ip, request.headers.get):
            return response.json({"error": "not_found"}, status=404)
        if refresh is not None:
            await refresh()
        return response.raw(
            generate_latest(),
            content_type=CONTENT_TYPE_LATEST,
            headers={"Cache-Control": "no-store"},
        )

    return metrics
