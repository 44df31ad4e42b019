"""Messages the assistant starts: the scheduler's offers, and the customer's say over them.

The mall's scheduler (mall/scheduler.py) triggers the external intent
`EXTERNAL_proactive_offer` in the customer's conversation with the rule's offer and the product
it is about; `action_proactive_offer` says it with the domain's lines. A coupon offer leaves the
conversation where a coupon offer in a chat leaves it (`sales_stage: coupon_offered`), so the
customer's "好的" claims it through the same rule. `action_marketing_preference` answers
"退订 / 别再发了" and "恢复推送".
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import MallAction, latest_entity, slot_changes
from actions.clients.errors import MallError
from actions.clients.models import Product
from actions.formatting import yuan
from actions.lines import coupon_terms
from actions.products import intent_payload, product_slots

logger = logging.getLogger(__name__)

# The line an A/B test may vary (mall/experiments.yml): variant `v` shows `<line>_<v>`.
COUPON_LINE = "utter_proactive_coupon"
MARKETING = "marketing"
STOP_INTENT = "stop_marketing"


class ActionProactiveOffer(MallAction):
    """Say the scheduler's offer: a coupon, a cart reminder, a win-back or a back-in-stock."""

    # Nothing the customer wrote is waiting for an answer.
    offers_second_request = False

    def name(self) -> str:
        """Action name in domain.yml."""
        return "action_proactive_offer"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """The offer of the triggering rule, in the words of the domain's responses."""
        offer = latest_entity(tracker, "outreach_offer") or "coupon"
        product = await self._product(latest_entity(tracker, "outreach_product"))
        events = product_slots(product) if product else []
        if offer in ("coupon", "win_back"):
            return events + await self._coupon(dispatcher, tracker, domain, offer, product)
        if offer == "back_in_stock" and product:
            dispatcher.utter_message(
                response="utter_proactive_back_in_stock",
                product=product["name"],
                price=yuan(product["price"]),
                price_payload=intent_payload("ask_price", product=product["name"]),
            )
        elif product:
            dispatcher.utter_message(
                response="utter_proactive_cart_reminder",
                product=product["name"],
                price=yuan(product["price"]),
                discount_payload=intent_payload("ask_discount", product=product["name"]),
            )
        else:
            dispatcher.utter_message(response="utter_proactive_reminder")
        return events + slot_changes(tracker, sales_stage=None, offered_coupon=None)

    async def _product(self, product_id: str | None) -> Product | None:
        if not product_id:
            return None
        try:
            return await self.call(self.mall.get_product, product_id)
        except MallError as exc:  # a product gone since: the offer is said without it
            logger.info("proactive offer without product %s: %s", product_id, exc)
            return None

    async def _coupon(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
        offer: str,
        product: Product | None,
    ) -> list[EventType]:
        product_id = product["id"] if product else None
        best = await self.call(self.mall.best_coupon, tracker.sender_id, product_id)
        template = best["template"]
        if template is None:
            # Nothing to give: a plain reminder rather than a promise the mall cannot keep.
            if offer == "win_back":
                dispatcher.utter_message(response="utter_proactive_win_back_plain")
            elif product:
                dispatcher.utter_message(
                    response="utter_proactive_cart_reminder",
                    product=product["name"],
                    price=yuan(product["price"]),
                    discount_payload=intent_payload("ask_discount", product=product["name"]),
                )
            else:
                dispatcher.utter_message(response="utter_proactive_reminder")
            return slot_changes(tracker, sales_stage=None, offered_coupon=None)
        saving = float(best["saving"])
        values: dict[str, Any] = {
            "coupon": template["name"],
            "terms": coupon_terms(dict(template)),
            "saving": yuan(saving),
        }
        if offer == "win_back":
            response = "utter_proactive_win_back"
        elif product is None:
            response = "utter_proactive_coupon_store"
        else:
            values["product"] = product["name"]
            values["price_after"] = yuan(max(product["price"] - saving, 0.0))
            response = await self._variant_of(COUPON_LINE, tracker.sender_id, domain)
        dispatcher.utter_message(response=response, **values)
        return slot_changes(tracker, sales_stage="coupon_offered", offered_coupon=template["id"])

    async def _variant_of(self, line: str, customer_id: str, domain: DomainDict) -> str:
        """The response of the customer's A/B variant of `line` (the line itself without one)."""
        try:
            exposure = await self.call(self.mall.expose, customer_id, line)
        except MallError as exc:
            logger.info("no experiment variant of %s for %s: %s", line, customer_id, exc)
            return line
        experiment = exposure.get("experiment")
        show = exposure.get("show")
        if not experiment or not show:
            return line
        control = exposure.get("control")
        name = f"{line}_{show}"
        if show == control or name not in (domain.get("responses") or {}):
            return line
        return name


class ActionMarketingPreference(MallAction):
    """Store "退订" (no proactive messages) or "恢复推送", and confirm it."""

    offers_second_request = False

    def name(self) -> str:
        """Action name in domain.yml."""
        return "action_marketing_preference"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Opt out or back in, as the customer's intent says."""
        stop = (tracker.latest_message.get("intent") or {}).get("name") == STOP_INTENT
        await self.call(self.mall.set_opt_out, tracker.sender_id, MARKETING, opted_out=stop)
        dispatcher.utter_message(
            response="utter_marketing_stopped" if stop else "utter_marketing_resumed"
        )
        # An open coupon offer stays claimable: opting out stops messages, not a "好的".
        return []
