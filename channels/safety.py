"""Never silence: what a channel sends when the assistant produced nothing for a message.

Rasa answers with nothing when the action server is down (it logs the failure and moves on).
The first silent turn gets an apology; a second one in a row hands the conversation to a
person: the handoff is opened in the mall and the conversation paused, as `action_handoff`
would have done if it could run.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

import requests
from rasa.shared.core.events import BotUttered, ConversationPaused, SlotSet, UserUttered

logger = logging.getLogger(__name__)

BUSY_TEXT = "抱歉，系统刚才有点忙，没能处理好您的消息。请稍后再发一次，或回复“人工”找客服。"
ESCALATED_TEXT = "抱歉，系统出了点问题，已经为您转接人工客服，请稍候，客服接入后会直接回复您。"
UNREACHABLE_TEXT = (
    "抱歉，系统出了点问题，暂时也没法为您转接人工客服。请稍后再试，或拨打客服热线 {hotline}。"
)
SILENT_TURNS_BEFORE_HANDOFF = 2


async def conversation_paused(agent: Any, sender_id: str) -> bool:
    """Whether a human has the conversation (Rasa's pause), so the bot must stay silent."""
    tracker = await agent.tracker_store.retrieve(sender_id)
    return tracker is not None and tracker.is_paused()


def silent_turns(events: list[Any]) -> int:
    """How many of the customer's latest messages in a row got no reply at all."""
    count = 0
    for event in reversed(events):
        if isinstance(event, BotUttered):
            break
        if isinstance(event, UserUttered):
            count += 1
    return count


def _open_handoff(sender_id: str, channel: str, transcript: list[dict[str, Any]]) -> bool:
    """Open a handoff in the mall for a conversation the bot cannot serve."""
    base = os.environ.get("MALL_API_URL", "http://127.0.0.1:5056").rstrip("/")
    body = {
        "sender_id": sender_id,
        "channel": channel,
        "reason": "service_failure",
        "context": {"transcript": transcript, "sentiment": []},
    }
    try:
        answer = requests.post(f"{base}/handoffs", json=body, timeout=(2, 5))
    except requests.RequestException as exc:
        logger.error("handoff for %s not recorded: %s", sender_id, exc)
        return False
    if answer.status_code not in (200, 201):
        logger.error("handoff for %s refused: %s %s", sender_id, answer.status_code, answer.text)
        return False
    return True


async def reply_or_fallback(
    agent: Any, sender_id: str, messages: list[dict[str, Any]] | None
) -> list[dict[str, Any]]:
    """The messages to send for one customer message.

    The bot's own messages when it had any; nothing when a human agent has the conversation
    (the agent answers); otherwise an apology, and from the second silent turn in a row a
    handoff to a person, because a customer must never be met with silence.
    """
    if messages:
        return messages
    tracker = await agent.tracker_store.retrieve(sender_id)
    if tracker is None:
        return [{"recipient_id": sender_id, "text": BUSY_TEXT}]
    if tracker.is_paused():
        return []
    logger.warning("No reply for %s and the conversation is not paused", sender_id)
    if silent_turns(list(tracker.events)) < SILENT_TURNS_BEFORE_HANDOFF:
        return [{"recipient_id": sender_id, "text": BUSY_TEXT}]
    channel = tracker.get_latest_input_channel() or "rest"
    transcript = [
        {"who": "customer", "text": event.text}
        for event in tracker.events
        if isinstance(event, UserUttered) and event.text
    ][-20:]
    if not await asyncio.to_thread(_open_handoff, sender_id, channel, transcript):
        hotline = os.environ.get("HANDOFF_HOTLINE", "400-800-8888")
        return [{"recipient_id": sender_id, "text": UNREACHABLE_TEXT.format(hotline=hotline)}]
    async with agent.lock_store.lock(sender_id):
        tracker = await agent.tracker_store.retrieve(sender_id)
        for event in (
            SlotSet("handoff_reason", "service_failure"),
            ConversationPaused(),
            BotUttered(ESCALATED_TEXT),
        ):
            tracker.update(event, agent.processor.domain)
        await agent.processor.save_tracker(tracker)
    return [{"recipient_id": sender_id, "text": ESCALATED_TEXT}]
