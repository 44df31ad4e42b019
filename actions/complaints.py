"""Complaints: an apology that fits what went wrong, the after-sales path, and a person."""

from __future__ import annotations

import logging

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.answers import answer_topic, utter_topic
from actions.base import HANDOFF_ACTION, MallAction
from actions.clients.errors import MallError
from actions.phrases import phrase
from actions.products import find_product, product_slots
from actions.terms import returns_values

logger = logging.getLogger(__name__)

# Complaints a person takes over at once, whatever the sentiment score says.
HANDOFF_TOPICS = frozenset({"threat"})
DEFAULT_TOPIC = "defect"


class ActionComplaint(MallAction):
    """Apologise for the kind of problem, offer return/exchange/repair and a person."""

    def name(self) -> str:
        """Action name in domain.yml."""
        return "action_complaint"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Answer by topic; a threat (投诉, 12315, 曝光) goes straight to a person."""
        topic = answer_topic(tracker, "complaint") or DEFAULT_TOPIC
        lookup = await find_product(self.mall, tracker)
        product = lookup.product
        values = {
            "product": product["name"]
            if product is not None
            else phrase(domain, "utter_part_your_product"),
            **await self._returns_values(domain),
        }
        if not utter_topic(dispatcher, domain, "complaint", topic, **values):
            utter_topic(dispatcher, domain, "complaint", DEFAULT_TOPIC, **values)
        events: list[EventType] = product_slots(product) if product is not None else []
        if topic in HANDOFF_TOPICS:
            return [
                *events,
                SlotSet("handoff_reason", "angry_complaint"),
                FollowupAction(HANDOFF_ACTION),
            ]
        dispatcher.utter_message(response="utter_complaint_options")
        return events

    async def _returns_values(self, domain: DomainDict) -> dict[str, object]:
        try:
            terms = await self.call(self.mall.get_terms, "returns")
        except MallError as exc:
            # The apology must not wait for the mall: the days read "规定时间" instead.
            logger.warning("no returns terms for a complaint answer: %s", exc)
            return {"quality_issue_days": phrase(domain, "utter_part_returns_days_unknown")}
        return returns_values(terms)
