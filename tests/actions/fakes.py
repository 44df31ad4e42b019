"""Test doubles for the action tests: an in-memory mall and tracker builders."""

from __future__ import annotations

import asyncio
import copy
import functools
import re
import time
from pathlib import Path
from typing import Any

import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.clients.breaker import CircuitBreaker
from actions.clients.errors import Conflict, MallUnavailable, NotFound

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE_FILE = ROOT / "mall" / "seed" / "catalogue.yml"
DOMAIN_FILE = ROOT / "domain.yml"

DOMAIN: dict[str, Any] = yaml.safe_load(DOMAIN_FILE.read_text(encoding="utf-8"))
_VARIABLE = re.compile(r"\{(\w+)\}")


def load_catalogue() -> dict[str, dict[str, Any]]:
    """The demo catalogue as API-shaped products, keyed by id (a fresh copy each call)."""
    return copy.deepcopy(_parsed_catalogue())


@functools.lru_cache(maxsize=1)
def _parsed_catalogue() -> dict[str, dict[str, Any]]:
    seed = yaml.safe_load(CATALOGUE_FILE.read_text(encoding="utf-8"))
    categories = {c["id"]: c["name"] for c in seed["categories"]}
    suppliers = {s["id"]: s["name"] for s in seed["suppliers"]}
    products = {}
    for raw in seed["products"]:
        skus = [
            {
                "sku_id": f"{raw['id']}-{i}",
                "color": sku.get("color"),
                "size": str(sku["size"]) if sku.get("size") is not None else None,
                "stock": int(sku["stock"]),
            }
            for i, sku in enumerate(raw["skus"], start=1)
        ]
        products[raw["id"]] = {
            "id": raw["id"],
            "name": raw["name"],
            "category": raw["category"],
            "price": float(raw["price"]),
            "list_price": float(raw["list_price"]),
            "category_name": categories[raw["category"]],
            "supplier": suppliers[raw["supplier"]],
            "aliases": list(raw.get("aliases") or []),
            "description": raw["description"],
            "specs": {str(k): str(v) for k, v in (raw.get("specs") or {}).items()},
            "skus": skus,
            "total_stock": sum(s["stock"] for s in skus),
            "image_url": None,
        }
    return products


def summary(product: dict[str, Any]) -> dict[str, Any]:
    """The ProductSummary view of a product."""
    return {k: product[k] for k in ("id", "name", "category", "price", "list_price")}


SHIPPING_TERMS = {
    "free_shipping_threshold": 99.0,
    "fee": 8.0,
    "couriers": ["顺丰速运", "中通快递"],
    "dispatch_hours": 48,
    "delivery_days": "2-4",
    "remote_areas": "新疆、西藏等偏远地区运费另计，时效约5-7天。",
    "notes": ["生鲜商品当天发货。"],
}
RETURNS_TERMS = {
    "no_reason_days": 7,
    "quality_issue_days": 15,
    "return_shipping": "无理由退货由买家承担运费，质量问题由商家承担。",
    "refund_days": "1-3",
    "how_to": ["打开「我的订单」", "选择订单点「申请售后」", "填写原因并寄回商品"],
    "notes": [],
}
PAYMENT_TERMS = {
    "methods": ["微信支付", "支付宝", "银行卡"],
    "installments": "单笔满600元可用花呗分期，3/6/12期。",
    "invoice": "支持电子普通发票，在订单详情页申请。",
}
DISCOUNTS_TERMS = {
    "price_protection_days": 7,
    "promotions": ["全场满199减20元", "新客首单立减10元"],
}
GUIDES = {
    "digital": {
        "usage": "长按电源键进入配对。",
        "troubleshooting": "连不上时先恢复出厂设置再重新配对。",
        "warranty": "数码产品质保1年。",
    }
}


