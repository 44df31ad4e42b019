"""The sales flow: welcome -> price -> discount offer -> coupon."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any, cast

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.answers import answer_topic, joined, utter_topic
from actions.base import MallAction, message_metadata, slot_changes
from actions.clients.errors import Conflict, MallError, NotFound
from actions.clients.models import Consult, Offer, Product, Profile, Recommendation
from actions.formatting import saving, yuan
from actions.lines import coupon_terms, customer_context, sales_line_for
from actions.products import (
    ProductLookup,
    ask_which_product,
    find_product,
    intent_payload,
    product_or_ask_which,
    product_slots,
    product_sources,
)
from actions.segment_lines import recommendation_message, segment_line

logger = logging.getLogger(__name__)

# ask_discount topics answered from the shop's discount rules instead of a coupon offer.
TERMS_TOPICS = frozenset({"price_protection", "promotion", "not_applied"})


class ActionWelcome(MallAction):
    """Greet the customer personally, and offer the price of the product on their page."""

    def name(self) -> str:
        """Action name in domain.yml."""
        return "action_welcome"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Greet; a mall that cannot answer only makes the greeting plain."""
        product, profile, suggested = await self._greeting_reads(tracker)
        text = sales_line_for(
            tracker, "welcome.j2", customer=customer_context(profile), product=product
        )
        if product is None:
            dispatcher.utter_message(response="utter_welcome", text=text)
            more = recommendation_message(suggested, after_quote=False)
            if more:
                dispatcher.utter_message(**more)
            return []
        dispatcher.utter_message(
            response="utter_welcome_on_product",
            text=text,
            product=product["name"],
            price_payload=intent_payload("ask_price", product=product["name"]),
        )
        return product_slots(product)

    async def _greeting_reads(
        self, tracker: Tracker
    ) -> tuple[Product | None, Profile | None, list[dict[str, Any]]]:
        """The page's product, the profile and suggestions: one mall request."""
        try:
            welcome = await self.call(
                self.mall.welcome, tracker.sender_id, _page_product_id(tracker)
            )
        except NotFound:
            # A mall without the one-request greeting: the same reads one by one.
            return await asyncio.gather(
                self._page_product(tracker),
                self.load_profile(tracker.sender_id),
                suggestions(self, tracker.sender_id, None),
            )
        except MallError as exc:
            logger.warning("plain greeting for sender %s: %s", tracker.sender_id, exc)
            return None, None, []
        recommended = [dict(item) for item in welcome["recommendations"]]
        return welcome["product"], welcome["profile"], recommended

    async def _page_product(self, tracker: Tracker) -> Product | None:
        page_product_id = _page_product_id(tracker)
        if page_product_id is None:
            return None
        try:
            return await self.call(self.mall.get_product, page_product_id)
        except MallError as exc:
            logger.info("welcome without the page product %s: %s", page_product_id, exc)
            return None


def _page_product_id(tracker: Tracker) -> str | None:
    """The product of the page the customer chats from, when the channel says."""
    page_product_id = message_metadata(tracker).get("product_id")
    return page_product_id if isinstance(page_product_id, str) and page_product_id else None


async def suggestions(
    action: MallAction, customer_id: str, product_id: Any
) -> list[dict[str, Any]]:
    """Products to suggest from behaviour; none when the mall cannot say (never an error)."""
    page_product = product_id if isinstance(product_id, str) and product_id else None
    try:
        return await action.call(action.mall.recommend_products, customer_id, page_product)
    except MallError as exc:
        logger.info("no recommendations for sender %s: %s", customer_id, exc)
        return []


def product_card(product: Product) -> dict[str, Any]:
    """The product as a card: `{"type": "product_card", ...}` in Rasa's custom payload."""
    return {
        "type": "product_card",
        "product_id": product["id"],
        "title": product["name"],
        "price": yuan(product["price"]),
        "list_price": yuan(product["list_price"]),
        "image": product.get("image_url"),
    }


