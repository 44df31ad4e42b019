"""WeChat menu clicks, menu links and card scans as the mall's behaviour events.

The same names the shop page and the widget use: a menu button whose key is
`product:P1001` is a `product_view`, `cart:P1001` an `add_to_cart`, `compare:P1001,P1002` a
`compare`, `share:P1001` a `share`, `search:<words>` a `search`; a menu link to a page with
`?product_id=P1001` a `product_view`; scanning a distributor's card code (scene
`card:<card id>`, also on subscribing) a `card_view` that attributes the customer to that
card. The event id is derived from the push itself, so WeChat's retries of one push are
recorded once. `post_events` hands them to the mall's `POST /events` with WECHAT_EVENT_KEY.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

MENU_KINDS = {
    "product": "product_view",
    "cart": "add_to_cart",
    "compare": "compare",
    "share": "share",
    "search": "search",
}
_PRODUCT = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_CARD = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
TIMEOUT = httpx.Timeout(2.0, connect=1.0)


def _event_id(sender: str, fields: dict[str, Any]) -> str:
    raw = f"{sender}|{fields.get('CreateTime')}|{fields.get('Event')}|{fields.get('EventKey')}"
    return "wx-" + hashlib.sha256(raw.encode("utf-8")).hexdigest()[:40]


def _when(fields: dict[str, Any]) -> str:
    try:
        stamp = datetime.fromtimestamp(int(fields.get("CreateTime") or 0), tz=timezone.utc)
    except (TypeError, ValueError, OverflowError):
        stamp = datetime.now(timezone.utc)
    return stamp.isoformat()


def behaviour_event(fields: dict[str, Any], customer_id: str) -> dict[str, Any] | None:
    """The mall event a WeChat event push means, or None when it means none."""
    if str(fields.get("MsgType") or "").lower() != "event":
        return None
    event = str(fields.get("Event") or "").lower()
    key = str(fields.get("EventKey") or "")
    base = {
        "id": _event_id(customer_id, fields),
        "customer_id": customer_id,
        "occurred_at": _when(fields),
    }
    if event in ("scan", "subscribe"):
        scene = key.removeprefix("qrscene_")
        card = scene.removeprefix("card:") if scene.startswith("card:") else None
        if card and _CARD.match(card):
            return {**base, "type": "card_view", "properties": {"card_id": card}}
        return None
    if event == "click":
        kind, _, value = key.partition(":")
        if kind not in MENU_KINDS or not value:
            return None
        if kind == "search":
            return {**base, "type": "search", "properties": {"query": value[:64]}}
        products = [p for p in value.split(",") if _PRODUCT.match(p)]
        if not products:
            return None
        found: dict[str, Any] = {**base, "type": MENU_KINDS[kind], "product_id": products[0]}
        if kind == "compare":
            found["product_id"] = products[-1]
            found["properties"] = {"product_ids": products[:10]}
        return found
    if event == "view":
        query = parse_qs(urlsplit(key).query)
        product = (query.get("product_id") or query.get("product") or [""])[0]
        if _PRODUCT.match(product):
            return {**base, "type": "product_view", "product_id": product}
    return None


def post_events(
    mall_url: str, key: str, events: list[dict[str, Any]], client: httpx.Client | None = None
) -> dict[str, Any]:
    """Send the events to the mall with the WeChat channel's key; raises httpx errors."""
    own = client is None
    http = client or httpx.Client(timeout=TIMEOUT)
    try:
        answer = http.post(
            f"{mall_url.rstrip('/')}/events",
            json={"source": "wechat", "events": events},
            headers={"Authorization": f"Bearer {key}"},
        )
        answer.raise_for_status()
        return dict(answer.json())
    finally:
        if own:
            http.close()
