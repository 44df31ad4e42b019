"""The demo shop page: the catalogue with prices, and a 一键咨询 button on every product.

The catalogue comes from the mall API. With SHOP_DEMO_SIGN_IN=1 the page also lets a visitor
browse as one of the seeded demo customers. The choice lives in a cookie signed by this
server, and it is this server (holding WEB_CHANNEL_SECRET) that asks the web channel for that
customer's token: the browser never names a customer to the channel itself.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from desk.headers import content_security_policy
from desk.pages import render, services

router = APIRouter(tags=["shop"], include_in_schema=False)

# The demo customers the page offers are the reference mall's seeded ones.
DEMO_CUSTOMERS = Path(__file__).resolve().parent.parent / "mall" / "seed" / "customers.yml"

LABELS = {
    "zh": {
        "title": "S2B2C 示范商城",
        "subtitle": "全场正品 · 满99包邮 · 7天无理由退货",
        "consult": "一键咨询",
        "list_price": "原价",
        "no_widget": "在线客服未配置（需要 WIDGET_SCRIPT_URL 或 RASA_URL）。",
        "other_lang": "English",
        "browse_as": "演示身份",
        "anonymous": "新访客",
        "switch": "切换",
        "cart": "加入购物车",
        "compare": "比价",
        "share": "分享",
        "search": "搜索",
    },
    "en": {
        "title": "S2B2C Demo Mall",
        "subtitle": "Genuine goods · free shipping over ¥99 · 7-day returns",
        "consult": "Ask about this",
        "list_price": "Was",
        "no_widget": "Chat is not configured (WIDGET_SCRIPT_URL or RASA_URL is unset).",
        "other_lang": "中文",
        "browse_as": "Demo customer",
        "anonymous": "New visitor",
        "switch": "Switch",
        "cart": "Add to cart",
        "compare": "Compare",
        "share": "Share",
        "search": "Search",
    },
}

DEMO_COOKIE = "shop_demo_customer"
# An anonymous shopper's id for behaviour events, in a cookie this server signs.
VISITOR_COOKIE = "shop_visitor"
_VISITOR_CONTEXT = b"mall-assistant/shop-visitor\x00"
# A card link: /shop?card=<distributor card id>.
CARD_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_COOKIE_CONTEXT = b"mall-assistant/shop-demo-customer\x00"


@lru_cache(maxsize=1)
def demo_customers() -> dict[str, str]:
    """The seeded demo customers: id -> display name."""
    if not DEMO_CUSTOMERS.exists():
        return {}
    data = yaml.safe_load(DEMO_CUSTOMERS.read_text(encoding="utf-8")) or {}
    return {str(c["id"]): str(c.get("display_name") or c["id"]) for c in data.get("customers", [])}


def _cookie_signature(secret: str, customer_id: str) -> str:
    message = _COOKIE_CONTEXT + customer_id.encode("utf-8")
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def demo_cookie_value(secret: str, customer_id: str) -> str:
    """The signed cookie that remembers the chosen demo customer."""
    return f"{customer_id}.{_cookie_signature(secret, customer_id)}"


def demo_customer_of(secret: str, cookie: str | None) -> str | None:
    """The demo customer a genuine cookie names; None for no, forged or stale cookies."""
    if not cookie or not secret:
        return None
    customer_id, _, signature = cookie.rpartition(".")
    if not hmac.compare_digest(signature.encode(), _cookie_signature(secret, customer_id).encode()):
        return None
    return customer_id if customer_id in demo_customers() else None


def _visitor_signature(secret: str, visitor: str) -> str:
    message = _VISITOR_CONTEXT + visitor.encode("utf-8")
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()[:32]


def new_visitor_cookie(secret: str) -> tuple[str, str]:
    """A fresh anonymous visitor id and the signed cookie that carries it."""
    visitor = f"web-v-{secrets.token_hex(8)}"
    return visitor, f"{visitor}.{_visitor_signature(secret, visitor)}"


def visitor_of(secret: str, cookie: str | None) -> str | None:
    """The visitor a genuine cookie names; None for none or a forged one."""
    if not cookie or not secret:
        return None
    visitor, _, signature = cookie.rpartition(".")
    expected = _visitor_signature(secret, visitor)
    if not visitor.startswith("web-v-") or not hmac.compare_digest(signature, expected):
        return None
    return visitor


def yuan(amount: Any) -> str:
    """¥299 for whole yuan, ¥12.50 otherwise."""
    value = Decimal(str(amount))
    return f"{value:.0f}" if value == value.to_integral_value() else f"{value:.2f}"


def _sections(
    categories: list[dict[str, Any]], products: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The catalogue by category (categories without products left out)."""
    sections = [
        {
            "id": category["id"],
            "name": category["name"],
            "products": [
                {
                    "id": p["id"],
                    "name": p["name"],
                    "price": yuan(p["price"]),
                    "list_price": yuan(p["list_price"])
                    if Decimal(str(p["list_price"])) > Decimal(str(p["price"]))
                    else None,
                }
                for p in products
                if p.get("category") == category["id"]
            ],
        }
        for category in categories
    ]
    return [section for section in sections if section["products"]]


