"""Push messages to a customer outside a request/response turn (agent replies, hand-back lines).

Each channel that can reach a customer on its own registers a deliverer under its channel name
(the `input_channel` Rasa records on every user message). The handoff bridge looks the
deliverer up by the channel the customer last wrote through.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

logger = logging.getLogger(__name__)

# (recipient_id, messages in Rasa's bot-message shape: text / buttons / image / custom)
Deliverer = Callable[[str, list[dict[str, Any]]], Awaitable[None]]

_DELIVERERS: dict[str, Deliverer] = {}


def register(channel: str, deliverer: Deliverer) -> None:
    """Make `deliverer` the way to push messages to customers of `channel`."""
    _DELIVERERS[channel] = deliverer


def unregister(channel: str) -> None:
    """Forget the deliverer of `channel` (tests, shutdown)."""
    _DELIVERERS.pop(channel, None)


async def deliver(channel: str | None, recipient_id: str, messages: list[dict[str, Any]]) -> bool:
    """Push `messages` through `channel`; False when the channel has no push.

    Channels without push (plain REST) still get the messages: they are in the tracker, where
    the customer's next history fetch finds them. A deliverer's failure propagates so the
    caller can report it to the agent.
    """
    deliverer = _DELIVERERS.get(channel or "")
    if deliverer is None:
        logger.info(
            "Channel %r has no push; %d message(s) wait in the tracker", channel, len(messages)
        )
        return False
    await deliverer(recipient_id, messages)
    return True
