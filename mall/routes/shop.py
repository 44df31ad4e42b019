"""The demo shop page: the catalogue with prices, and a 一键咨询 button on every product.

With SHOP_DEMO_SIGN_IN=1 the page also lets a visitor browse as one of the seeded demo
customers. The choice lives in a cookie signed by this server, and it is this server (holding
WEB_CHANNEL_SECRET) that asks the web channel for that customer's token: the browser never
names a customer to the channel itself.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

import requests
import yaml
from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from mall.routes.deps import DatabaseDep
from mall.seeding import SEED_DIR
from mall.services import catalogue

logger = logging.getLogger(__name__)

router = APIRouter(tags=["shop"], include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))

LABELS = {
    "zh": {
        "title": "S2B2C 示范商城",
        "subtitle": "全场正品 · 满99包邮 · 7天无理由退货",
        "consult": "一键咨询",
        "list_price": "原价",
        "no_widget": "在线客服未配置（需要 RASA_URL）。",
        "other_lang": "English",
        "browse_as": "演示身份",
        "anonymous": "新访客",
        "switch": "切换",
    },
    "en": {
        "title": "S2B2C Demo Mall",
        "subtitle": "Genuine goods · free shipping over ¥99 · 7-day returns",
        "consult": "Ask about this",
        "list_price": "Was",
        "no_widget": "Chat is not configured (RASA_URL is unset).",
        "other_lang": "中文",
        "browse_as": "Demo customer",
        "anonymous": "New visitor",
        "switch": "Switch",
    },
}


def widget_script_url(environ: Mapping[str, str] | None = None) -> str | None:
    """Where browsers load the chat widget: WIDGET_SCRIPT_URL, else the Rasa server's."""
    env = os.environ if environ is None else environ
    explicit = env.get("WIDGET_SCRIPT_URL", "").strip()
    if explicit:
        return explicit
    rasa_url = env.get("RASA_URL", "").strip().rstrip("/")
    return f"{rasa_url}/webhooks/web/widget.js" if rasa_url else None


DEMO_COOKIE = "shop_demo_customer"
_COOKIE_CONTEXT = b"mall-assistant/shop-demo-customer\x00"


def demo_sign_in_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the page may let visitors browse as a seeded demo customer."""
    env = os.environ if environ is None else environ
    return env.get("SHOP_DEMO_SIGN_IN", "").strip().lower() in ("1", "true", "yes")


@lru_cache(maxsize=1)
def demo_customers() -> dict[str, str]:
    """The seeded demo customers: id -> display name."""
    data = yaml.safe_load((SEED_DIR / "customers.yml").read_text(encoding="utf-8")) or {}
    return {str(c["id"]): str(c.get("display_name") or c["id"]) for c in data.get("customers", [])}


def _channel_secret() -> bytes:
    return os.environ.get("WEB_CHANNEL_SECRET", "").encode("utf-8")


def _cookie_signature(customer_id: str) -> str:
    message = _COOKIE_CONTEXT + customer_id.encode("utf-8")
    return hmac.new(_channel_secret(), message, hashlib.sha256).hexdigest()


def demo_cookie_value(customer_id: str) -> str:
    """The signed cookie that remembers the chosen demo customer."""
    return f"{customer_id}.{_cookie_signature(customer_id)}"


def demo_customer_of(cookie: str | None) -> str | None:
    """The demo customer a genuine cookie names; None for no, forged or stale cookies."""
    if not cookie or not _channel_secret():
        return None
    customer_id, _, signature = cookie.rpartition(".")
    if not hmac.compare_digest(signature.encode(), _cookie_signature(customer_id).encode()):
        return None
    return customer_id if customer_id in demo_customers() else None


def customer_token(customer_id: str, environ: Mapping[str, str] | None = None) -> str | None:
    """Ask the web channel for `customer_id`'s widget token (server to server, with the secret)."""
    env = os.environ if environ is None else environ
    rasa_url = env.get("RASA_URL", "").strip().rstrip("/")
    secret = env.get("WEB_CHANNEL_SECRET", "")
    if not rasa_url or not secret:
        return None
    try:
        answer = requests.post(
            f"{rasa_url}/webhooks/web/session",
            json={"customer_id": customer_id},
            headers={"X-Web-Channel-Secret": secret},
            timeout=(1.0, 2.0),
        )
        answer.raise_for_status()
        token = answer.json().get("token")
    except (requests.RequestException, ValueError) as exc:
        # The page still works; the widget then starts as an anonymous visitor.
        logger.warning("no widget token for demo customer %s: %s", customer_id, exc)
        return None
    return token if isinstance(token, str) else None


def yuan(amount: Decimal) -> str:
    """¥299 for whole yuan, ¥12.50 otherwise."""
    return f"{amount:.0f}" if amount == amount.to_integral_value() else f"{amount:.2f}"


@router.get("/")
def home() -> RedirectResponse:
    """The service's front page is the demo shop."""
    return RedirectResponse("/shop", status_code=307)


@router.get("/shop", response_class=HTMLResponse)
def shop_page(
    request: Request,
    database: DatabaseDep,
    lang: Annotated[str, Query(pattern="^(zh|en)$")] = "zh",
) -> HTMLResponse:
    """The catalogue by category, each product with its price and a consult button."""
    sign_in = demo_sign_in_enabled()
    customer = demo_customer_of(request.cookies.get(DEMO_COOKIE)) if sign_in else None
    with database.read_session() as session:
        categories = catalogue.list_categories(session=session)
        products = catalogue.search_products(session=session, limit=10_000)
        sections: list[dict[str, Any]] = [
            {
                "id": category.id,
                "name": category.name,
                "products": [
                    {
                        "id": p.id,
                        "name": p.name,
                        "price": yuan(p.price),
                        "list_price": yuan(p.list_price) if p.list_price > p.price else None,
                    }
                    for p in products
                    if p.category_id == category.id
                ],
            }
            for category in categories
        ]
    return templates.TemplateResponse(
        request,
        "shop/index.html",
        {
            "lang": lang,
            "t": LABELS[lang],
            "sections": [s for s in sections if s["products"]],
            "widget_url": widget_script_url(),
            "demo_customers": demo_customers() if sign_in else {},
            "customer": customer,
            "widget_token": customer_token(customer) if customer else None,
        },
    )


@router.post("/shop/demo-customer")
def choose_demo_customer(
    customer_id: Annotated[str, Form(max_length=64)] = "",
    lang: Annotated[str, Form(pattern="^(zh|en)$")] = "zh",
) -> Response:
    """Browse as a seeded demo customer (empty: as a new anonymous visitor)."""
    if not demo_sign_in_enabled():
        raise HTTPException(status_code=404, detail="Not Found")
    if customer_id and customer_id not in demo_customers():
        raise HTTPException(status_code=400, detail="不是演示顾客")
    redirect = RedirectResponse(f"/shop?lang={lang}", status_code=303)
    if customer_id and _channel_secret():
        redirect.set_cookie(
            DEMO_COOKIE, demo_cookie_value(customer_id), httponly=True, samesite="lax"
        )
    else:
        redirect.delete_cookie(DEMO_COOKIE)
    return redirect
