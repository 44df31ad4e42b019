"""The shared base of every mall action: failures become polite answers, never silence."""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, TypeVar

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.answers import offer_second_request
from actions.clients.errors import MallError, MallUnavailable
from actions.clients.mall import MallClient, default_mall_client
from actions.clients.models import Profile

logger = logging.getLogger(__name__)

T = TypeVar("T")

HANDOFF_ACTION = "action_handoff"
SORRY_RESPONSE = "utter_sorry_failed"


class MallAction(Action, ABC):
    """An action that talks to the mall; subclasses implement `respond`."""

    # Whether a second request in the customer's message is offered after the answer (not
    # when the conversation goes to a person).
    offers_second_request = True

    def __init__(self, mall: MallClient | None = None) -> None:
        # The executor builds every action with no arguments at import: build the client
        # only when a conversation first needs it.
        self._mall = mall

    @property
    def mall(self) -> MallClient:
        """The mall client: the injected one, else the process-wide default."""
        if self._mall is None:
            self._mall = default_mall_client()
        return self._mall

    async def call(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking client call in a worker thread so the event loop keeps serving."""
        return await asyncio.to_thread(method, *args, **kwargs)

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Answer the turn; a failing mall or a bug still gets the customer a polite line."""
        already_sent = len(dispatcher.messages)
        try:
            events = await self.respond(dispatcher, tracker, domain)
        except MallUnavailable as exc:
            logger.warning(
                "mall unavailable in %s for sender %s: %s", self.name(), tracker.sender_id, exc
            )
            # Drop half an answer: the apology alone is clearer than a line cut short.
            del dispatcher.messages[already_sent:]
            if self.mall.breaker.is_open and self.name() != HANDOFF_ACTION:
                # Failing again and again: a person (or the hotline) rather than one more
                # apology per turn.
                return [
                    SlotSet("handoff_reason", "service_failure"),
                    FollowupAction(HANDOFF_ACTION),
                ]
            dispatcher.utter_message(response="utter_service_unavailable")
            return []
        except Exception:
            logger.exception("%s failed for sender %s", self.name(), tracker.sender_id)
            del dispatcher.messages[already_sent:]
            dispatcher.utter_message(response=SORRY_RESPONSE)
            return []
        # "退货 另外运费谁出": the first request is answered, the second is offered.
        if self.offers_second_request and not any(
            event.get("event") in ("pause", "followup") for event in events
        ):
            offer_second_request(dispatcher, tracker)
        return events

    @abstractmethod
    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Read slots, call the mall, dispatch lines and return the events of this turn."""

    async def load_profile(self, customer_id: str) -> Profile | None:
        """The customer's card profile, or None when unknown or the mall cannot say."""
        try:
            return await self.call(self.mall.get_profile, customer_id)
        except MallError as exc:
            # Personalisation is a nicety: answer plainly rather than not at all.
            logger.warning("no profile for sender %s: %s", customer_id, exc)
            return None


def slot_changes(tracker: Tracker, **values: Any) -> list[EventType]:
    """SlotSet events for the slots whose value differs from the tracker's."""
    return [
        SlotSet(name, value) for name, value in values.items() if tracker.get_slot(name) != value
    ]


def latest_entity(tracker: Tracker, entity: str) -> str | None:
    """The first value of `entity` in the latest message, stripped, or None."""
    for value in tracker.get_latest_entity_values(entity):
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def message_metadata(tracker: Tracker) -> dict[str, Any]:
    """The channel metadata of the latest message (the page may pass a product id)."""
    metadata = tracker.latest_message.get("metadata")
    return metadata if isinstance(metadata, dict) else {}
