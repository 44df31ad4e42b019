"""Shop terms: shipping, returns and refunds, payment."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.answers import answer_topics, joined, numbered, utter_topic
from actions.base import MallAction
from actions.clients.errors import MallError
from actions.clients.models import Order
from actions.formatting import yuan
from actions.phrases import phrase
from actions.products import find_product, product_slots

logger = logging.getLogger(__name__)

REFUND_STATUSES = ("refunding", "refunded")


class ActionShippingTerms(MallAction):
    """Shipping fee, free-shipping threshold, couriers and delivery times."""

    def name(self) -> str:
        """Action name in domain.yml."""
        return "action_shipping_terms"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Answer from the shipping terms, saying whether the product in play ships free."""
        terms = await self.call(self.mall.get_terms, "shipping")
        lookup = await find_product(self.mall, tracker)
        threshold = terms.get("free_shipping_threshold")
        fee = terms.get("fee")

        def part(name: str, **values: Any) -> str:
            return phrase(domain, f"utter_part_{name}", **values)

        if threshold:
            lines = [part("fee_threshold", threshold=yuan(threshold), fee=yuan(fee))]
        elif fee:
            lines = [part("fee_flat", fee=yuan(fee))]
        else:
            lines = [part("fee_free")]
        product = lookup.product
        if product is not None and threshold:
            price = product["price"]
            if price >= threshold:
                lines.append(part("ships_free", product=product["name"], price=yuan(price)))
            else:
                short = yuan(threshold - price)
                lines.append(
                    part(
                        "ships_free_after", product=product["name"], price=yuan(price), short=short
                    )
                )
        if terms.get("dispatch_hours"):
            lines.append(part("dispatch", hours=terms["dispatch_hours"]))
        if terms.get("delivery_days"):
            lines.append(part("delivery", days=terms["delivery_days"]))
        if terms.get("couriers"):
            lines.append(part("couriers", couriers=joined(terms["couriers"])))
        if terms.get("remote_areas"):
            lines.append(part("remote_areas", remote_areas=terms["remote_areas"]))
        lines.extend(str(note) for note in terms.get("notes") or [])
        dispatcher.utter_message(response="utter_shipping_terms", lines="\n".join(lines))
        return product_slots(product) if product is not None else []


class ActionReturnRefund(MallAction):
    """Returns, exchanges and refunds by topic, with the customer's refunds in progress."""

    def name(self) -> str:
        """Action name in domain.yml."""
        return "action_return_refund"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Answer the topic from the returns terms; progress also lists refunds under way."""
        terms = await self.call(self.mall.get_terms, "returns")
        values = returns_values(terms)
        topics = answer_topics(tracker, "return_refund")
        if topics == [None]:
            # A button or a model without topics: the whole terms, how to apply first.
            for each in ("how_to", "conditions", "shipping", "progress"):
                utter_topic(dispatcher, domain, "return_refund", each, **values)
        for topic in topics:
            if topic and not utter_topic(dispatcher, domain, "return_refund", topic, **values):
                utter_topic(dispatcher, domain, "return_refund", "how_to", **values)
        if any(topic in (None, "progress", "amount") for topic in topics):
            progress = await self._refund_progress(tracker.sender_id, domain)
            if progress:
                dispatcher.utter_message(
                    response="utter_refund_progress", lines="".join(f"\n{p}" for p in progress)
                )
            elif "progress" in topics:
                dispatcher.utter_message(response="utter_no_refund_in_progress", **values)
        return []

    async def _refund_progress(self, customer_id: str, domain: DomainDict) -> list[str]:
        try:
            orders: list[Order] = await self.call(self.mall.list_orders, customer_id)
        except MallError as exc:
            # The terms alone still answers the question.
            logger.warning("no refund progress for sender %s: %s", customer_id, exc)
            return []
        refunds = [o for o in orders if o["status"] in REFUND_STATUSES]
        if not refunds:
            return []
        separator = phrase(domain, "utter_part_items_separator")
        return [
            phrase(
                domain,
                "utter_part_refund",
                order_id=order["id"],
                items=separator.join(item["name"] for item in order["items"]),
                total=yuan(order["total"]),
                status=order["status_name"],
            )
            for order in refunds[:3]
        ]


def returns_values(terms: dict[str, Any]) -> dict[str, Any]:
    """What the return_refund and complaint responses fill in from the returns terms."""
    return {
        "no_reason_days": terms.get("no_reason_days", ""),
        "quality_issue_days": terms.get("quality_issue_days", ""),
        "refund_days": terms.get("refund_days", ""),
        "return_shipping": terms.get("return_shipping", ""),
        "steps": numbered([str(step) for step in terms.get("how_to") or []]),
        # On lines of their own after the response's text, or nothing.
        "notes": "".join(f"\n{note}" for note in terms.get("notes") or []),
    }


class ActionPaymentMethods(MallAction):
    """Payment methods, instalments, invoices and failed payments, by topic."""

    def name(self) -> str:
        """Action name in domain.yml."""
        return "action_payment_methods"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Answer the topic from the payment terms (everything when there is no topic)."""
        terms = await self.call(self.mall.get_terms, "payment")
        values = {
            "methods": joined(terms.get("methods")),
            "installments": terms.get("installments", ""),
            "invoice": terms.get("invoice", ""),
        }
        answered = [
            topic
            for topic in answer_topics(tracker, "ask_payment")
            if utter_topic(dispatcher, domain, "ask_payment", topic, **values)
        ]
        if not answered:
            for each in ("methods", "installment", "invoice"):
                utter_topic(dispatcher, domain, "ask_payment", each, **values)
        return []
