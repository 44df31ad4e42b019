"""Sales lines: Jinja2 templates in `actions/templates/`, rendered through `render`."""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from rasa_sdk import Tracker

from actions.clients.models import Profile
from actions.formatting import days_since, readable_date, yuan
from actions.language import speaks_english

logger = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).parent / "templates"


def coupon_terms(coupon: dict[str, Any]) -> str:
    """`立减20元` for an instant coupon, `满199减30元` for a threshold one."""
    amount = yuan(coupon.get("amount"))
    threshold = coupon.get("threshold")
    if coupon.get("kind") == "threshold" and threshold:
        return f"满{yuan(threshold)}减{amount}元"
    return f"立减{amount}元"


def coupon_validity(coupon: dict[str, Any]) -> str:
    """`有效期至2025年1月31日`, or `领取后7天内有效` when only a duration is known."""
    if coupon.get("valid_until"):
        return f"有效期至{readable_date(coupon['valid_until'])}"
    if coupon.get("valid_days"):
        return f"领取后{coupon['valid_days']}天内有效"
    return "长期有效"


def customer_context(profile: Profile | None) -> dict[str, Any] | None:
    """What the templates may know about the customer, or None to render the plain line."""
    if profile is None:
        return None
    card: dict[str, Any] = dict(profile.get("card") or {})
    interests = profile.get("interests") or []
    return {
        "name": profile.get("display_name") or "亲",
        "segment": profile.get("segment") or "regular",
        "shop": card.get("shop_name") or None,
        "owner": card.get("owner_name") or None,
        "interest": interests[0] if interests else None,
        "days_away": days_since(profile.get("last_visit_at")),
    }


@functools.lru_cache(maxsize=1)
def _environment() -> SandboxedEnvironment:
    # Sandboxed and strict: templates are project files, but the values they print come
    # from customers and the mall, and a missing value must fail loudly, not print "".
    env = SandboxedEnvironment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["yuan"] = yuan
    env.filters["date"] = readable_date
    env.filters["coupon_terms"] = coupon_terms
    env.filters["validity"] = coupon_validity
    return env


def sales_line(name: str, **context: Any) -> str | None:
    """Render template `name`; None (the domain's plain line speaks) when it cannot."""
    try:
        text = _environment().get_template(name).render(**context)
    except (TemplateError, TypeError, ValueError, ArithmeticError) as exc:
        logger.warning("sales line %s failed to render (%s); using the plain line", name, exc)
        return None
    # One template line is one chat line; blank lines come from skipped branches.
    lines = [line.strip() for line in text.splitlines()]
    return "\n".join(line for line in lines if line) or None


def sales_line_for(tracker: Tracker, name: str, **context: Any) -> str | None:
    """The sales line for this customer: none for English writers (the templates are Chinese)."""
    return None if speaks_english(tracker) else sales_line(name, **context)


def render(name: str, *, fallback: str, **context: Any) -> str:
    """Render template `name`; on any template error return `fallback`."""
    return sales_line(name, **context) or fallback
