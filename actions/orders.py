"""Order questions: where is my order, and what can I still change."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import MallAction, latest_entity, slot_changes
from actions.clients.errors import NotFound
from actions.clients.models import Order
from actions.formatting import readable_time, variant_label, yuan
from actions.phrases import phrase
from actions.products import intent_payload

# Orders a customer is likely to be asking about.
OPEN_STATUSES = frozenset({"pending_payment", "paid", "shipped", "delivered", "refunding"})
MAX_LISTED = 3

# What the customer can do with an order (how: the domain's utter_part_how_to_* lines).
HOW_TO = ("cancel", "change_address", "change_sku", "refuse_delivery", "return", "exchange")
NEWS_STATUSES = frozenset(
    {"pending_payment", "paid", "shipped", "delivered", "refunding", "refunded"}
)
LEAD_STATUSES = NEWS_STATUSES | {"completed", "cancelled"}


def describe_items(domain: DomainDict, order: Order) -> str:
    """`声悦Pro降噪蓝牙耳机（白色）×1、…`."""
    parts = []
    for item in order["items"]:
        values = {"name": item["name"], "quantity": item["quantity"]}
        if item.get("color") or item.get("size"):
            variant = variant_label(item.get("color"), item.get("size"))
            parts.append(phrase(domain, "utter_part_order_item_variant", variant=variant, **values))
        else:
            parts.append(phrase(domain, "utter_part_order_item", **values))
    return phrase(domain, "utter_part_items_separator").join(parts)


def status_line(domain: DomainDict, order: Order) -> str:
    """Status, items, total, and the latest logistics event once shipped."""
    status = order["status"]
    news = phrase(domain, f"utter_part_news_{status}") if status in NEWS_STATUSES else ""
    lines = [
        phrase(
            domain,
            "utter_part_order_head",
            order_id=order["id"],
            status=order["status_name"],
            news=news,
        ),
        phrase(
            domain,
            "utter_part_order_items",
            items=describe_items(domain, order),
            total=yuan(order["total"]),
        ),
    ]
    logistics = order.get("logistics")
    if logistics:
        lines.append(
            phrase(
                domain,
                "utter_part_logistics",
                courier=logistics["courier"],
                tracking_no=logistics["tracking_no"],
            )
        )
        events = logistics.get("events") or []
        if events:
            latest = events[0]
            where = (
                phrase(domain, "utter_part_logistics_where", location=latest["location"])
                if latest.get("location")
                else ""
            )
            lines.append(
                phrase(
                    domain,
                    "utter_part_logistics_event",
                    time=readable_time(latest["time"]),
                    where=where,
                    description=latest["description"],
                )
            )
        else:
            lines.append(phrase(domain, "utter_part_no_logistics"))
    return "\n".join(lines)


def change_line(domain: DomainDict, order: Order) -> str:
    """What the order's status still allows, and how the customer does it."""
    status = order["status"]
    lead = (
        phrase(domain, f"utter_part_change_lead_{status}")
        if status in LEAD_STATUSES
        else phrase(domain, "utter_part_change_lead_other", status=order["status_name"])
    )
    allowed = [a for a in order.get("allowed_actions") or [] if a in HOW_TO]
    lines = [phrase(domain, "utter_part_change_head", order_id=order["id"], lead=lead)]
    for action in allowed:
        step = (
            "utter_part_change_step_refund"
            if action == "cancel" and status == "paid"
            else "utter_part_change_step"
        )
        lines.append(phrase(domain, step, how=phrase(domain, f"utter_part_how_to_{action}")))
    if allowed:
        lines.append(phrase(domain, "utter_part_change_yourself"))
    elif status not in ("cancelled", "refunded"):
        lines.append(phrase(domain, "utter_part_change_nothing"))
    lines.append(phrase(domain, "utter_part_order_items_only", items=describe_items(domain, order)))
    return "\n".join(lines)


def order_button_title(order: Order) -> str:
    """`O20250101001 已发货 声悦Pro降噪蓝牙耳机`: enough to tell orders apart."""
    first_item = order["items"][0]["name"] if order["items"] else ""
    return f"{order['id']} {order['status_name']} {first_item}".strip()


class _OrderAction(MallAction):
    """Finds the order the customer means: the one named, the only open one, or asks."""

    intent: str = ""

    async def select_order(
        self, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> Order | None:
        """The order to answer about, or None after telling the customer why not."""
        order_id = latest_entity(tracker, "order_id") or tracker.get_slot("order_id")
        if isinstance(order_id, str) and order_id.strip():
            order_id = order_id.strip()
            try:
                return await self.call(self.mall.get_order, tracker.sender_id, order_id)
            except NotFound:
                dispatcher.utter_message(response="utter_order_not_found", order_id=order_id)
                return None

        orders = await self.call(self.mall.list_orders, tracker.sender_id)
        if not orders:
            dispatcher.utter_message(response="utter_no_orders")
            return None
        candidates = [o for o in orders if o["status"] in OPEN_STATUSES] or orders
        if len(candidates) == 1:
            return candidates[0]
        buttons = [
            {
                "title": order_button_title(o),
                "payload": intent_payload(self.intent, order_id=o["id"]),
            }
            for o in candidates[:MAX_LISTED]
        ]
        dispatcher.utter_message(
            response="utter_which_order", count=len(candidates), buttons=buttons
        )
        return None


class ActionOrderStatus(_OrderAction):
    """Status, items and the latest logistics of one of the customer's own orders."""

    intent = "ask_order_status"

    def name(self) -> str:
        """Action name in domain.yml."""
        return "action_order_status"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Answer about the selected order."""
        order = await self.select_order(dispatcher, tracker)
        if order is None:
            return []
        dispatcher.utter_message(response="utter_order_status", lines=status_line(domain, order))
        return slot_changes(tracker, order_id=order["id"])


class ActionModifyOrder(_OrderAction):
    """Explain what the order's status allows; the change itself is made on the order page."""

    intent = "modify_order"

    def name(self) -> str:
        """Action name in domain.yml."""
        return "action_modify_order"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Explain the options for the selected order."""
        order = await self.select_order(dispatcher, tracker)
        if order is None:
            return []
        dispatcher.utter_message(response="utter_order_changes", lines=change_line(domain, order))
        return slot_changes(tracker, order_id=order["id"])
