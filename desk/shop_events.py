"""Behaviour events from the demo shop page and the chat widget on it.

The browser sends what the shopper did (viewed, carted, compared, searched, shared, came
through a card link); this server decides who the shopper is (the signed demo-customer
cookie, else a signed visitor cookie it set itself), stamps the time, and hands the batch
to the mall with the shop's or the widget's own event key. The browser never holds a key
or the service token, and never names a customer.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from desk.errors import MallRefused, MallUnavailable
from desk.pages import client_address, services
from desk.shop import DEMO_COOKIE, VISITOR_COOKIE, demo_customer_of, visitor_of

router = APIRouter(tags=["shop"], include_in_schema=False)

BROWSER_TYPES = frozenset(
    {"product_view", "add_to_cart", "remove_from_cart", "search", "compare", "share", "card_view"}
)
CHANNELS = ("shop", "widget")
MAX_EVENTS = 50
EVENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{8,64}$")


def _refuse(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse(
        {"error": "refused", "message": message}, status_code=status, headers=headers
    )


def _clean(raw: Any, now: str) -> tuple[str, dict[str, Any]] | str:
    """(channel, event for the mall), or why this event is refused."""
    if not isinstance(raw, dict):
        return "每条事件是一个对象"
    channel = raw.get("channel", "shop")
    kind = raw.get("type")
    event_id = raw.get("id")
    if channel not in CHANNELS:
        return f"未知的来源 {channel!r}"
    if kind not in BROWSER_TYPES:
        return f"页面不能发送 {kind!r} 事件"
    if not isinstance(event_id, str) or not EVENT_ID.match(event_id):
        return "事件 id 需要 8-64 个字母、数字或 _.:-"
    event: dict[str, Any] = {"id": event_id, "type": kind, "occurred_at": now}
    product = raw.get("product_id")
    if product is not None:
        if not isinstance(product, str) or not 0 < len(product) <= 32:
            return "product_id 不正确"
        event["product_id"] = product
    properties = raw.get("properties")
    if properties is not None:
        if not isinstance(properties, dict):
            return "properties 是一个对象"
        event["properties"] = properties
    return str(channel), event


@router.post("/shop/events")
async def shop_events(request: Request) -> Response:
    """Take a batch of the shopper's behaviour and record it in the mall."""
    desk = services(request)
    settings = desk.settings
    origin = request.headers.get("origin")
    host = request.headers.get("host", "")
    if origin is None or origin.split("://", 1)[-1] != host:
        return _refuse(403, "只接受本站页面发送的事件")
    if not request.headers.get("content-type", "").startswith("application/json"):
        return _refuse(415, "事件以 JSON 发送")
    wait = desk.event_limiter.hit(client_address(request))
    if wait is not None:
        return _refuse(429, "事件太多，请稍后再试", **{"Retry-After": str(math.ceil(wait))})
    secret = settings.web_channel_secret
    customer = (
        demo_customer_of(secret, request.cookies.get(DEMO_COOKIE))
        if settings.shop_demo_sign_in
        else None
    ) or visitor_of(secret, request.cookies.get(VISITOR_COOKIE))
    if customer is None:
        return _refuse(401, "请先打开商城页面")
    try:
        body = await request.json()
    except ValueError:
        return _refuse(400, "请求不是 JSON")
    raw_events = body.get("events") if isinstance(body, dict) else None
    if not isinstance(raw_events, list) or not raw_events:
        return _refuse(422, "需要 events 列表")
    if len(raw_events) > MAX_EVENTS:
        return _refuse(413, f"一次最多发送 {MAX_EVENTS} 条事件")
    now = datetime.now(timezone.utc).isoformat()
    batches: dict[str, list[dict[str, Any]]] = {}
    for index, raw in enumerate(raw_events):
        cleaned = _clean(raw, now)
        if isinstance(cleaned, str):
            return _refuse(422, f"第{index + 1}条：{cleaned}")
        channel, event = cleaned
        batches.setdefault(channel, []).append({**event, "customer_id": customer})
    keys = {"shop": settings.shop_event_key, "widget": settings.widget_event_key}
    if any(not keys[channel] for channel in batches):
        return _refuse(503, "行为事件未开启（SHOP_EVENT_KEY / WIDGET_EVENT_KEY）")
    recorded = {}
    for channel, events in batches.items():
        try:
            answer = desk.mall.send_events(keys[channel], events)
        except MallRefused as refused:
            return _refuse(refused.status if refused.status < 500 else 502, refused.message)
        except MallUnavailable:
            return _refuse(503, "商城暂时不可用")
        recorded[channel] = {"accepted": answer["accepted"], "duplicates": answer["duplicates"]}
    return JSONResponse({"recorded": recorded})
