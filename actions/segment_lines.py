"""The per-segment sales line after a price quote, from `segment_lines.yml`.

High-value customers hear of limited-time free shipping, price-sensitive ones of coupons
first, churn-risk ones a win-back, new ones the first-order gift. The lines are data
(Jinja2 templates in YAML); a line whose value is missing falls back to its plain form.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

import yaml
from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from actions.clients.models import Product, Profile
from actions.formatting import yuan
from actions.products import intent_payload

logger = logging.getLogger(__name__)

LINES_FILE = Path(__file__).with_name("segment_lines.yml")
# Customers who opted out of these hear no sales line.
MARKETING_OPT_OUTS = frozenset({"marketing", "all"})


@functools.lru_cache(maxsize=1)
def _lines() -> dict[str, dict[str, str]]:
    data = yaml.safe_load(LINES_FILE.read_text(encoding="utf-8")) or {}
    return {str(segment): dict(entry) for segment, entry in data.items() if entry}


def recommendation_message(
    items: list[dict[str, Any]], *, after_quote: bool
) -> dict[str, Any] | None:
    """A line with one button per recommended product (asking its price), or None."""
    if not items:
        return None
    intro = _lines().get("recommendations", {})
    text = intro.get("after_quote" if after_quote else "welcome") or "您可能还喜欢："
    buttons = [
        {
            "title": f"{item['name']} ¥{yuan(item['price'])}",
            "payload": intent_payload("ask_price", product=str(item["name"])),
        }
        for item in items
        if item.get("name")
    ]
    return {"text": str(text), "buttons": buttons} if buttons else None


@functools.lru_cache(maxsize=1)
def _environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


def _values(profile: dict[str, Any], product: Product | None) -> dict[str, Any]:
    """Only the values that are really there: a missing one makes the line plain."""
    card: dict[str, Any] = dict(profile.get("card") or {})
    interests = profile.get("top_interests") or profile.get("interests") or []
    item: dict[str, Any] = dict(product or {})
    values = {
        "name": profile.get("display_name"),
        "shop": card.get("shop_name"),
        "owner": card.get("owner_name"),
        "interest": interests[0] if interests else None,
        "product": item.get("name"),
        "price": item.get("price"),
    }
    return {key: value for key, value in values.items() if value not in (None, "")}


def segment_line(profile: Profile | None, product: Product | None = None) -> str | None:
    """The customer's segment's sales line, or None (no profile, no line, opted out)."""
    if not profile:
        return None
    # The business card's newer parts (opt-outs, interests from behaviour) may be absent.
    card: dict[str, Any] = dict(profile)
    if MARKETING_OPT_OUTS & set(card.get("opt_outs") or []):
        return None
    entry = _lines().get(str(card.get("segment") or ""))
    if entry and "line" not in entry:
        entry = None
    if not entry:
        return None
    plain = str(entry.get("plain") or "") or None
    try:
        text = _environment().from_string(str(entry["line"])).render(**_values(card, product))
    except (TemplateError, KeyError, TypeError, ValueError) as exc:
        logger.debug("segment line for %s is plain: %s", profile.get("segment"), exc)
        return plain
    return text.strip() or plain