class ActionQuotePrice(MallAction):
    """Quote today's price of the product and ask whether the customer wants a discount."""

    def name(self) -> str:
        """Action name in domain.yml."""
        return "action_quote_price"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Quote the price, or ask which product."""
        consult: Consult | None
        try:
            consult = await self.call(
                self.mall.consult,
                tracker.sender_id,
                **product_sources(tracker),
                properties=consult_properties(tracker),
            )
        except NotFound:
            # A mall without the one-request consult: the same answer from separate calls.
            consult = await self._consult_step_by_step(dispatcher, tracker)
            if consult is None:
                return slot_changes(tracker, pending_question="price", sales_stage=None)
        product = consult["product"]
        if product is None:
            lookup = ProductLookup(
                asked_for=consult["asked_for"], suggestions=consult["suggestions"][:3]
            )
            ask_which_product(
                dispatcher,
                tracker,
                lookup,
                intent="ask_price",
                question="utter_ask_which_product_price",
            )
            return slot_changes(tracker, pending_question="price", sales_stage=None)
        self._quote(dispatcher, tracker, product, consult["profile"], consult["recommendations"])
        return product_slots(product) + slot_changes(
            tracker, sales_stage="price_quoted", pending_question=None
        )

    def _quote(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        product: Product,
        profile: Profile | None,
        suggested: list[Any],
    ) -> None:
        discount = saving(product["list_price"], product["price"])
        text = sales_line_for(
            tracker,
            "quote_price.j2",
            product=product,
            saving=discount,
            customer=customer_context(profile),
        )
        # A card the channels show natively (widget card, WeChat mini-program card).
        dispatcher.utter_message(json_message=product_card(product))
        pitch = segment_line(profile, product)
        if pitch:
            dispatcher.utter_message(text=pitch)
        # Before the question: its yes/no must stay the last menu (WeChat answers a menu
        # by the position of the choice in the latest one).
        more = recommendation_message(suggested, after_quote=True)
        if more:
            dispatcher.utter_message(**more)
        dispatcher.utter_message(
            response="utter_quote_price",
            text=text,
            product=product["name"],
            price=yuan(product["price"]),
        )

    async def _consult_step_by_step(
        self, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> Consult | None:
        """The consult's answer from the product, profile and recommendation routes."""
        product = await product_or_ask_which(
            self.mall,
            dispatcher,
            tracker,
            intent="ask_price",
            question="utter_ask_which_product_price",
        )
        if product is None:
            return None
        profile, _, suggested = await asyncio.gather(
            self.load_profile(tracker.sender_id),
            self._record_consult(tracker, product["id"]),
            suggestions(self, tracker.sender_id, product["id"]),
        )
        return {
            "product": product,
            "asked_for": None,
            "suggestions": [],
            "profile": profile,
            "recommendations": cast(list[Recommendation], suggested),
            "segment": None,
        }

    async def _record_consult(self, tracker: Tracker, product_id: str) -> None:
        customer_id = tracker.sender_id
        properties = consult_properties(tracker)
        try:
            await self.call(self.mall.record_event, customer_id, "consult", product_id, properties)
        except MallError as exc:
            # The customer's answer matters more than the statistics.
            logger.warning("could not record consult for sender %s: %s", customer_id, exc)


def consult_properties(tracker: Tracker) -> dict[str, str | float | int | bool | None] | None:
    """What the consult event records: the browser's time zone (the customer's quiet hours)."""
    zone = message_metadata(tracker).get("time_zone")
    return {"time_zone": zone} if isinstance(zone, str) and zone else None


class ActionOfferCoupon(MallAction):
    """Offer the best coupon for this customer on this product (store-wide without one)."""

    def name(self) -> str:
        """Action name in domain.yml."""
        return "action_offer_coupon"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Offer a coupon, or say honestly that there is none right now.

        Questions about discounts that are not a request for one (price protection, how a
        promotion works, why a discount did not apply) get their answer instead.
        """
        topic = answer_topic(tracker, "ask_discount")
        if topic in TERMS_TOPICS:
            terms = await self.call(self.mall.get_terms, "discounts")
            utter_topic(
                dispatcher,
                domain,
                "ask_discount",
                topic,
                price_protection_days=terms.get("price_protection_days", ""),
                promotions=joined(terms.get("promotions"), "；"),
            )
            return slot_changes(tracker, sales_stage=None, offered_coupon=None)
        offer: Offer
        try:
            offer = await self.call(self.mall.offer, tracker.sender_id, **product_sources(tracker))
        except NotFound:
            # A mall without the one-request offer: the same answer from separate calls.
            offer = await self._offer_step_by_step(tracker)
        best = offer["best"]
        if offer["asked_for"] is not None or best is None:
            lookup = ProductLookup(
                asked_for=offer["asked_for"], suggestions=offer["suggestions"][:3]
            )
            ask_which_product(
                dispatcher,
                tracker,
                lookup,
                intent="ask_discount",
                question="utter_ask_which_product_discount",
            )
            return slot_changes(tracker, sales_stage=None, offered_coupon=None)
        product, profile = offer["product"], offer["profile"]
        customer = customer_context(profile)
        events = product_slots(product) if product else []
        discount = saving(product["list_price"], product["price"]) if product else 0.0
        template = best["template"]
        if template is None:
            text = sales_line_for(
                tracker, "no_coupon.j2", product=product, saving=discount, customer=customer
            )
            if product:
                dispatcher.utter_message(
                    response="utter_no_coupon_on_product",
                    text=text,
                    product=product["name"],
                    price=yuan(product["price"]),
                )
            else:
                dispatcher.utter_message(response="utter_no_coupon", text=text)
            return events + slot_changes(tracker, sales_stage=None, offered_coupon=None)

        coupon_saving = float(best["saving"])
        price_after = max(product["price"] - coupon_saving, 0.0) if product else None
        text = sales_line_for(
            tracker,
            "offer_coupon.j2",
            coupon=template,
            saving=coupon_saving,
            product=product,
            price_after=price_after,
            customer=customer,
        )
        dispatcher.utter_message(
            response="utter_offer_coupon",
            text=text,
            coupon=template["name"],
            terms=coupon_terms(dict(template)),
        )
        return events + slot_changes(
            tracker, sales_stage="coupon_offered", offered_coupon=template["id"]
        )

    async def _offer_step_by_step(self, tracker: Tracker) -> Offer:
        """The offer's answer from the product, best-coupon and profile routes."""
        lookup: ProductLookup = await find_product(self.mall, tracker)
        if lookup.unknown:
            return {
                "product": None,
                "asked_for": lookup.asked_for,
                "suggestions": lookup.suggestions,
                "best": None,
                "profile": None,
            }
        product = lookup.product
        best, profile = await asyncio.gather(
            self.call(self.mall.best_coupon, tracker.sender_id, product["id"] if product else None),
            self.load_profile(tracker.sender_id),
        )
        return {
            "product": product,
            "asked_for": None,
            "suggestions": [],
            "best": best,
            "profile": profile,
        }


