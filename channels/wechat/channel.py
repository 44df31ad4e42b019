"""The Rasa input channel for WeChat: /webhooks/wechat/webhook (GET verify, POST pushes)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels import delivery
from channels.ratelimits import RateLimited, client_address, too_many
from channels.settings import channel_settings, merged
from channels.store import open_store
from channels.wechat.client import WeChatApi
from channels.wechat.handler import CHANNEL, Answer, PushHandler
from channels.wechat.output import WeChatOutput
from channels.wechat.settings import WeChatSettings
from security.ratelimit import RateLimiter

logger = logging.getLogger(__name__)

__all__ = ["WeChatInput", "WeChatOutput"]


class WeChatInput(InputChannel):
    """Official-account message push and mini-program customer-service messages."""

    @classmethod
    def name(cls) -> str:
        """The channel's name: its webhook is /webhooks/wechat/webhook."""
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> WeChatInput:
        """Build from credentials.yml over the WECHAT_* settings; off while no account is set.

        With none of token, app_id and app_secret the channel has no routes (a checkout without
        a WeChat account runs); with some but not all, it is refused by name.
        """
        values = merged(credentials, channel_settings().wechat_credentials())
        if not any(values.get(key) for key in ("token", "app_id", "app_secret")):
            logger.info("WeChat is off: WECHAT_TOKEN, WECHAT_APP_ID, WECHAT_APP_SECRET unset")
            return cls(None)
        return cls(WeChatSettings.from_credentials(values))

    def __init__(self, settings: WeChatSettings | None) -> None:
        self.settings = settings
        if settings is None:
            return
        self.output = WeChatOutput(settings, WeChatApi(settings))
        self.handler = PushHandler(settings, open_store(settings.redis_url), self.output)
        self.client_limiter = RateLimiter(settings.client_limit)

    def get_output_channel(self) -> OutputChannel | None:
        """Messages Rasa pushes on its own (e.g. triggered intents) go through the API."""
        return self.output if self.settings is not None else None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """GET / health, GET /webhook verification, POST /webhook pushes; nothing when off."""
        if self.settings is None:
            return Blueprint("wechat_off", __name__)
        # Agent replies during a handoff reach WeChat customers through the API.
        delivery.register(CHANNEL, self.output.deliver)
        wechat = Blueprint("wechat_webhook", __name__)
        mode = "safe" if self.settings.safe_mode else "plain"

        @wechat.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok", "mode": mode})

        @wechat.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            return _http(self.handler.verify_server(_query(request)))

        @wechat.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            # Before anything is verified or parsed: a flood of forged pushes costs little.
            try:
                too_many(self.client_limiter, client_address(request))
            except RateLimited as limited:
                return response.text(
                    "too many requests",
                    status=429,
                    headers={"Retry-After": str(limited.retry_after)},
                )
            answer = await self.handler.handle_push(
                _query(request), request.body or b"", on_new_message, request.app.ctx.agent
            )
            return _http(answer)

        return wechat


def _query(request: Request) -> dict[str, list[str]]:
    # Sanic's args.get() gives the first value; the handler works on lists.
    return {name: list(values) for name, values in dict.items(request.args)}


def _http(answer: Answer) -> HTTPResponse:
    return response.text(answer.body, status=answer.status, content_type=answer.content_type)