@router.get("/")
def home() -> RedirectResponse:
    """The desk's front page is the demo shop."""
    return RedirectResponse("/shop", status_code=307)


@router.get("/shop", response_class=HTMLResponse)
def shop_page(
    request: Request, lang: Annotated[str, Query(pattern="^(zh|en)$")] = "zh"
) -> HTMLResponse:
    """The catalogue by category, each product with its price and a consult button."""
    desk = services(request)
    settings = desk.settings
    sign_in = settings.shop_demo_sign_in
    secret = settings.web_channel_secret
    customer = demo_customer_of(secret, request.cookies.get(DEMO_COOKIE)) if sign_in else None
    sections = _sections(desk.mall.categories(), desk.mall.products())
    card = request.query_params.get("card")
    page = render(
        request,
        "shop/index.html",
        client="widget",
        lang=lang,
        t=LABELS[lang],
        sections=sections,
        widget_url=settings.widget_script_url,
        demo_customers=demo_customers() if sign_in else {},
        customer=customer,
        widget_token=desk.rasa.widget_token(customer) if customer else None,
        card=card if card and CARD_ID.match(card) else None,
    )
    if secret and visitor_of(secret, request.cookies.get(VISITOR_COOKIE)) is None:
        _visitor, cookie = new_visitor_cookie(secret)
        page.set_cookie(
            VISITOR_COOKIE,
            cookie,
            max_age=365 * 86400,
            httponly=True,
            samesite="strict",
            secure=settings.secure_cookies,
        )
    return page


@router.get("/shop/webchat", response_class=HTMLResponse)
def shop_page_with_webchat(
    request: Request, lang: Annotated[str, Query(pattern="^(zh|en)$")] = "zh"
) -> HTMLResponse:
    """The same shop with rasa-webchat, the standard client of Rasa's socketio channel."""
    desk = services(request)
    settings = desk.settings
    page = render(
        request,
        "shop/index.html",
        client="webchat",
        lang=lang,
        t=LABELS[lang],
        sections=_sections(desk.mall.categories(), desk.mall.products()),
        widget_url=settings.widget_script_url,
        rasa_url=settings.widget_origin,
        demo_customers={},
        customer=None,
        widget_token=None,
    )
    # rasa-webchat injects its own <style> elements; its scripts stay external.
    page.headers["Content-Security-Policy"] = content_security_policy(
        settings.widget_origin, inline_styles=True
    )
    return page


@router.post("/shop/demo-customer")
def choose_demo_customer(
    request: Request,
    customer_id: Annotated[str, Form(max_length=64)] = "",
    lang: Annotated[str, Form(pattern="^(zh|en)$")] = "zh",
) -> Response:
    """Browse as a seeded demo customer (empty: as a new anonymous visitor)."""
    settings = services(request).settings
    if not settings.shop_demo_sign_in:
        raise HTTPException(status_code=404, detail="Not Found")
    if customer_id and customer_id not in demo_customers():
        raise HTTPException(status_code=400, detail="不是演示顾客")
    redirect = RedirectResponse(f"/shop?lang={lang}", status_code=303)
    if customer_id and settings.web_channel_secret:
        redirect.set_cookie(
            DEMO_COOKIE,
            demo_cookie_value(settings.web_channel_secret, customer_id),
            httponly=True,
            samesite="lax",
            secure=settings.secure_cookies,
        )
    else:
        redirect.delete_cookie(DEMO_COOKIE)
    return redirect
