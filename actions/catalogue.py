"""Catalogue questions: stock per colour/size, and product details."""

from __future__ import annotations

import logging

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.answers import answer_topic, utter_topic
from actions.base import MallAction, latest_entity, slot_changes
from actions.clients.errors import MallError
from actions.clients.models import Product, Sku
from actions.formatting import variant_label, yuan
from actions.products import find_product, product_or_ask_which, product_slots

logger = logging.getLogger(__name__)

# Topics answered from the mall's after-sales guide; the product in play makes them specific.
GUIDE_TOPICS = frozenset({"usage", "troubleshooting", "installation", "warranty"})
# How an answer names a product the assistant does not know yet.
GENERIC_PRODUCT = "您的商品"

# Exact counts above this are noise to a customer; below it they help them hurry.
LOW_STOCK = 10

# Words customers use for a spec, and the spec names the catalogue uses for it.
SPEC_SYNONYMS: dict[str, tuple[str, ...]] = {
    "材质": ("材质", "面料", "材料"),
    "面料": ("面料", "材质"),
    "材料": ("材质", "面料"),
    "重量": ("重量", "克重"),
    "多重": ("重量", "克重"),
    "续航": ("续航", "电池"),
    "电池": ("电池", "续航"),
    "多久": ("续航",),
    "尺寸": ("尺寸", "规格"),
    "多大": ("尺寸", "规格", "容量"),
    "容量": ("容量",),
    "防水": ("防水", "防水等级"),
    "蓝牙": ("蓝牙版本", "连接"),
    "保质期": ("保质期",),
    "功率": ("功率", "最大输出"),
}


def stock_phrase(sku: Sku) -> str:
    """`白色有货` / `樱花粉仅剩3件` / `黑色L码暂时缺货`."""
    label = variant_label(sku.get("color"), sku.get("size"))
    stock = sku["stock"]
    if stock <= 0:
        return f"{label}暂时缺货"
    if stock < LOW_STOCK:
        return f"{label}仅剩{stock}件"
    return f"{label}有货"


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
            self.mall, dispatcher, tracker, intent="ask_stock", question="您想查哪款商品的库存呢？"
        )
        if product is None:
            return slot_changes(tracker, pending_question="stock")

        dispatcher.utter_message(text=self._stock_line(tracker, product))
        return product_slots(product) + slot_changes(tracker, pending_question=None)

    def _stock_line(self, tracker: Tracker, product: Product) -> str:
        name, skus = product["name"], product["skus"]
        if not skus or all(s["stock"] <= 0 for s in skus):
            return f"抱歉，{name}目前全部暂时缺货了，可以先看看其他商品，或者过几天再来问我。"
        if len(skus) == 1 and not skus[0].get("color") and not skus[0].get("size"):
            return f"{name}{stock_phrase(skus[0]).removeprefix('默认款')}。"

        color, size = latest_entity(tracker, "color"), latest_entity(tracker, "size")
        said_now = bool(color or size)
        if not said_now and tracker.get_slot("product_id") == product["id"]:
            # A colour/size from earlier turns only applies to the same product.
            color, size = tracker.get_slot("color"), tracker.get_slot("size")
        if not color and not size:
            return f"{name}库存情况：\n" + "\n".join(stock_phrase(s) for s in skus)

        wanted = matching_skus(skus, color=color, size=size)
        if not wanted:
            if not said_now:
                return f"{name}库存情况：\n" + "\n".join(stock_phrase(s) for s in skus)
            asked = variant_label(color, size)
            return f"{name}没有{asked}这个款式，现有：\n" + "\n".join(stock_phrase(s) for s in skus)
        lines = [f"{name}：" + "，".join(stock_phrase(s) for s in wanted) + "。"]
        if all(s["stock"] <= 0 for s in wanted):
            others = [stock_phrase(s) for s in skus if s["stock"] > 0]
            lines.append("其他有货的款式：" + "，".join(others) + "。")
        return "\n".join(lines)


def asked_specs(text: str, specs: dict[str, str]) -> list[str]:
    """Spec names the message asks about, in the order the product lists them."""
    wanted: set[str] = {name for name in specs if name and name in text}
    for word, names in SPEC_SYNONYMS.items():
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
            question="您想了解哪款商品呢？",
        )
        if product is None:
            # Remember a topic other than plain specs for when the product is named.
            pending = topic if topic != "specs" else None
            return slot_changes(tracker, pending_question="info", answer_topic=pending)
        if topic != "specs":
            utter_topic(dispatcher, domain, "ask_product_info", topic, product=product["name"])
        dispatcher.utter_message(text=self._spec_lines(tracker, product))
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

    def _spec_lines(self, tracker: Tracker, product: Product) -> str:
        text = tracker.latest_message.get("text") or ""
        specs = product.get("specs") or {}
        first = asked_specs(text, specs)
        lines = [f"{product['name']}的{name}：{specs[name]}" for name in first]
        lines.append(f"{product['name']}：{product['description']}")
        rest = [f"{name}：{value}" for name, value in specs.items() if name not in first]
        if rest:
            lines.append("【参数】" + "；".join(rest))
        lines.append(f"现价¥{yuan(product['price'])}。")
        return "\n".join(lines)

    async def _after_sales(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict, topic: str
    ) -> list[EventType]:
        """A general answer, made specific by the product's guide when the product is known."""
        lookup = await find_product(self.mall, tracker)
        product = lookup.product
        name = product["name"] if product is not None else GENERIC_PRODUCT
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
