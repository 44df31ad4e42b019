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
from actions.products import intent_payload

# Orders a customer is likely to be asking about.
OPEN_STATUSES = frozenset({"pending_payment", "paid", "shipped", "delivered", "refunding"})
MAX_LISTED = 3

STATUS_NEWS = {
    "pending_payment": "付款后会尽快为您发货。",
    "paid": "仓库正在备货，会尽快发出。",
    "shipped": "包裹正在路上。",
    "delivered": "收到的商品有问题可以申请售后。",
    "refunding": "退款会原路退回。",
    "refunded": "款项已原路退回。",
}

# What each status means for a change, said before the list of what is still possible.
CHANGE_LEAD = {
    "pending_payment": "这笔订单还没付款，可以随意修改或取消：",
    "paid": "这笔订单已付款、还没发货，现在改还来得及：",
    "shipped": "这笔订单已经发货，没法再修改地址或颜色尺码了。您可以：",
    "delivered": "这笔订单已经签收，不能再修改了，可以按售后政策退换货：",
    "completed": "这笔订单已经完成，不能再修改了，可以按售后政策退换货：",
    "cancelled": "这笔订单已经取消了，没有需要修改的内容。",
    "refunding": "这笔订单正在退款中，暂时不能修改。",
    "refunded": "这笔订单已经退款完成，不能再修改了。",
}

# How to do each allowed action: changes are made by the customer on the order page.
HOW_TO = {
    "cancel": "取消订单：在「我的订单」里打开这笔订单，点「取消订单」",
    "change_address": "修改收货地址：打开订单详情，点「修改地址」",
    "change_sku": "换颜色/尺码：打开订单详情，点「修改规格」",
    "refuse_delivery": "快递上门时直接拒收，包裹退回后自动退款",
    "return": "申请退货：签收后在「我的订单」点「申请售后」→「退货退款」",
    "exchange": "申请换货：在「我的订单」点「申请售后」→「换货」",
}


def describe_items(order: Order) -> str:
    """`声悦Pro降噪蓝牙耳机（白色）×1、…`."""
    parts = []
    for item in order["items"]:
        variant = variant_label(item.get("color"), item.get("size"))
        detail = f"（{variant}）" if variant != "默认款" else ""
        parts.append(f"{item['name']}{detail}×{item['quantity']}")
    return "、".join(parts)


def status_line(order: Order) -> str:
    """Status, items, total, and the latest logistics event once shipped."""
    news = STATUS_NEWS.get(order["status"], "")
    lines = [
        f"订单{order['id']}：{order['status_name']}。{news}",
        f"商品：{describe_items(order)}，合计¥{yuan(order['total'])}",
    ]
    logistics = order.get("logistics")
    if logistics:
        lines.append(f"快递：{logistics['courier']}，运单号{logistics['tracking_no']}")
        events = logistics.get("events") or []
        if events:
            latest = events[0]
            where = f"【{latest['location']}】" if latest.get("location") else ""
            lines.append(
                f"最新物流：{readable_time(latest['time'])} {where}{latest['description']}"
            )
        else:
            lines.append("暂时还没有物流更新，揽收后就能查到。")
    return "\n".join(lines)


def change_line(order: Order) -> str:
    """What the order's status still allows, and how the customer does it."""
    lead = CHANGE_LEAD.get(order["status"], f"这笔订单现在是「{order['status_name']}」。")
    allowed = [a for a in order.get("allowed_actions") or [] if a in HOW_TO]
    lines = [f"订单{order['id']}：{lead}"]
    for action in allowed:
        refund_note = "（全额退款）" if action == "cancel" and order["status"] == "paid" else ""
        lines.append(f"· {HOW_TO[action]}{refund_note}")
    if allowed:
        lines.append(
            "为了您的账户安全，修改和取消需要您在订单页面亲自操作，遇到问题可以说“转人工”。"
        )
    elif order["status"] not in ("cancelled", "refunded"):
        lines.append("目前没有可以自助修改的内容，需要的话可以说“转人工”。")
    lines.append(f"商品：{describe_items(order)}")
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
                dispatcher.utter_message(
                    text=f"在您的订单里没有找到订单号{order_id}，麻烦核对一下订单号"
                    "（可以在「我的订单」里复制）。"
                )
                return None

        orders = await self.call(self.mall.list_orders, tracker.sender_id)
        if not orders:
            dispatcher.utter_message(text="您目前还没有订单哦，有想买的商品可以问我价格和库存～")
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
            text=f"您最近有{len(candidates)}笔订单，想问哪一笔呢？", buttons=buttons
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
        dispatcher.utter_message(text=status_line(order))
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
        dispatcher.utter_message(text=change_line(order))
        return slot_changes(tracker, order_id=order["id"])
