"""Hand the conversation to a person, with the whole context, or take a message when none is free.

`action_handoff` runs when components/handoff_policy.py (sentiment, complaints, repeated
misunderstanding), the `request_human` rule, or a failing mall decides a person should take
over. It opens the handoff in the mall with a context package, tells the customer the
expected wait and pauses the bot (Rasa's pause: the customer's messages are still recorded
for the agent). Outside service hours or with nobody online it says so honestly and offers
to take a message or a call-back number; `action_leave_message` records it.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ConversationPaused, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import MallAction
from actions.clients.errors import MallError
from actions.settings import get_settings

logger = logging.getLogger(__name__)

TRANSCRIPT_LINES = 30
# Mainland mobile numbers, or landlines with an area code, as customers type them.
_PHONE = re.compile(r"(?<!\d)(1[3-9]\d[ -]?\d{4}[ -]?\d{4}|0\d{2,3}-?\d{7,8})(?!\d)")


def find_phone(text: str) -> str | None:
    """A phone number in the customer's words, digits only, or None."""
    match = _PHONE.search(text or "")
    return re.sub(r"[ -]", "", match.group(1)) if match else None


def masked(phone: str) -> str:
    """138****5678: enough for the customer to recognise, not to copy."""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else phone


def handoff_reason(tracker: Tracker) -> str:
    """Why: the policy's reason slot, else what the latest message says."""
    reason = tracker.get_slot("handoff_reason")
    if reason:
        return str(reason)
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    return "customer_asked" if intent == "request_human" else "not_understood"


def context_package(tracker: Tracker, profile: dict[str, Any] | None) -> dict[str, Any]:
    """What the agent needs: transcript, product, order, profile, sentiment, coupons."""
    transcript: list[dict[str, Any]] = []
    sentiment: list[dict[str, Any]] = []
    for event in tracker.events:
        kind = event.get("event")
        if kind == "user":
            parse = event.get("parse_data") or {}
            score = (parse.get("sentiment") or {}).get("score")
            transcript.append(
                {
                    "who": "customer",
                    "text": event.get("text"),
                    "at": event.get("timestamp"),
                    "intent": (parse.get("intent") or {}).get("name"),
                }
            )
            if event.get("text") and not str(event.get("text")).startswith("/"):
                sentiment.append({"text": event.get("text"), "score": score})
        elif kind == "bot" and event.get("text"):
            transcript.append(
                {"who": "bot", "text": event.get("text"), "at": event.get("timestamp")}
            )
    product_id = tracker.get_slot("product_id")
    return {
        "transcript": transcript[-TRANSCRIPT_LINES:],
        "sentiment": sentiment[-TRANSCRIPT_LINES:],
        "product": {"id": product_id, "name": tracker.get_slot("product")}
        if product_id or tracker.get_slot("product")
        else None,
        "order_id": tracker.get_slot("order_id"),
        "sales_stage": tracker.get_slot("sales_stage"),
        "offered_coupon": tracker.get_slot("offered_coupon"),
        "issued_coupon": tracker.get_slot("issued_coupon"),
        "profile": _profile_view(profile),
    }


def _profile_view(profile: dict[str, Any] | None) -> dict[str, Any] | None:
    if not profile:
        return None
    return {
        "name": profile.get("display_name"),
        "segment": profile.get("segment"),
        "card": profile.get("card"),
        "interests": profile.get("interests") or [],
        "stats": profile.get("stats") or {},
    }


class ActionHandoff(MallAction):
    """Open a handoff and pause the bot, or offer to take a message when nobody can answer."""

    offers_second_request = False

    def name(self) -> str:
        """Action name in domain.yml."""
        return "action_handoff"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Open the handoff in the mall and tell the customer what happens next."""
        reason = handoff_reason(tracker)
        channel = tracker.get_latest_input_channel() or "rest"
        profile: dict[str, Any] | None = None
        if reason != "service_failure":
            loaded = await self.load_profile(tracker.sender_id)
            profile = dict(loaded) if loaded else None
        try:
            opened = await self.call(
                self.mall.open_handoff,
                tracker.sender_id,
                channel,
                reason,
                context_package(tracker, profile),
            )
        except MallError as exc:
            # Nobody would ever see the handoff: say so, and give the hotline.
            logger.error("handoff for %s not recorded: %s", tracker.sender_id, exc)
            hotline = get_settings().hotline
            dispatcher.utter_message(response="utter_handoff_failed", hotline=hotline)
            return [SlotSet("handoff_reason", reason)]
        state = opened["availability"]
        handoff_id = str(opened["handoff"]["id"])
        if opened["handoff"]["status"] == "active" or state["available"]:
            dispatcher.utter_message(
                response="utter_handoff_started", wait_minutes=state["expected_wait_minutes"]
            )
            return [
                SlotSet("handoff_reason", reason),
                SlotSet("handoff_id", handoff_id),
                SlotSet("handoff_status", "waiting"),
                ConversationPaused(),
            ]
        if not state["in_service_hours"]:
            dispatcher.utter_message(
                response="utter_handoff_outside_hours", service_hours=state["service_hours"]
            )
        else:
            dispatcher.utter_message(response="utter_handoff_no_agent")
        return [
            SlotSet("handoff_reason", reason),
            SlotSet("handoff_id", handoff_id),
            SlotSet("handoff_status", "leave_message"),
        ]


class ActionLeaveMessage(MallAction):
    """Record what the customer wrote (and a call-back number in it) for the offline team."""

    offers_second_request = False

    def name(self) -> str:
        """Action name in domain.yml."""
        return "action_leave_message"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Store the note; confirm with the masked number when there is one."""
        text = str(tracker.latest_message.get("text") or "").strip()
        handoff_id = tracker.get_slot("handoff_id")
        done = [SlotSet("handoff_status", None)]
        if not handoff_id or not text:
            dispatcher.utter_message(response="utter_how_can_i_help")
            return done
        phone = find_phone(text)
        await self.call(
            self.mall.add_handoff_note,
            int(handoff_id),
            text[:2000],
            "callback" if phone else "message",
            phone,
        )
        if phone:
            dispatcher.utter_message(response="utter_callback_recorded", phone=masked(phone))
        else:
            dispatcher.utter_message(response="utter_message_recorded")
        return done
