"""Catalogue questions: stock per colour/size, and product details."""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

import yaml
from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.answers import answer_topic, utter_topic
from actions.base import MallAction, latest_entity, slot_changes
from actions.clients.errors import MallError
from actions.clients.models import Product, Sku
from actions.formatting import variant_label, yuan
from actions.phrases import phrase
from actions.products import find_product, product_or_ask_which, product_slots

logger = logging.getLogger(__name__)

# Topics answered from the mall's after-sales guide; the product in play makes them specific.
GUIDE_TOPICS = frozenset({"usage", "troubleshooting", "installation", "warranty"})
# Exact counts above this are noise to a customer; below it they help them hurry.
LOW_STOCK = 10

SPEC_SYNONYMS_FILE = Path(__file__).with_name("spec_synonyms.yml")


@functools.lru_cache(maxsize=1)
def spec_synonyms() -> dict[str, tuple[str, ...]]:
    """Words customers use for a spec -> the catalogue's spec names (spec_synonyms.yml)."""
    data = yaml.safe_load(SPEC_SYNONYMS_FILE.read_text(encoding="utf-8")) or {}
    return {str(word): tuple(str(name) for name in names) for word, names in data.items()}


def stock_phrase(domain: DomainDict, sku: Sku) -> str:
    """`白色有货` / `樱花粉仅剩3件` / `黑色L码暂时缺货`."""
    label = variant_label(sku.get("color"), sku.get("size"))
    stock = sku["stock"]
    if stock <= 0:
        return phrase(domain, "utter_part_stock_out", variant=label)
    if stock < LOW_STOCK:
        return phrase(domain, "utter_part_stock_low", variant=label, stock=stock)
    return phrase(domain, "utter_part_stock_in", variant=label)


def matching_skus(skus: list[Sku], *, color: str | None, size: str | None) -> list[Sku]:
    """SKUs of the wanted colour and size: exact match first, then a loose colour match."""
    result = skus
    if size:
        result = [s for s in result if (s.get("size") or "").lower() == size.lower()]
    if color:
        exact = [s for s in result if s.get("color") == color]
        if exact:
            return exact
        # "白" or "白的" means 白色; sizes stay exact because L is not XL.
        stem = color.removesuffix("的").removesuffix("色")
        result = [s for s in result if stem and stem in (s.get("color") or "")]
    return result