def make_template(**overrides: Any) -> dict[str, Any]:
    """A coupon template with sensible defaults."""
    template = {
        "id": "T-AUDIO-30",
        "name": "耳机满减券",
        "kind": "threshold",
        "amount": 30.0,
        "threshold": 199.0,
        "valid_days": None,
        "valid_until": "2031-01-31T15:59:59+00:00",
        "per_user_limit": 1,
        "stock_left": 100,
        "segments": [],
        "product_ids": ["P1001", "P1002"],
        "category_ids": [],
        "description": "",
    }
    template.update(overrides)
    return template


def make_profile(customer_id: str = "cust-1", **overrides: Any) -> dict[str, Any]:
    """A card profile with sensible defaults."""
    profile = {
        "customer_id": customer_id,
        "display_name": "小王",
        "channel": "wechat",
        "card": {"id": "card-1", "owner_name": "李姐", "shop_name": "李姐的数码小铺"},
        "interests": ["蓝牙耳机"],
        "segment": "regular",
        "last_visit_at": "2024-01-01T00:00:00+00:00",
        "stats": {"card_view": 3, "product_view": 5, "add_to_cart": 1, "consult": 2, "order": 1},
    }
    profile.update(overrides)
    return profile


def make_order(order_id: str, status: str, **overrides: Any) -> dict[str, Any]:
    """An order with sensible defaults for its status."""
    names = {
        "pending_payment": "待付款",
        "paid": "待发货",
        "shipped": "已发货",
        "delivered": "已签收",
        "completed": "已完成",
        "cancelled": "已取消",
        "refunding": "退款中",
        "refunded": "已退款",
    }
    allowed = {
        "pending_payment": ["cancel", "change_address"],
        "paid": ["cancel", "change_address", "change_sku"],
        "shipped": ["refuse_delivery", "return"],
        "delivered": ["return", "exchange"],
        "completed": ["return", "exchange"],
        "cancelled": [],
        "refunding": [],
        "refunded": [],
    }
    logistics = None
    if status in ("shipped", "delivered", "completed"):
        logistics = {
            "courier": "顺丰速运",
            "tracking_no": "SF1234567890",
            "events": [
                {
                    "time": "2025-01-02T02:05:00+00:00",
                    "description": "快件已到达深圳转运中心",
                    "location": "深圳",
                },
                {"time": "2025-01-01T10:00:00+00:00", "description": "已揽收", "location": "东莞"},
            ],
        }
    order = {
        "id": order_id,
        "status": status,
        "status_name": names[status],
        "created_at": "2025-01-01T08:00:00+00:00",
        "total": 299.0,
        "items": [
            {
                "product_id": "P1001",
                "name": "声悦Pro降噪蓝牙耳机",
                "color": "白色",
                "size": None,
                "quantity": 1,
                "price": 299.0,
            }
        ],
        "address": {
            "name": "王*",
            "phone": "138****0000",
            "region": "广东省深圳市",
            "detail": "**",
        },
        "logistics": logistics,
        "allowed_actions": allowed[status],
    }
    order.update(overrides)
    return order


