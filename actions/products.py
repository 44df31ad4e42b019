"""Which product the customer means: entity, page metadata, message text, earlier turns."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import latest_entity, message_metadata
from actions.clients.errors import NotFound
from actions.clients.mall import MallClient
from actions.clients.models import Product, ProductSummary
from actions.lines import sales_line_for

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProductLookup:
    """The product in play, or the words that named none (with near matches)."""

    product: Product | None = None
    asked_for: str | None = None
    suggestions: list[ProductSummary] = field(default_factory=list)

    @property
    def unknown(self) -> bool:
        """The customer named a product the catalogue does not have."""
        return self.product is None and self.asked_for is not None


async def find_product(mall: MallClient, tracker: Tracker) -> ProductLookup:
    """Resolve the product: entity > page metadata > names in the text > earlier turns."""
    words = latest_entity(tracker, "product")
    if words:
        resolution = await asyncio.to_thread(mall.resolve_product, words)
        if resolution["product"] is not None:
            return ProductLookup(product=resolution["product"])
        return ProductLookup(asked_for=words, suggestions=resolution["suggestions"][:3])

    page_product_id = message_metadata(tracker).get("product_id")
    if isinstance(page_product_id, str) and page_product_id:
        product = await _product_or_none(mall, page_product_id)
        if product is not None:
            return ProductLookup(product=product)

    text = (tracker.latest_message.get("text") or "").strip()
    # A button payload (`/intent{...}`) carries its product as an entity, not as words.
    if text and not text.startswith("/"):
        mentioned = await asyncio.to_thread(mall.match_products, text)
        if mentioned:
            product = await _product_or_none(mall, mentioned[0]["id"])
            if product is not None:
                return ProductLookup(product=product)

    earlier_id = tracker.get_slot("product_id")
    if isinstance(earlier_id, str) and earlier_id:
        product = await _product_or_none(mall, earlier_id)
        if product is not None:
            return ProductLookup(product=product)
    return ProductLookup()


def product_sources(tracker: Tracker) -> dict[str, str | None]:
    """Where the product in play may come from, as `find_product` reads them, for the mall's
    one-request consult: the product entity, the page's product, the message text, the slot."""
    page_product_id = message_metadata(tracker).get("product_id")
    text = (tracker.latest_message.get("text") or "").strip()
    earlier_id = tracker.get_slot("product_id")
    return {
        "words": latest_entity(tracker, "product"),
        "page_product_id": page_product_id if isinstance(page_product_id, str) else None,
        # A button payload (`/intent{...}`) carries its product as an entity, not as words.
        "text": text if text and not text.startswith("/") else None,
        "product_id": earlier_id if isinstance(earlier_id, str) else None,
    }


async def _product_or_none(mall: MallClient, product_id: str) -> Product | None:
    try:
        return await asyncio.to_thread(mall.get_product, product_id)
    except NotFound:
        logger.info("product %s is no longer in the catalogue", product_id)
        return None


def product_slots(product: Product) -> list[EventType]:
    """Remember the product for later turns: its id and canonical name."""
    return [SlotSet("product_id", product["id"]), SlotSet("product", product["name"])]


def ask_which_product(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    lookup: ProductLookup,
    *,
    intent: str,
    question: str,
) -> None:
    """Say the named product was not found (offering near matches), or ask `question`.

    `question` is the domain response that asks which product.
    """
    if not lookup.unknown:
        dispatcher.utter_message(response=question)
        return
    words = lookup.asked_for or ""
    dispatcher.utter_message(
        response="utter_product_not_found_suggestions"
        if lookup.suggestions
        else "utter_product_not_found",
        text=sales_line_for(
            tracker, "product_not_found.j2", words=words, suggestions=lookup.suggestions
        ),
        buttons=suggestion_buttons(intent, lookup.suggestions),
        words=words,
    )


async def product_or_ask_which(
    mall: MallClient,
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    *,
    intent: str,
    question: str,
) -> Product | None:
    """The product in play, or None after asking which one (offering near matches)."""
    lookup = await find_product(mall, tracker)
    if lookup.product is None:
        ask_which_product(dispatcher, tracker, lookup, intent=intent, question=question)
    return lookup.product


def suggestion_buttons(intent: str, suggestions: list[ProductSummary]) -> list[dict[str, str]]:
    """Buttons that re-ask the same question about each suggested product."""
    return [
        {"title": item["name"], "payload": intent_payload(intent, product=item["name"])}
        for item in suggestions
    ]


def intent_payload(intent: str, **entities: str) -> str:
    """`/ask_price{"product": "声悦Pro降噪蓝牙耳机"}`: a button that sends an intent."""
    if not entities:
        return f"/{intent}"
    return f"/{intent}{json.dumps(entities, ensure_ascii=False)}"