class ActionCheckStock(MallAction):
    """Say what is in stock, honouring the colour and size the customer asked about."""

    def name(self) -> str:
        """Action name in domain.yml."""
        return "action_check_stock"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Answer stock per SKU, or ask which product."""
        product = await product_or_ask_which(
            self.mall,
            dispatcher,
            tracker,
            intent="ask_stock",
            question="utter_ask_which_product_stock",
        )
        if product is None:
            return slot_changes(tracker, pending_question="stock")

        dispatcher.utter_message(
            response="utter_stock", lines=self._stock_line(domain, tracker, product)
        )
        return product_slots(product) + slot_changes(tracker, pending_question=None)

    def _stock_line(self, domain: DomainDict, tracker: Tracker, product: Product) -> str:
        name, skus = product["name"], product["skus"]

        def part(piece: str, **values: Any) -> str:
            return phrase(domain, f"utter_part_{piece}", product=name, **values)

        def listed(chosen: list[Sku], separator: str) -> str:
            return separator.join(stock_phrase(domain, s) for s in chosen)

        comma = phrase(domain, "utter_part_list_separator")
        if not skus or all(s["stock"] <= 0 for s in skus):
            return part("all_out")
        if len(skus) == 1 and not skus[0].get("color") and not skus[0].get("size"):
            label = variant_label(None, None)
            return part("single_stock", stock=stock_phrase(domain, skus[0]).removeprefix(label))

        color, size = latest_entity(tracker, "color"), latest_entity(tracker, "size")
        said_now = bool(color or size)
        if not said_now and tracker.get_slot("product_id") == product["id"]:
            # A colour/size from earlier turns only applies to the same product.
            color, size = tracker.get_slot("color"), tracker.get_slot("size")
        if not color and not size:
            return part("stock_list", stock=listed(skus, "\n"))

        wanted = matching_skus(skus, color=color, size=size)
        if not wanted:
            if not said_now:
                return part("stock_list", stock=listed(skus, "\n"))
            asked = variant_label(color, size)
            return part("no_such_variant", variant=asked, stock=listed(skus, "\n"))
        lines = [part("wanted_stock", stock=listed(wanted, comma))]
        if all(s["stock"] <= 0 for s in wanted):
            others = [s for s in skus if s["stock"] > 0]
            lines.append(part("other_stock", stock=listed(others, comma)))
        return "\n".join(lines)


def asked_specs(text: str, specs: dict[str, str]) -> list[str]:
    """Spec names the message asks about, in the order the product lists them."""
    wanted: set[str] = {name for name in specs if name and name in text}
    for word, names in spec_synonyms().items():
        if word in text:
            wanted.update(name for name in names if name in specs)
    return [name for name in specs if name in wanted]


class ActionProductInfo(MallAction):
    """Product questions by topic: specs and fit from the catalogue, usage and fixes from the guide.

    The topic comes from the ResponseSelector (`ask_product_info/<topic>`): spec-like topics
    need the product and answer from its specs; after-sales topics (usage, troubleshooting,
    installation, warranty) answer in general and add the product's own guidance when the
    product in play is known.
    """

    def name(self) -> str:
        """Action name in domain.yml."""
        return "action_product_info"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Answer the topic, or ask which product."""
        topic = self._topic(tracker)
        if topic in GUIDE_TOPICS or topic == "authenticity":
            return await self._after_sales(dispatcher, tracker, domain, topic)

        product = await product_or_ask_which(
            self.mall,
            dispatcher,
            tracker,
            intent="ask_product_info",
            question="utter_ask_which_product_info",
        )
        if product is None:
            # Remember a topic other than plain specs for when the product is named.
            pending = topic if topic != "specs" else None
            return slot_changes(tracker, pending_question="info", answer_topic=pending)
        if topic != "specs":
            utter_topic(dispatcher, domain, "ask_product_info", topic, product=product["name"])
        dispatcher.utter_message(
            response="utter_product_info", lines=self._spec_lines(domain, tracker, product)
        )
        return product_slots(product) + slot_changes(
            tracker, pending_question=None, answer_topic=None
        )

    def _topic(self, tracker: Tracker) -> str:
        """This message's topic; a bare product name answering "which product?" keeps the
        topic of the question it answers."""
        topic = answer_topic(tracker, "ask_product_info") or "specs"
        pending = tracker.get_slot("answer_topic")
        if (
            tracker.get_slot("pending_question") == "info"
            and isinstance(pending, str)
            and pending
            and topic == "specs"
        ):
            return pending
        return topic

    def _spec_lines(self, domain: DomainDict, tracker: Tracker, product: Product) -> str:
        text = tracker.latest_message.get("text") or ""
        specs = product.get("specs") or {}
        first = asked_specs(text, specs)
        name = product["name"]
        lines = [
            phrase(domain, "utter_part_asked_spec", product=name, spec=spec, value=specs[spec])
            for spec in first
        ]
        lines.append(
            phrase(
                domain, "utter_part_description", product=name, description=product["description"]
            )
        )
        rest = [
            phrase(domain, "utter_part_spec", spec=spec, value=value)
            for spec, value in specs.items()
            if spec not in first
        ]
        if rest:
            separator = phrase(domain, "utter_part_specs_separator")
            lines.append(phrase(domain, "utter_part_specs", specs=separator.join(rest)))
        lines.append(phrase(domain, "utter_part_price_now", price=yuan(product["price"])))
        return "\n".join(lines)

    async def _after_sales(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict, topic: str
    ) -> list[EventType]:
        """A general answer, made specific by the product's guide when the product is known."""
        lookup = await find_product(self.mall, tracker)
        product = lookup.product
        name = product["name"] if product is not None else phrase(domain, "utter_part_your_product")
        utter_topic(dispatcher, domain, "ask_product_info", topic, product=name)
        if product is None:
            if topic in GUIDE_TOPICS:
                dispatcher.utter_message(response="utter_ask_which_product_owned")
                return slot_changes(tracker, pending_question="info", answer_topic=topic)
            return slot_changes(tracker, pending_question=None, answer_topic=None)

        guide = await self._guide(product["id"])
        tip = guide.get(topic) or (guide.get("care") if topic == "usage" else None)
        if tip:
            dispatcher.utter_message(text=tip)
        if topic == "troubleshooting":
            dispatcher.utter_message(response="utter_troubleshooting_next")
        return product_slots(product) + slot_changes(
            tracker, pending_question=None, answer_topic=None
        )

    async def _guide(self, product_id: str) -> dict[str, str]:
        try:
            guide = await self.call(self.mall.get_guide, product_id)
        except MallError as exc:
            # The general answer already helps; the product's own lines are a bonus.
            logger.warning("no guide for %s: %s", product_id, exc)
            return {}
        return dict(guide.get("topics") or {})