class FakeMallClient:
    """An in-memory mall with the MallClient methods; can be told to fail or to be slow."""

    def __init__(self) -> None:
        self.products = load_catalogue()
        self.profiles: dict[str, dict[str, Any]] = {}
        self.recommendations: dict[str, list[dict[str, Any]]] = {}
        self.orders: dict[str, list[dict[str, Any]]] = {}
        self.templates: dict[str, dict[str, Any]] = {}
        self.coupons: dict[str, list[dict[str, Any]]] = {}
        self.coupons_by_key: dict[str, dict[str, Any]] = {}
        self.events: list[tuple[str, str, str | None]] = []
        self.calls: list[str] = []
        self.unavailable = False
        self.failing: set[str] = set()
        self.delay = 0.0
        self.breaker = CircuitBreaker()
        self.handoffs: list[dict[str, Any]] = []
        self.notes: list[dict[str, Any]] = []
        self.availability = {
            "available": True,
            "in_service_hours": True,
            "agents_online": 1,
            "waiting": 0,
            "expected_wait_minutes": 4,
            "service_hours": "09:00-21:00",
            "hotline": "400-800-8888",
        }

    # ---- controls ----

    def _enter(self, method: str) -> None:
        self.calls.append(method)
        if self.delay:
            time.sleep(self.delay)
        if self.unavailable or method in self.failing:
            raise MallUnavailable(f"{method}: mall is down (fake)")

    # ---- catalogue ----

    def get_product(self, product_id: str) -> dict[str, Any]:
        self._enter("get_product")
        if product_id not in self.products:
            raise NotFound(f"no product {product_id}", code="not_found", status=404)
        return copy.deepcopy(self.products[product_id])

    def get_guide(self, product_id: str) -> dict[str, Any]:
        self._enter("get_guide")
        if product_id not in self.products:
            raise NotFound(f"no product {product_id}", code="not_found", status=404)
        category = self.products[product_id]["category"]
        topics = copy.deepcopy(GUIDES.get(category, {}))
        return {"product_id": product_id, "category": category, "topics": topics}

    def _names(self, product: dict[str, Any]) -> list[str]:
        return [product["name"], *product["aliases"]]

    def resolve_product(self, words: str) -> dict[str, Any]:
        self._enter("resolve_product")
        q = words.strip().lower()
        for product in self.products.values():
            if any(q == n.lower() for n in self._names(product)):
                return {"product": copy.deepcopy(product), "suggestions": []}
        hits = [p for p in self.products.values() if any(q in n.lower() for n in self._names(p))]
        if q and len(hits) == 1:
            return {"product": copy.deepcopy(hits[0]), "suggestions": []}
        scored = []
        for product in self.products.values():
            overlap = max(len(set(q) & set(n.lower())) for n in self._names(product))
            if overlap:
                scored.append((-overlap, product["id"], product))
        scored.sort(key=lambda item: (item[0], item[1]))
        return {"product": None, "suggestions": [summary(p) for _, _, p in scored[:3]]}

    def match_products(self, text: str) -> list[dict[str, Any]]:
        self._enter("match_products")
        lowered = text.lower()
        found = []
        for product in self.products.values():
            mentions = [n for n in self._names(product) if n.lower() in lowered]
            if mentions:
                found.append((-max(len(m) for m in mentions), product))
        found.sort(key=lambda item: item[0])
        return [summary(p) for _, p in found]

    # ---- shop terms ----

    def get_terms(self, name: str) -> dict[str, Any]:
        self._enter("get_terms")
        terms = {
            "shipping": SHIPPING_TERMS,
            "returns": RETURNS_TERMS,
            "payment": PAYMENT_TERMS,
            "discounts": DISCOUNTS_TERMS,
        }
        return copy.deepcopy(terms[name])

    # ---- customers ----

    def get_profile(self, customer_id: str) -> dict[str, Any] | None:
        self._enter("get_profile")
        profile = self.profiles.get(customer_id)
        return copy.deepcopy(profile) if profile else None

    def recommend_products(
        self, customer_id: str, product_id: str | None = None, limit: int = 3
    ) -> list[dict[str, Any]]:
        self._enter("recommend_products")
        return copy.deepcopy(self.recommendations.get(customer_id, []))[:limit]

    def record_event(
        self,
        customer_id: str,
        event_type: str,
        product_id: str | None = None,
        properties: dict[str, Any] | None = None,
    ) -> str:
        self._enter("record_event")
        self.events.append((customer_id, event_type, product_id))
        return self.profiles.get(customer_id, {}).get("segment", "new")

    # ---- orders ----

    def list_orders(self, customer_id: str) -> list[dict[str, Any]]:
        self._enter("list_orders")
        return copy.deepcopy(self.orders.get(customer_id, []))

    def get_order(self, customer_id: str, order_id: str) -> dict[str, Any]:
        self._enter("get_order")
        for order in self.orders.get(customer_id, []):
            if order["id"] == order_id:
                return copy.deepcopy(order)
        raise NotFound(f"no order {order_id} for {customer_id}", code="not_found", status=404)

    # ---- coupons ----

    def _eligible(self, template: dict[str, Any], customer_id: str, product: Any) -> bool:
        segment = self.profiles.get(customer_id, {}).get("segment", "new")
        if template["stock_left"] <= 0:
            return False
        if template["segments"] and segment not in template["segments"]:
            return False
        held = [c for c in self.coupons.get(customer_id, []) if c["template_id"] == template["id"]]
        if len(held) >= template["per_user_limit"]:
            return False
        scoped = template["product_ids"] or template["category_ids"]
        if product is None:
            return not scoped
        if not scoped:
            return True
        return product["id"] in template["product_ids"] or (
            product["category"] in template["category_ids"]
        )

    def best_coupon(self, customer_id: str, product_id: str | None = None) -> dict[str, Any]:
        self._enter("best_coupon")
        product = self.products.get(product_id) if product_id else None
        best: tuple[float, dict[str, Any]] | None = None
        for template in self.templates.values():
            if not self._eligible(template, customer_id, product):
                continue
            saving = template["amount"]
            if (
                product
                and template["kind"] == "threshold"
                and product["price"] < template["threshold"]
            ):
                continue
            if best is None or saving > best[0]:
                best = (saving, template)
        if best is None:
            return {"template": None, "saving": 0.0}
        return {"template": copy.deepcopy(best[1]), "saving": best[0]}

    def issue_coupon(
        self, customer_id: str, template_id: str, idempotency_key: str
    ) -> dict[str, Any]:
        self._enter("issue_coupon")
        if idempotency_key in self.coupons_by_key:
            return copy.deepcopy(self.coupons_by_key[idempotency_key])
        template = self.templates.get(template_id)
        if template is None:
            raise NotFound(f"no template {template_id}", code="not_found", status=404)
        held = [c for c in self.coupons.get(customer_id, []) if c["template_id"] == template_id]
        if len(held) >= template["per_user_limit"]:
            body = {
                "error": "limit_reached",
                "message": "已领取",
                "coupon": copy.deepcopy(held[-1]),
            }
            raise Conflict("limit reached", code="limit_reached", body=body)
        if template["stock_left"] <= 0:
            body = {"error": "out_of_stock", "message": "已领完"}
            raise Conflict("out of stock", code="out_of_stock", body=body)
        template["stock_left"] -= 1
        coupon = {
            "code": f"C{len(self.coupons_by_key) + 1:06d}",
            "template_id": template_id,
            "name": template["name"],
            "kind": template["kind"],
            "amount": template["amount"],
            "threshold": template["threshold"],
            "status": "issued",
            "issued_at": "2025-01-01T00:00:00+00:00",
            "valid_until": template["valid_until"] or "2031-01-08T15:59:59+00:00",
            "used_at": None,
        }
        self.coupons.setdefault(customer_id, []).append(coupon)
        self.coupons_by_key[idempotency_key] = coupon
        return copy.deepcopy(coupon)

    # ---- human handoff ----

    def open_handoff(
        self, sender_id: str, channel: str, reason: str, context: dict[str, Any]
    ) -> dict[str, Any]:
        self._enter("open_handoff")
        handoff = {
            "id": len(self.handoffs) + 1,
            "sender_id": sender_id,
            "channel": channel,
            "status": "waiting",
            "reason": reason,
            "reasons": [reason],
            "offline": not self.availability["available"],
            "created_at": "2026-11-22T08:00:00+00:00",
            "context": context,
        }
        self.handoffs.append(handoff)
        return {"handoff": handoff, "created": True, "availability": dict(self.availability)}

    def add_handoff_note(
        self, handoff_id: int, text: str, kind: str = "message", phone: str | None = None
    ) -> dict[str, Any]:
        self._enter("add_handoff_note")
        note = {"id": len(self.notes) + 1, "handoff_id": handoff_id, "kind": kind, "text": text}
        note["phone"] = phone
        self.notes.append(note)
        return note


