"""The agent desk's way into live conversations: a small channel inside the Rasa server.

The desk's console (desk/console.py) calls these routes with a shared bearer token
(HANDOFF_TOKEN):
- POST /webhooks/handoff/claim  {sender_id, agent}: pause the bot and greet as the agent;
- POST /webhooks/handoff/reply  {sender_id, agent, text}: say `text` as the agent;
- POST /webhooks/handoff/close  {sender_id, agent}: resume the bot with a hand-back line.

Each writes its events into the customer's tracker under the conversation lock (so the
transcript is whole and Rasa's pause/resume is the single source of truth), then pushes the
lines through the channel the customer last wrote through (channels/delivery.py). Channels
without push (plain REST) show them on the customer's next history fetch.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    SlotSet,
)
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels import delivery
from channels.settings import channel_settings
from security.tokens import SecretError

logger = logging.getLogger(__name__)

MAX_TEXT = 2000
FALLBACK_LINES = {
    "utter_agent_joined": "您好，我是人工客服{agent}，接下来由我为您服务。",
    "utter_handoff_resumed": "人工客服已结束本次服务，接下来由智能助手继续为您服务～",
}


class HandoffInput(InputChannel):
    """Routes the agent console uses to speak in a conversation and hand it back."""

    @classmethod
    def name(cls) -> str:
        """The channel name: routes live under /webhooks/handoff/."""
        return "handoff"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """Build from credentials.yml over HANDOFF_TOKEN (kept under var/ in development)."""
        settings = channel_settings()
        try:
            token = settings.secret("HANDOFF_TOKEN", (credentials or {}).get("token"))
        except SecretError as error:
            raise RasaException(f"The agent bridge needs its token: {error}") from None
        return cls(token)

    def __init__(self, token: str) -> None:
        self.token = token

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        supplied = header[7:] if header.startswith("Bearer ") else ""
        return hmac.compare_digest(supplied.encode(), self.token.encode())

    def blueprint(self, on_new_message: Callable[[Any], Awaitable[Any]]) -> Blueprint:
        """GET / (health) and the three console routes."""
        bridge = Blueprint("handoff_bridge", __name__)

        @bridge.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        async def handle(request: Request, action: str) -> HTTPResponse:
            if not self._authorised(request):
                return response.json({"error": "unauthorised"}, status=401)
            body = request.json if isinstance(request.json, dict) else None
            if body is None:
                return response.json({"error": "a JSON object is required"}, status=400)
            sender_id = str(body.get("sender_id") or "").strip()
            agent_name = str(body.get("agent") or "").strip()[:64]
            text = str(body.get("text") or "").strip()
            if not sender_id or not agent_name:
                return response.json({"error": "sender_id and agent are required"}, status=400)
            if action == "reply" and not 0 < len(text) <= MAX_TEXT:
                return response.json({"error": f"text must be 1-{MAX_TEXT} chars"}, status=400)
            try:
                result = await apply(request.app.ctx.agent, action, sender_id, agent_name, text)
            except LookupError:
                return response.json({"error": "no such conversation"}, status=404)
            return response.json(result)

        @bridge.route("/claim", methods=["POST"])
        async def claim(request: Request) -> HTTPResponse:
            return await handle(request, "claim")

        @bridge.route("/reply", methods=["POST"])
        async def reply(request: Request) -> HTTPResponse:
            return await handle(request, "reply")

        @bridge.route("/close", methods=["POST"])
        async def close(request: Request) -> HTTPResponse:
            return await handle(request, "close")

        return bridge


async def _line(rasa_agent: Any, tracker: Any, response_name: str, **values: Any) -> str:
    """A line from the domain's responses (so trainers edit it in domain.yml)."""
    try:
        generated = await rasa_agent.processor.nlg.generate(
            response_name, tracker, tracker.get_latest_input_channel() or "", **values
        )
        if generated and generated.get("text"):
            return str(generated["text"])
    except Exception:
        logger.exception("response %s could not be rendered", response_name)
    return FALLBACK_LINES[response_name].format(**values)


def _message(sender_id: str, event: BotUttered) -> dict[str, Any]:
    """A bot message in Rasa's output shape, marked with the agent who wrote it."""
    message: dict[str, Any] = {"recipient_id": sender_id, "text": event.text}
    if event.metadata.get("agent"):
        message["agent"] = event.metadata["agent"]
    return message


async def apply(
    agent: Any, action: str, sender_id: str, agent_name: str, text: str = ""
) -> dict[str, Any]:
    """Write the action's events into the tracker, then push its lines to the customer."""
    processor = agent.processor
    async with agent.lock_store.lock(sender_id):
        tracker = await agent.tracker_store.retrieve(sender_id)
        if tracker is None:
            raise LookupError(sender_id)
        channel = tracker.get_latest_input_channel()
        events: list[Any] = []
        if action == "claim":
            if not tracker.is_paused():
                events.append(ConversationPaused())
            line = await _line(agent, tracker, "utter_agent_joined", agent=agent_name)
            events.append(BotUttered(line, metadata={"agent": agent_name}))
        elif action == "reply":
            events.append(BotUttered(text, metadata={"agent": agent_name}))
        elif action == "close":
            events.append(ConversationResumed())
            events.append(SlotSet("handoff_status", None))
            line = await _line(agent, tracker, "utter_handoff_resumed")
            events.append(BotUttered(line))
            # The pause ended the bot's turn without its usual `action_listen`; add it, so
            # the next message is a fresh turn for the rules ("after listening, greet -> ...").
            events.append(ActionExecuted(ACTION_LISTEN_NAME))
        else:
            raise ValueError(action)
        for event in events:
            tracker.update(event, processor.domain)
        await processor.save_tracker(tracker)
    messages = [_message(sender_id, event) for event in events if isinstance(event, BotUttered)]
    try:
        pushed = await delivery.deliver(channel, sender_id, messages)
    except Exception as exc:
        logger.exception("pushing %s to %s over %s failed", action, sender_id, channel)
        return {"ok": True, "channel": channel, "pushed": False, "push_error": str(exc)}
    return {"ok": True, "channel": channel, "pushed": pushed, "paused": tracker.is_paused()}
