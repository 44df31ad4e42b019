"""How money, dates and variants read in a chat line."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

# The mall speaks UTC; customers read China Standard Time (no daylight saving).
CHINA_TIME = timezone(timedelta(hours=8), "CST")

_LETTER_SIZE = re.compile(r"^(X{0,3}[SML]|X{1,3}L|\d{2,3})$", re.IGNORECASE)


def yuan(amount: float | int | str | None) -> str:
    """`299.0` -> `299`, `69.9` -> `69.90`: whole yuan without decimals, else two."""
    if amount is None:
        return ""
    value = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if value == value.to_integral_value():
        return str(value.quantize(Decimal("1")))
    return str(value)


def saving(list_price: float, price: float) -> float:
    """What the customer saves against the list price, to the fen."""
    diff = Decimal(str(list_price)) - Decimal(str(price))
    return float(diff.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def parse_time(value: str | None) -> datetime | None:
    """An ISO 8601 time from the mall as an aware datetime (naive means UTC), or None."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def readable_date(value: str | None) -> str:
    """`2025-01-31T15:59:59Z` -> `2025年1月31日` in China time; unparseable text as is."""
    parsed = parse_time(value)
    if parsed is None:
        return value or ""
    local = parsed.astimezone(CHINA_TIME)
    return f"{local.year}年{local.month}月{local.day}日"


def readable_time(value: str | None) -> str:
    """`2025-01-02T02:05:00Z` -> `1月2日 10:05` in China time; unparseable text as is."""
    parsed = parse_time(value)
    if parsed is None:
        return value or ""
    local = parsed.astimezone(CHINA_TIME)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def days_since(value: str | None, now: datetime | None = None) -> int | None:
    """Whole days between `value` and now, or None when unknown."""
    parsed = parse_time(value)
    if parsed is None:
        return None
    current = now or datetime.now(timezone.utc)
    return max((current - parsed).days, 0)


def variant_label(color: str | None, size: str | None) -> str:
    """`白色` / `黑色L码` / `27码` / `1.5m床`: how a shop assistant names a SKU."""
    label = color or ""
    if size:
        label += f"{size}码" if _LETTER_SIZE.match(size) else size
    return label or "默认款"