def coupon_idempotency_key(sender_id: str, template_id: str, message_id: str) -> str:
    """One key per (customer, coupon, user message): a retried turn never issues twice."""
    digest = hashlib.sha256(f"{sender_id}\x1f{template_id}\x1f{message_id}".encode())
    return f"chat-{digest.hexdigest()[:40]}"


def latest_message_id(tracker: Tracker) -> str:
    """The id of the customer's latest message (its timestamp when the channel sent none)."""
    message_id = tracker.latest_message.get("message_id")
    if message_id:
        return str(message_id)
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return str(event.get("message_id") or event.get("timestamp") or "")
    return ""


class ActionIssueCoupon(MallAction):
    """Issue the offered coupon (or the best one) exactly once per customer message."""

    def name(self) -> str:
        """Action name in domain.yml."""
        return "action_issue_coupon"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Issue the coupon and confirm it, or explain why it could not be issued."""
        closed_offer = slot_changes(tracker, sales_stage=None, offered_coupon=None)
        template_id = tracker.get_slot("offered_coupon")
        if not template_id:
            best = await self.call(
                self.mall.best_coupon, tracker.sender_id, tracker.get_slot("product_id")
            )
            if best["template"] is None:
                dispatcher.utter_message(response="utter_no_coupon_to_claim")
                return closed_offer
            template_id = best["template"]["id"]

        key = coupon_idempotency_key(tracker.sender_id, template_id, latest_message_id(tracker))
        try:
            coupon = await self.call(self.mall.issue_coupon, tracker.sender_id, template_id, key)
        except Conflict as exc:
            return self._explain_conflict(dispatcher, tracker, exc) + closed_offer
        except NotFound:
            dispatcher.utter_message(response="utter_coupon_withdrawn")
            return closed_offer

        # The mall sends the customer after the coupon; an older mall is asked separately.
        profile = (
            coupon["profile"] if "profile" in coupon else await self.load_profile(tracker.sender_id)
        )
        dispatcher.utter_message(
            response="utter_coupon_issued",
            text=sales_line_for(
                tracker, "coupon_issued.j2", coupon=coupon, customer=customer_context(profile)
            ),
            code=coupon["code"],
            terms=coupon_terms(dict(coupon)),
        )
        return slot_changes(tracker, issued_coupon=coupon["code"]) + closed_offer

    def _explain_conflict(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, exc: Conflict
    ) -> list[EventType]:
        if exc.code == "limit_reached":
            existing: Any = exc.body.get("coupon")
            coupon = existing if isinstance(existing, dict) and existing.get("code") else None
            dispatcher.utter_message(
                response="utter_coupon_already_issued",
                text=sales_line_for(tracker, "coupon_already_issued.j2", coupon=coupon),
            )
            return slot_changes(tracker, issued_coupon=coupon["code"]) if coupon else []
        if exc.code == "out_of_stock":
            dispatcher.utter_message(response="utter_coupon_sold_out")
            return []
        logger.warning("coupon not issued for sender %s: %s", tracker.sender_id, exc)
        dispatcher.utter_message(response="utter_coupon_not_issued")
        return []


class ActionDeclineOffer(MallAction):
    """Close the offer politely when the customer says no."""

    def name(self) -> str:
        """Action name in domain.yml."""
        return "action_decline_offer"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Say goodbye to the offer, keep the product for later questions."""
        product_name = tracker.get_slot("product")
        text = sales_line_for(
            tracker,
            "decline_offer.j2",
            product_name=product_name if isinstance(product_name, str) else None,
        )
        dispatcher.utter_message(response="utter_offer_declined", text=text)
        return slot_changes(tracker, sales_stage=None, offered_coupon=None)
