"""Rasa's socketio channel with the web channel's identity: standard clients connect as they are.

Rasa's own `socketio` channel checks a JWT on connect but then lets the client name any
`session_id`, so whoever holds one token could read another customer's conversation. This is
that channel (same path `/socket.io`, same events `session_request` / `session_confirm` /
`user_uttered` / `bot_uttered`, same output) with the session bound to the token's subject:

- the JWT is HS256 with a key derived from WEB_CHANNEL_SECRET; `POST /webhooks/web/session`
  hands it out beside the widget token (`socketio_token`), for the same sender;
- it comes in socket.io's `auth: {token}` (Rasa's way) or as `?token=` on the socket URL
  (rasa-webchat 1.0.1 cannot set `auth`);
- `session_confirm` always answers the token's sender, whatever `session_id` the client
  proposed; every message is that sender's; metadata is the web channel's whitelist
  (`product_id`, `page_url`) under the configured key (rasa-webchat's `customData`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from rasa.core.channels.channel import CollectingOutputChannel, OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOOutput
from rasa.core.channels.socketio import SocketIOInput as RasaSocketIOInput
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from channels import delivery, safety
from channels.settings import channel_settings
from channels.web.channel import MAX_MESSAGE_CHARS, page_metadata
from channels.web.tokens import JWT_ALGORITHM, jwt_key, sender_of
from security.tokens import SecretError

logger = logging.getLogger(__name__)

CHANNEL = "socketio"


def _offered_token(environ: dict[str, Any], auth: Any) -> str | None:
    if isinstance(auth, dict) and isinstance(auth.get("token"), str):
        return str(auth["token"])
    tokens = parse_qs(str(environ.get("QUERY_STRING", ""))).get("token")
    return tokens[0] if tokens else None


class SocketIOCardOutput(SocketIOOutput):
    """Rasa's socket.io output, with product cards as what every standard client shows."""

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        """A product card as its picture and one line; other custom payloads as `custom`."""
        # Rasa's own output passes the payload to emit() as keyword arguments, which breaks on
        # any payload with keys emit() does not know (a product card's `type`).
        if json_message.get("type") in ("product", "product_card"):
            if json_message.get("image"):
                await self.send_image_url(recipient_id, str(json_message["image"]))
            line = f"{json_message.get('title', '')}  ¥{json_message.get('price', '')}"
            await self.send_text_message(recipient_id, line.strip())
            return
        await self._send_message(recipient_id, {"custom": json_message})


class SocketIOInput(RasaSocketIOInput):
    """Rasa's socketio channel whose sessions belong to the sender their JWT names."""

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> SocketIOInput:
        """Rasa's socketio keys; `jwt_key` defaults to the one derived from WEB_CHANNEL_SECRET."""
        credentials = credentials or {}
        key = credentials.get("jwt_key")
        if not key:
            settings = channel_settings()
            try:
                key = jwt_key(settings.secret("WEB_CHANNEL_SECRET"))
            except SecretError as error:
                raise RasaException(f"The socketio channel needs its JWT key: {error}") from None
        method = credentials.get("jwt_method") or JWT_ALGORITHM
        if method != JWT_ALGORITHM:
            raise RasaException(f"The socketio channel signs with {JWT_ALGORITHM}, not {method}")
        return cls(
            credentials.get("user_message_evt", "user_uttered"),
            credentials.get("bot_message_evt", "bot_uttered"),
            credentials.get("namespace"),
            True,  # sessions always persist: a session is the token's sender
            credentials.get("socketio_path", "/socket.io"),
            key,
            JWT_ALGORITHM,
            credentials.get("metadata_key", "metadata"),
        )

    def get_output_channel(self) -> OutputChannel | None:
        """For messages Rasa sends on its own (triggered intents), to the sender's room."""
        return SocketIOCardOutput(self.sio, self.bot_message_evt) if self.sio else None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """GET / health and the socket.io events, each tied to the connection's sender."""
        # CORS for socket.io's polling requests comes from `rasa run --cors` (Sanic's).
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=[])
        routes = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio
        key = str(self.jwt_key)
        app: list[Sanic] = []

        @routes.listener("after_server_start")
        async def remember_app(server: Sanic, _loop: Any) -> None:
            app.append(server)

        async def push(recipient_id: str, messages: list[dict[str, Any]]) -> None:
            output = SocketIOCardOutput(sio, self.bot_message_evt)
            for message in messages:
                # Collected messages carry their recipient; send_response takes it apart.
                body = {key: value for key, value in message.items() if key != "recipient_id"}
                await output.send_response(recipient_id, body)

        # Agent replies during a handoff reach socket.io customers in their room.
        delivery.register(CHANNEL, push)

        @routes.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
            sender = sender_of(_offered_token(environ, auth), key)
            if sender is None:
                logger.info("socket.io connection %s refused: no valid token", sid)
                return False
            await sio.save_session(sid, {"sender_id": sender}, namespace=self.namespace)
            return True

        async def sender(sid: str) -> str:
            session = await sio.get_session(sid, namespace=self.namespace)
            return str(session["sender_id"])

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: Any = None) -> None:
            sender_id = await sender(sid)
            await sio.enter_room(sid, sender_id, namespace=self.namespace)
            await sio.emit("session_confirm", sender_id, room=sid, namespace=self.namespace)

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: str, data: Any) -> None:
            if not isinstance(data, dict):
                return
            text = data.get("message")
            if not isinstance(text, str) or not text.strip() or len(text) > MAX_MESSAGE_CHARS:
                return
            sender_id = await sender(sid)
            collector = CollectingOutputChannel()
            await on_new_message(
                UserMessage(
                    text,
                    collector,
                    sender_id,
                    input_channel=self.name(),
                    metadata=page_metadata(data.get(self.metadata_key)),
                )
            )
            messages = collector.messages
            if app:  # never silence: the web channel's safety net, with its agent
                messages = await safety.reply_or_fallback(app[0].ctx.agent, sender_id, messages)
            await push(sender_id, messages)

        return routes
