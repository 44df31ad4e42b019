"""The REST channel for trusted scripts and servers, behind a token (off unless configured).

Rasa's own `rest` channel lets whoever can reach it name any sender, so anyone could read
another customer's orders through it. This one is Rasa's channel (same route, same answers:
`POST /webhooks/rest/webhook {"sender", "message", "metadata"}`) that first requires
`Authorization: Bearer <REST_CHANNEL_TOKEN>`. While REST_CHANNEL_TOKEN is unset (the
default) the channel is off: its routes do not even exist.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.settings import channel_settings
from channels.web.tokens import SENDER_ID
from security.tokens import SecretError, bearer_token, require_secret, same_secret

MAX_BODY_BYTES = 16 * 1024
MAX_MESSAGE_CHARS = 2000


def _refused(status: int, code: str, message: str) -> HTTPResponse:
    return response.json(
        {"error": code, "message": message},
        status=status,
        dumps=lambda body: json.dumps(body, ensure_ascii=False),
    )


class RestInput(RasaRestInput):
    """Rasa's REST channel, for callers holding the REST channel token only."""

    @classmethod
    def name(cls) -> str:
        """The channel name: routes live under /webhooks/rest/."""
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> RestInput:
        """Build from credentials.yml over REST_CHANNEL_TOKEN; off without one, weak refused."""
        token = (credentials or {}).get("token") or channel_settings().rest_channel_token
        if not str(token or "").strip():
            return cls(None)
        try:
            return cls(require_secret("REST_CHANNEL_TOKEN", str(token)))
        except SecretError as error:
            raise RasaException(str(error)) from None

    def __init__(self, token: str | None) -> None:
        # None: the channel is off and its routes do not exist.
        self.token = token

    def _extract_input_channel(self, req: Request) -> str:
        # Always "rest": a caller must not route agents' replies into another channel.
        return self.name()

    def refusal(self, request: Request) -> HTTPResponse | None:
        """Why the request may not go further, as the answer; None when it may."""
        if not same_secret(bearer_token(request.headers.get("Authorization")), self.token or ""):
            return _refused(401, "unauthorized", "REST 渠道需要令牌：Authorization: Bearer <token>")
        if request.method != "POST":
            return None
        if len(request.body or b"") > MAX_BODY_BYTES:
            return _refused(413, "too_large", "请求太大。")
        try:
            body = json.loads(request.body or b"")
        except (ValueError, UnicodeDecodeError):
            return _refused(400, "invalid_json", "请求体不是合法的 JSON。")
        if not isinstance(body, dict):
            return _refused(400, "invalid_json", "请求体必须是 JSON 对象。")
        sender, text = body.get("sender"), body.get("message")
        if not isinstance(sender, str) or not SENDER_ID.match(sender):
            return _refused(400, "invalid_request", "sender 格式不正确。")
        if not isinstance(text, str) or not text.strip():
            return _refused(400, "invalid_request", "message 不能为空。")
        if len(text) > MAX_MESSAGE_CHARS:
            return _refused(413, "too_large", f"消息太长（最多{MAX_MESSAGE_CHARS}字）。")
        metadata = body.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            return _refused(400, "invalid_request", "metadata 必须是 JSON 对象。")
        return None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Rasa's REST routes, each behind the token and the body checks; none when off."""
        if self.token is None:
            return Blueprint("rest_off", __name__)
        routes = super().blueprint(on_new_message)

        @routes.middleware("request")
        async def guard(request: Request) -> HTTPResponse | None:
            return self.refusal(request)

        return routes