def entity(name: str, value: str) -> dict[str, Any]:
    """An entity as NLU puts it in `latest_message`."""
    return {"entity": name, "value": value, "extractor": "DIETClassifier"}


def make_tracker(
    *,
    sender_id: str = "cust-1",
    slots: dict[str, Any] | None = None,
    intent: str = "ask_price",
    entities: list[dict[str, Any]] | None = None,
    text: str = "",
    metadata: dict[str, Any] | None = None,
    message_id: str | None = "msg-1",
    events: list[dict[str, Any]] | None = None,
    topic: str | None = None,
    second_request: dict[str, Any] | None = None,
) -> Tracker:
    """A tracker as the action server receives it, positioned right after a user message.

    `topic` is what the ResponseSelector chose for the intent (`progress` for
    return_refund/progress); `second_request` what the NLU found as a second request.
    """
    all_slots = {name: None for name in DOMAIN["slots"]}
    all_slots.update(slots or {})
    latest: dict[str, Any] = {
        "intent": {"name": intent, "confidence": 0.95},
        "entities": entities or [],
        "text": text,
        "message_id": message_id,
        "metadata": metadata or {},
    }
    if topic:
        key = f"{intent}/{topic}"
        latest["response_selector"] = {
            "all_retrieval_intents": [intent],
            "default": {
                "response": {"intent_response_key": key, "confidence": 0.9},
                "ranking": [{"intent_response_key": key, "confidence": 0.9}],
            },
        }
    if second_request:
        latest["second_request"] = second_request
    user_event = {"event": "user", "text": text, "parse_data": latest, "message_id": message_id}
    history = list(events or [{"event": "action", "name": "action_listen"}]) + [user_event]
    return Tracker(sender_id, all_slots, latest, history, False, None, {}, "action_listen")


