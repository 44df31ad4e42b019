"""Store policies: shipping, returns and refunds, payment."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import MallAction
from actions.clients.errors import MallError
from actions.clients.models import Order
from actions.formatting import yuan
from actions.products import find_product, product_slots

logger = logging.getLogger(__name__)

REFUND_STATUSES = ("refunding", "refunded")


def _joined(values: Any, sep: str = "、") -> str:
    if isinstance(values, list):
        return sep.join(str(v) for v in values if v)
    return str(values) if values else ""


class ActionShippingPolicy(MallAction):
    """Shipping fee, free-shipping threshold, couriers and delivery times."""

    def name(self) -> str:
        """Action name in domain.yml."""
        return "action_shipping_policy"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Answer from the shipping policy, saying whether the product in play ships free."""
        policy = await self.call(self.mall.get_policy, "shipping")
        lookup = await find_product(self.mall, tracker)
        threshold = policy.get("free_shipping_threshold")
        fee = policy.get("fee")

        lines = []
        if threshold:
            lines.append(f"运费：单笔订单满¥{yuan(threshold)}包邮，不满收运费¥{yuan(fee)}。")
        elif fee:
            lines.append(f"运费：每单¥{yuan(fee)}。")
        else:
            lines.append("运费：全场包邮。")
        product = lookup.product
        if product is not None and threshold:
            price = product["price"]
            if price >= threshold:
                lines.append(f"您看的{product['name']}（¥{yuan(price)}）买一件就包邮。")
            else:
                short = yuan(threshold - price)
                lines.append(f"您看的{product['name']}¥{yuan(price)}，再凑¥{short}就能包邮。")
        if policy.get("dispatch_hours"):
            lines.append(f"发货：付款后{policy['dispatch_hours']}小时内发货。")
        if policy.get("delivery_days"):
            lines.append(f"时效：发货后一般{policy['delivery_days']}天送达。")
        if policy.get("couriers"):
            lines.append(f"快递：{_joined(policy['couriers'])}。")
        if policy.get("remote_areas"):
            lines.append(f"偏远地区：{policy['remote_areas']}")
        lines.extend(str(note) for note in policy.get("notes") or [])
        dispatcher.utter_message(text="\n".join(lines))
        return product_slots(product) if product is not None else []


class ActionReturnRefund(MallAction):
    """The returns policy, and the progress of any refund the customer has under way."""

    def name(self) -> str:
        """Action name in domain.yml."""
        return "action_return_refund"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Answer from the returns policy, then show refunds in progress."""
        policy = await self.call(self.mall.get_policy, "returns")
        lines = []
        if policy.get("no_reason_days"):
            lines.append(
                f"签收后{policy['no_reason_days']}天内支持无理由退货（商品完好、不影响二次销售）。"
            )
        if policy.get("quality_issue_days"):
            lines.append(f"质量问题{policy['quality_issue_days']}天内可以退换。")
        if policy.get("return_shipping"):
            lines.append(f"退货运费：{policy['return_shipping']}")
        if policy.get("refund_days"):
            lines.append(f"退款时效：商家收到退货后{policy['refund_days']}天内原路退回。")
        steps = policy.get("how_to") or []
        if steps:
            lines.append("申请步骤：")
            lines.extend(f"{i}. {step}" for i, step in enumerate(steps, start=1))
        lines.extend(str(note) for note in policy.get("notes") or [])
        lines.extend(await self._refund_progress(tracker.sender_id))
        dispatcher.utter_message(text="\n".join(lines))
        return []

    async def _refund_progress(self, customer_id: str) -> list[str]:
        try:
            orders: list[Order] = await self.call(self.mall.list_orders, customer_id)
        except MallError as exc:
            # The policy alone still answers the question.
            logger.warning("no refund progress for sender %s: %s", customer_id, exc)
            return []
        refunds = [o for o in orders if o["status"] in REFUND_STATUSES]
        if not refunds:
            return []
        lines = ["您的退款进度："]
        for order in refunds[:3]:
            items = "、".join(item["name"] for item in order["items"])
            lines.append(
                f"订单{order['id']}（{items}，¥{yuan(order['total'])}）：{order['status_name']}"
            )
        return lines


class ActionPaymentMethods(MallAction):
    """Payment methods, instalments and invoices."""

    def name(self) -> str:
        """Action name in domain.yml."""
        return "action_payment_methods"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Answer from the payment policy."""
        policy = await self.call(self.mall.get_policy, "payment")
        lines = []
        if policy.get("methods"):
            lines.append(f"支付方式：{_joined(policy['methods'])}。")
        if policy.get("installments"):
            lines.append(f"分期：{policy['installments']}")
        if policy.get("invoice"):
            lines.append(f"发票：{policy['invoice']}")
        dispatcher.utter_message(
            text="\n".join(lines) or "支付相关的问题可以说“转人工”让客服帮您。"
        )
        return []
