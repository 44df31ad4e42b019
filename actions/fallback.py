"""What to say when the assistant did not understand: a hint first, then a human."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import MallAction, latest_entity
from actions.products import intent_payload

# Bookkeeping actions that say nothing to the customer.
_SILENT_ACTIONS = frozenset({"action_listen", "action_unlikely_intent"})


def previous_bot_action(events: list[dict[str, Any]]) -> str | None:
    """The last action the assistant ran before the customer's latest message."""
    before_latest_message = False
    for event in reversed(events):
        kind = event.get("event")
        if kind == "user":
            if before_latest_message:
                # Two user messages in a row with no bot action between them.
                return None
            before_latest_message = True
        elif kind == "action" and before_latest_message:
            name = event.get("name")
            if name not in _SILENT_ACTIONS:
                return str(name) if name else None
    return None


class ActionFallback(MallAction):
    """Say so when not understood; the second time in a row, offer a human."""

    def name(self) -> str:
        """Action name in domain.yml."""
        return "action_fallback"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Dispatch the hint, or the human offer after a fallback in the previous turn.

        An order number sent on its own asks nothing yet: the assistant asks what about it.
        """
        order_id = latest_entity(tracker, "order_id")
        if order_id:
            entities = {"order_id": order_id}
            dispatcher.utter_message(
                response="utter_order_number_received",
                order_id=order_id,
                status_payload=intent_payload("ask_order_status", **entities),
                return_payload=intent_payload("return_refund", **entities),
                change_payload=intent_payload("modify_order", **entities),
            )
            return [SlotSet("order_id", order_id)]
        if previous_bot_action(tracker.events) == self.name():
            dispatcher.utter_message(response="utter_offer_human")
        else:
            dispatcher.utter_message(response="utter_default")
        return []
