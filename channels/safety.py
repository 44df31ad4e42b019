"""Never silence: what a channel sends when the assistant produced nothing for a message.

Rasa answers with nothing when the action server is down (it logs the failure and moves on).
The first silent turn gets an apology; when the handoff policy's rule for silence says so
(`components.handoff_policy.silence_calls_for_a_person`), the conversation goes to a person:
the handoff is recorded in the mall through the same client and route `action_handoff` uses,
and the conversation is paused, as `action_handoff` would have done if it could run.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

from rasa.shared.core.events import BotUttered, ConversationPaused, SlotSet, UserUttered

from actions.clients.errors import MallError
from actions.clients.mall import MallClient
from actions.settings import Settings
from channels.settings import channel_settings
from components.handoff_policy import SERVICE_FAILURE, silence_calls_for_a_person
from monitoring.metrics import TURN_ERRORS, channel_label

logger = logging.getLogger(__name__)

BUSY_TEXT = "抱歉，系统刚才有点忙，没能处理好您的消息。请稍后再发一次，或回复“人工”找客服。"
ESCALATED_TEXT = "抱歉，系统出了点问题，已经为您转接人工客服，请稍候，客服接入后会直接回复您。"
UNREACHABLE_TEXT = (
    "抱歉，系统出了点问题，暂时也没法为您转接人工客服。请稍后再试，或拨打客服热线 {hotline}。"
)


async def conversation_paused(agent: Any, sender_id: str) -> bool:
    """Whether a human has the conversation (Rasa's pause), so the bot must stay silent."""
    tracker = await agent.tracker_store.retrieve(sender_id)
    return tracker is not None and tracker.is_paused()


@functools.lru_cache(maxsize=1)
def mall_client() -> MallClient:
    """The Rasa process's client for the mall API, built on first use from the environment."""
    return MallClient.from_settings(Settings.from_env())


def _open_handoff(sender_id: str, channel: str, transcript: list[dict[str, Any]]) -> bool:
    """Record a handoff in the mall for a conversation the bot cannot serve."""
    context = {"transcript": transcript, "sentiment": []}
    try:
        mall_client().open_handoff(sender_id, channel, SERVICE_FAILURE, context)
    except (MallError, ValueError) as exc:
        logger.error("handoff for %s not recorded: %s", sender_id, exc)
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
        TURN_ERRORS.labels("other", "no_answer").inc()
        return [{"recipient_id": sender_id, "text": BUSY_TEXT}]
    if tracker.is_paused():
        return []
    logger.warning("No reply for %s and the conversation is not paused", sender_id)
    TURN_ERRORS.labels(channel_label(tracker.get_latest_input_channel()), "no_answer").inc()
    if not silence_calls_for_a_person(list(tracker.events)):
        return [{"recipient_id": sender_id, "text": BUSY_TEXT}]
    channel = tracker.get_latest_input_channel() or "rest"
    transcript = [
        {"who": "customer", "text": event.text}
        for event in tracker.events
        if isinstance(event, UserUttered) and event.text
    ][-20:]
    if not await asyncio.to_thread(_open_handoff, sender_id, channel, transcript):
        hotline = channel_settings().handoff_hotline
        return [{"recipient_id": sender_id, "text": UNREACHABLE_TEXT.format(hotline=hotline)}]
    async with agent.lock_store.lock(sender_id):
        tracker = await agent.tracker_store.retrieve(sender_id)
        for event in (
            SlotSet("handoff_reason", SERVICE_FAILURE),
            ConversationPaused(),
            BotUttered(ESCALATED_TEXT),
        ):
            tracker.update(event, agent.processor.domain)
        await agent.processor.save_tracker(tracker)
    return [{"recipient_id": sender_id, "text": ESCALATED_TEXT}]