def run_action(action: Any, tracker: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Run an action as the executor would; return (messages, events) after checking events."""
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, DOMAIN))
    check_events_fit_domain(events)
    return dispatcher.messages, events


def check_events_fit_domain(events: list[dict[str, Any]]) -> None:
    """Every SlotSet names a domain slot and a value its type accepts."""
    for event in events:
        if event["event"] == "followup":
            assert event["name"] in DOMAIN["actions"], f"{event['name']} is not a domain action"
            continue
        assert event["event"] == "slot", f"unexpected event {event}"
        slot = DOMAIN["slots"].get(event["name"])
        assert slot is not None, f"slot {event['name']} is not in domain.yml"
        if slot["type"] == "categorical" and event["value"] is not None:
            assert event["value"] in slot["values"], f"{event['value']} not a {event['name']}"


def slots_of(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The SlotSet events as {name: value}."""
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}


def rendered(message: dict[str, Any]) -> str:
    """A dispatched message's text; a domain response is filled in as Rasa's NLG would."""
    if message.get("text"):
        return str(message["text"])
    name = message.get("response")
    if not name:
        return ""
    assert name in DOMAIN["responses"], f"{name} is not a domain response"
    template = str(DOMAIN["responses"][name][0].get("text") or "")
    values = {key: value for key, value in message.items() if key not in ("text", "response")}

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        assert key in values, f"{name} needs {{{key}}}, the action did not pass it"
        return str(values[key])

    return _VARIABLE.sub(fill, template)


def texts(messages: list[dict[str, Any]]) -> str:
    """All dispatched texts (domain responses filled in) joined, for substring checks."""
    return "\n".join(rendered(m) for m in messages)


def buttons(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every button of the dispatched messages, domain responses' filled in as Rasa would."""
    found: list[dict[str, Any]] = []
    for message in messages:
        name = message.get("response")
        if name:
            values = {key: str(value) for key, value in message.items() if key != "response"}

            def fill(match: re.Match[str], values: dict[str, str] = values) -> str:
                return values.get(match.group(1), match.group(0))

            for button in DOMAIN["responses"][name][0].get("buttons") or []:
                found.append({key: _VARIABLE.sub(fill, str(v)) for key, v in button.items()})
        # Rasa adds the action's own buttons after the response's.
        found.extend(message.get("buttons") or [])
    return found
