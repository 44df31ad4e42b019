"""Settings of customer intelligence: channel keys for behaviour events, their rate limit,
the segmentation window and range of k, how orders are attributed to distributor cards."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, validator
from pydantic.fields import ModelField

from security.ratelimit import Limit
from security.settings import SECRET, ProcessSettings, variable_of, whole_number
from security.tokens import SecretError, require_secret

# The channels that send behaviour events with their own key (the mall records its own).
KEYED_SOURCES = ("shop", "widget", "wechat")
DEFAULT_EVENT_LIMIT = Limit(5000, 1)


class InsightSettingsError(ValueError):
    """A customer-intelligence variable holds a value the mall cannot use."""


def event_key_variable(source: str) -> str:
    """The environment variable holding a channel's event key: SHOP_EVENT_KEY, ..."""
    return f"{source.upper()}_EVENT_KEY"


def _checked_keys(raw: Mapping[str, str | None]) -> dict[str, str]:
    """Each set key a real secret, and every channel its own (unset: that channel is off)."""
    keys: dict[str, str] = {}
    for source in KEYED_SOURCES:
        value = (raw.get(source) or "").strip()
        if not value:
            continue
        try:
            keys[source] = require_secret(event_key_variable(source), value)
        except SecretError as error:
            raise InsightSettingsError(str(error)) from None
    if len(set(keys.values())) != len(keys):
        raise InsightSettingsError("every channel needs its own event key (*_EVENT_KEY)")
    return keys


def read_event_keys(env: Mapping[str, str]) -> dict[str, str]:
    """The channels' event keys from SHOP_EVENT_KEY, WIDGET_EVENT_KEY, WECHAT_EVENT_KEY.

    An unset key switches that channel's events off; a set one must be a real secret, and
    every channel needs its own.
    """
    return _checked_keys({source: env.get(event_key_variable(source)) for source in KEYED_SOURCES})


class InsightSettings(ProcessSettings):
    """Behaviour ingestion, segmentation and attribution settings."""

    shop_event_key: str = Field(
        default="",
        env="SHOP_EVENT_KEY",
        repr=False,
        secret=SECRET,
        shown="generated once (`var/secrets/`) by `make run`",
        description="the shop page's key for `POST /events` on the mall (the mall and the desk "
        "get it); unset: the shop's events are refused",
    )
    widget_event_key: str = Field(
        default="",
        env="WIDGET_EVENT_KEY",
        repr=False,
        secret=SECRET,
        shown="generated once (`var/secrets/`) by `make run`",
        description="the web widget's key for `POST /events` (the mall and the desk get it); "
        "unset: the widget's events are refused",
    )
    wechat_event_key: str = Field(
        default="",
        env="WECHAT_EVENT_KEY",
        repr=False,
        secret=SECRET,
        shown="unset",
        description="the WeChat channel's key for `POST /events` on the mall; unset: its "
        "events are refused",
    )
    # By channel, from the three keys above (or given as they are).
    event_keys: dict[str, str] = Field(default_factory=dict, env=set(), repr=False)
    # Events accepted per channel (a token bucket: count per seconds).
    event_rate_limit: Limit = Field(
        default=DEFAULT_EVENT_LIMIT,
        env="MALL_EVENT_RATE_LIMIT",
        shown="`5000/1`",
        description="events accepted per channel (count/seconds; `0` off)",
    )
    max_batch_events: int = Field(
        default=500, env="MALL_EVENT_MAX_BATCH", description="events per batch (at most 5000)"
    )
    segment_window_days: int = Field(
        default=60,
        env="SEGMENT_WINDOW_DAYS",
        description="the behaviour window of the segment features (30 to 730 days)",
    )
    segment_k_min: int = Field(
        default=5,
        env="SEGMENT_K_MIN",
        description="the smallest k the silhouette picks the number of segments from",
    )
    segment_k_max: int = Field(
        default=8, env="SEGMENT_K_MAX", description="the largest k the silhouette picks from"
    )
    # first: the card a customer first came through keeps them; last: the latest card wins.
    attribution: str = Field(
        default="first",
        env="ATTRIBUTION",
        description="`first`: a customer stays with the first distributor card they came "
        "through; `last`: the latest card link or scan wins",
    )

    class Config:
        error = InsightSettingsError

    @validator("event_keys", always=True)
    def _keys(cls, value: dict[str, str], values: dict[str, Any]) -> dict[str, str]:
        if value:
            return value
        return _checked_keys(
            {source: values.get(f"{source}_event_key") for source in KEYED_SOURCES}
        )

    @validator("event_rate_limit", pre=True)
    def _limit(cls, value: Any, field: ModelField) -> Any:
        if isinstance(value, str):
            return Limit.parse(variable_of(field), value, DEFAULT_EVENT_LIMIT)
        return value

    @validator("max_batch_events", pre=True)
    def _batch(cls, value: Any, field: ModelField) -> int:
        return whole_number(value, field, low=1, high=5000)

    @validator("segment_window_days", pre=True)
    def _window(cls, value: Any, field: ModelField) -> int:
        return whole_number(value, field, low=30, high=730)

    @validator("segment_k_min", "segment_k_max", pre=True)
    def _k(cls, value: Any, field: ModelField) -> int:
        return whole_number(value, field, low=2, high=20)

    @validator("segment_k_max")
    def _k_range(cls, value: int, values: dict[str, Any]) -> int:
        if value < values.get("segment_k_min", 0):
            raise ValueError("SEGMENT_K_MIN must not be larger than SEGMENT_K_MAX")
        return value

    @validator("attribution")
    def _attribution(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in ("first", "last"):
            raise ValueError(f"ATTRIBUTION must be first or last, got {value!r}")
        return value
