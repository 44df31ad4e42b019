"""Settings of customer intelligence: channel keys for behaviour events, their rate limit,
the segmentation window and range of k, how orders are attributed to distributor cards."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from security.ratelimit import Limit
from security.tokens import SecretError, require_secret

# The channels that send behaviour events with their own key (the mall records its own).
KEYED_SOURCES = ("shop", "widget", "wechat")
DEFAULT_EVENT_LIMIT = Limit(5000, 1)


class InsightSettingsError(ValueError):
    """A customer-intelligence variable holds a value the mall cannot use."""


def event_key_variable(source: str) -> str:
    """The environment variable holding a channel's event key: SHOP_EVENT_KEY, ..."""
    return f"{source.upper()}_EVENT_KEY"


def read_event_keys(env: Mapping[str, str]) -> dict[str, str]:
    """The channels' event keys from SHOP_EVENT_KEY, WIDGET_EVENT_KEY, WECHAT_EVENT_KEY.

    An unset key switches that channel's events off; a set one must be a real secret, and
    every channel needs its own.
    """
    keys: dict[str, str] = {}
    for source in KEYED_SOURCES:
        name = event_key_variable(source)
        raw = env.get(name, "").strip()
        if not raw:
            continue
        try:
            keys[source] = require_secret(name, raw)
        except SecretError as error:
            raise InsightSettingsError(str(error)) from None
    if len(set(keys.values())) != len(keys):
        raise InsightSettingsError("every channel needs its own event key (*_EVENT_KEY)")
    return keys


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise InsightSettingsError(f"{name} must be a whole number from {low} to {high}")
    return int(raw)


@dataclass(frozen=True)
class InsightSettings:
    """Behaviour ingestion, segmentation and attribution settings."""

    event_keys: dict[str, str] = field(default_factory=dict, repr=False)
    # Events accepted per channel (a token bucket: count per seconds).
    event_rate_limit: Limit = DEFAULT_EVENT_LIMIT
    max_batch_events: int = 500
    segment_window_days: int = 60
    segment_k_min: int = 5
    segment_k_max: int = 8
    # first: the card a customer first came through keeps them; last: the latest card wins.
    attribution: str = "first"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> InsightSettings:
        """Read *_EVENT_KEY, MALL_EVENT_*, SEGMENT_* and ATTRIBUTION variables."""
        env = os.environ if environ is None else environ
        try:
            limit = Limit.parse(
                "MALL_EVENT_RATE_LIMIT", env.get("MALL_EVENT_RATE_LIMIT"), DEFAULT_EVENT_LIMIT
            )
        except ValueError as error:
            raise InsightSettingsError(str(error)) from None
        attribution = env.get("ATTRIBUTION", "").strip().lower() or "first"
        if attribution not in ("first", "last"):
            raise InsightSettingsError(f"ATTRIBUTION must be first or last, got {attribution!r}")
        k_min = _int(env, "SEGMENT_K_MIN", cls.segment_k_min, 2, 20)
        k_max = _int(env, "SEGMENT_K_MAX", cls.segment_k_max, 2, 20)
        if k_min > k_max:
            raise InsightSettingsError("SEGMENT_K_MIN must not be larger than SEGMENT_K_MAX")
        return cls(
            event_keys=read_event_keys(env),
            event_rate_limit=limit,
            max_batch_events=_int(env, "MALL_EVENT_MAX_BATCH", cls.max_batch_events, 1, 5000),
            segment_window_days=_int(env, "SEGMENT_WINDOW_DAYS", cls.segment_window_days, 30, 730),
            segment_k_min=k_min,
            segment_k_max=k_max,
            attribution=attribution,
        )
