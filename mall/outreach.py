"""Proactive messages: the trigger rules file and the guards every message passes.

Rules (YAML) say what starts a message and what it offers:

    rules:
      - id: consult_no_order
        when: {event: consult, without: order, within: 30m}   # 30 min after a consult, no order
        offer: coupon
      - id: cart_no_order
        when: {event: add_to_cart, without: order, within: 24h}
        offer: reminder
      - id: churn_win_back
        when: {segment: churn_risk, inactive: 7d}
        offer: win_back
      - id: back_in_stock
        when: {event: stock_inquiry, stock: back}      # asked for a missing colour/size
        offer: back_in_stock

The guards decide when a due message may go: never inside the customer's quiet hours (it
waits until they end), at most `per_day` messages a day and `per_week` a week per customer
(rolling windows), never to a customer who opted out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from mall.models import EVENT_TYPES

EVENTS = EVENT_TYPES
SEGMENTS = ("high_value", "churn_risk", "price_sensitive", "new", "regular")
OFFERS = ("coupon", "reminder", "win_back", "back_in_stock")
_DURATION = re.compile(r"^(\d+)\s*(m|h|d)$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}

DEFAULT_FILE = Path(__file__).with_name("outreach.yml")


class OutreachConfigError(ValueError):
    """The rules file is malformed; the message names the rule and the field."""


@dataclass(frozen=True)
class Rule:
    id: str
    offer: str
    event: str | None = None
    absent: str | None = None  # the event that must not follow (`without:`)
    within: timedelta | None = None
    segment: str | None = None
    inactive: timedelta | None = None
    stock_back: bool = False


def parse_duration(value: Any, where: str) -> timedelta:
    """30m, 24h, 7d -> a timedelta; anything else is a clear error."""
    match = _DURATION.match(str(value).strip()) if value is not None else None
    if not match or int(match.group(1)) == 0:
        raise OutreachConfigError(f"{where}: expected a duration such as 30m, 24h or 7d")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def load_rules(path: Path = DEFAULT_FILE) -> tuple[Rule, ...]:
    """Read and check the rules file; a missing file means no proactive messages."""
    if not path.is_file():
        return ()
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise OutreachConfigError(f"{path}: not valid YAML: {error}") from None
    return parse_rules(document, source=str(path))


def parse_rules(document: Any, *, source: str = "rules") -> tuple[Rule, ...]:
    """Rules from the parsed YAML document, or OutreachConfigError naming the fault."""
    if not isinstance(document, dict) or not isinstance(document.get("rules", []), list):
        raise OutreachConfigError(f"{source}: expected a mapping with a list `rules`")
    rules: list[Rule] = []
    for index, raw in enumerate(document.get("rules") or []):
        where = f"{source}: rule #{index + 1}"
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw["id"]:
            raise OutreachConfigError(f"{where}: every rule needs a string `id`")
        where = f"{source}: rule {raw['id']!r}"
        if any(rule.id == raw["id"] for rule in rules):
            raise OutreachConfigError(f"{where}: the id is used twice")
        rules.append(_parse_rule(raw, where))
    return tuple(rules)


def _parse_rule(raw: dict[str, Any], where: str) -> Rule:
    if raw.get("offer") not in OFFERS:
        raise OutreachConfigError(f"{where}: `offer` must be one of {', '.join(OFFERS)}")
    when = raw.get("when")
    if not isinstance(when, dict) or not when:
        raise OutreachConfigError(f"{where}: `when` must say what starts the message")
    unknown = {str(key) for key in when} - {
        "event",
        "without",
        "within",
        "segment",
        "inactive",
        "stock",
    }
    if unknown:
        raise OutreachConfigError(f"{where}: unknown condition {', '.join(sorted(unknown))}")
    for key in ("event", "without"):
        if key in when and when[key] not in EVENTS:
            raise OutreachConfigError(f"{where}: `{key}` must be one of {', '.join(EVENTS)}")
    if "segment" in when and when["segment"] not in SEGMENTS:
        raise OutreachConfigError(f"{where}: `segment` must be one of {', '.join(SEGMENTS)}")
    if "without" in when and "within" not in when:
        raise OutreachConfigError(f"{where}: `without: {when['without']}` needs `within`")
    if "stock" in when and when["stock"] != "back":
        raise OutreachConfigError(f"{where}: `stock` can only be `back`")
    if "event" not in when and "segment" not in when:
        raise OutreachConfigError(f"{where}: `when` needs an `event` or a `segment`")
    return Rule(
        id=raw["id"],
        offer=raw["offer"],
        event=when.get("event"),
        absent=when.get("without"),
        within=parse_duration(when["within"], f"{where}: within") if "within" in when else None,
        segment=when.get("segment"),
        inactive=parse_duration(when["inactive"], f"{where}: inactive")
        if "inactive" in when
        else None,
        stock_back=when.get("stock") == "back",
    )


# --- guards ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Guards:
    quiet_start: time = time(22, 0)
    quiet_end: time = time(8, 0)
    per_day: int = 1
    per_week: int = 3
    default_time_zone: str = "Asia/Shanghai"

    def zone(self, name: str | None) -> tzinfo:
        """The customer's time zone, or the default for an unknown or missing name."""
        try:
            return ZoneInfo(name or self.default_time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo(self.default_time_zone)

    def in_quiet_hours(self, moment: datetime, time_zone: str | None = None) -> bool:
        local = moment.astimezone(self.zone(time_zone)).time()
        if self.quiet_start <= self.quiet_end:  # e.g. 13:00-14:00
            return self.quiet_start <= local < self.quiet_end
        return local >= self.quiet_start or local < self.quiet_end  # across midnight

    def next_allowed(self, moment: datetime, time_zone: str | None = None) -> datetime:
        """`moment` itself outside quiet hours, else when they end (in UTC like `moment`)."""
        if moment.tzinfo is None:
            raise ValueError("need an aware datetime")
        if not self.in_quiet_hours(moment, time_zone):
            return moment
        zone = self.zone(time_zone)
        local = moment.astimezone(zone)
        end = datetime.combine(local.date(), self.quiet_end, tzinfo=zone)
        if end <= local:
            end = datetime.combine(local.date() + timedelta(days=1), self.quiet_end, tzinfo=zone)
        return end.astimezone(moment.tzinfo)

    def over_cap(self, moment: datetime, sent: Iterable[datetime]) -> str | None:
        """Why one more message now would break a frequency cap, or None."""
        sent = list(sent)
        if sum(1 for at in sent if moment - timedelta(days=1) < at <= moment) >= self.per_day:
            return f"at most {self.per_day} a day"
        if sum(1 for at in sent if moment - timedelta(days=7) < at <= moment) >= self.per_week:
            return f"at most {self.per_week} a week"
        return None
