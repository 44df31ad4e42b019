"""Metrics for the action server: per-action run time and GET /metrics.

rasa_sdk calls `attach_sanic_app_extensions` of the plugins `rasa_sdk_plugins` registers
(see that package) while it builds its app, so `python -m rasa_sdk` needs no other entry point.
The mall client measures its own calls (actions/clients/mall.py).
"""

from __future__ import annotations

import re
import time

import pluggy
from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse

from monitoring.metrics import ACTION_SECONDS
from monitoring.sanic import metrics_handler

hookimpl = pluggy.HookimplMarker("rasa_sdk")
# Action names are the domain's (`action_...`, `validate_...`); anything else is `other`.
_ACTION_NAME = re.compile(r"^(action|validate)_[a-z0-9_]{1,60}$")


def action_label(name: object) -> str:
    """The action's name when it looks like one, else `other` (a closed label set)."""
    return name if isinstance(name, str) and _ACTION_NAME.match(name) else "other"


@hookimpl
def attach_sanic_app_extensions(app: Sanic) -> None:
    """Add GET /metrics and time every POST /webhook by action."""
    app.add_route(metrics_handler(), "/metrics", methods=["GET"], name="metrics")

    @app.on_request
    async def started(request: Request) -> None:
        request.ctx.metrics_started = time.perf_counter()

    @app.on_response
    async def finished(request: Request, _response: HTTPResponse) -> None:
        if request.path != "/webhook" or not hasattr(request.ctx, "metrics_started"):
            return
        try:
            body = request.json or {}
        except Exception:  # a body that is no JSON was answered 400 already
            body = {}
        action = body.get("next_action") if isinstance(body, dict) else None
        ACTION_SECONDS.labels(action_label(action)).observe(
            time.perf_counter() - request.ctx.metrics_started
        )
