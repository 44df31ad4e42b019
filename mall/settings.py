"""The mall service's settings, read once from the environment into one object."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, validator
from pydantic.fields import ModelField

from mall.insight_settings import InsightSettings, InsightSettingsError
from security.settings import SECRET, ProcessSettings, port_number, whole_number

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = f"sqlite:///{REPO_ROOT / 'var' / 'mall.db'}"
DEFAULT_TRACKER_DB_URL = f"sqlite:///{REPO_ROOT / 'var' / 'trackers.db'}"
# Bodies are small JSON documents; the largest is a handoff's context package.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024

_HOURS = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


class SettingsError(ValueError):
    """An environment variable holds a value the service cannot use."""


def _parse_hours(raw: str) -> tuple[time, time | None]:
    """'09:00-21:00' -> (09:00, 21:00); an end of 24:00 means midnight (None)."""
    match = _HOURS.match(raw.replace(" ", ""))
    if not match:
        raise SettingsError(f"HANDOFF_SERVICE_HOURS must look like 09:00-21:00, got {raw!r}")
    start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
    if start_h > 23 or start_m > 59 or end_m > 59 or end_h > 24 or (end_h == 24 and end_m):
        raise SettingsError(f"HANDOFF_SERVICE_HOURS has an impossible time: {raw!r}")
    end = None if end_h == 24 else time(end_h, end_m)
    return time(start_h, start_m), end


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"HANDOFF_TIMEZONE is not a known zone: {name!r}") from None


class HandoffSettings(ProcessSettings):
    """When people answer, how long a conversation takes them, and how agents sign in."""

    service_hours: str = Field(
        default="09:00-21:00",
        env="HANDOFF_SERVICE_HOURS",
        description="when people answer (`00:00-24:00` for always; `22:00-06:00` works too)",
    )
    timezone: str = Field(
        default="Asia/Shanghai",
        env="HANDOFF_TIMEZONE",
        description="the time zone of `HANDOFF_SERVICE_HOURS`",
    )
    minutes_per_conversation: int = Field(
        default=4,
        env="HANDOFF_MINUTES_PER_CONVERSATION",
        description="for the expected wait the customer is told",
    )
    online_window_seconds: int = Field(
        default=120,
        env="CONSOLE_ONLINE_WINDOW_SECONDS",
        description="an agent counts as online this long after their last console request",
    )
    hotline: str = Field(default="400-800-8888", env="HANDOFF_HOTLINE")
    session_hours: int = Field(
        default=12, env="CONSOLE_SESSION_HOURS", description="console login lifetime (hours)"
    )
    # Wrong passwords in a row before an agent's account is locked, and for how long.
    login_max_failures: int = Field(
        default=5,
        env="CONSOLE_LOGIN_MAX_FAILURES",
        description="wrong passwords in a row that lock an agent's account",
    )
    login_lock_minutes: int = Field(
        default=15,
        env="CONSOLE_LOGIN_LOCK_MINUTES",
        description="how long (minutes) a locked account stays locked",
    )

    class Config:
        error = SettingsError

    @validator(
        "minutes_per_conversation",
        "online_window_seconds",
        "session_hours",
        "login_max_failures",
        "login_lock_minutes",
        pre=True,
    )
    def _positive(cls, value: Any, field: ModelField) -> int:
        return whole_number(value, field)

    # Refused at start, not at the first handoff.
    @validator("service_hours")
    def _hours(cls, value: str) -> str:
        _parse_hours(value)
        return value

    @validator("timezone")
    def _known_zone(cls, value: str) -> str:
        _zone(value)
        return value

    def hours(self) -> tuple[time, time | None]:
        """Opening and closing time (None: open until midnight)."""
        return _parse_hours(self.service_hours)

    def zone(self) -> ZoneInfo:
        """The time zone the service hours are in."""
        return _zone(self.timezone)

    def in_service_hours(self, now: datetime) -> bool:
        """Whether people answer at `now` (timezone-aware)."""
        start, end = self.hours()
        local = now.astimezone(self.zone()).time()
        if end is None:
            return local >= start
        if start <= end:
            return start <= local < end
        return local >= start or local < end  # a night shift past midnight

    @property
    def online_window(self) -> timedelta:
        """How recently an agent must have been seen to count as online."""
        return timedelta(seconds=self.online_window_seconds)

    @property
    def lock_duration(self) -> timedelta:
        """How long an account stays locked after too many wrong passwords."""
        return timedelta(minutes=self.login_lock_minutes)


class Settings(ProcessSettings):
    """Where the mall keeps its data, where it listens, the token callers must send, and what
    its commands (the scheduler, KPIs, erasure, agents) need."""

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        env="MALL_DATABASE_URL",
        shown="`sqlite:///var/mall.db`",
        description="the mall's database (`postgresql://...` in production)",
    )
    host: str = Field(
        default="127.0.0.1",
        env="MALL_HOST",
        description="where the mall API listens (keep it private)",
    )
    port: int = Field(default=5056, env="MALL_PORT", description="the mall API's port")
    # The service token (Authorization: Bearer ...) every route but /health requires.
    api_token: str = Field(
        default="",
        env="MALL_API_TOKEN",
        repr=False,
        secret=SECRET,
        shown="generated once (`var/secrets/`) by `make run`",
        description="the mall API's service token; the mall refuses to start without one "
        "(16+ characters)",
    )
    max_body_bytes: int = Field(
        default=DEFAULT_MAX_BODY_BYTES,
        env="MALL_MAX_BODY_BYTES",
        description="larger request bodies get 413 from the mall API",
    )
    # Where the mall publishes changed products and profiles (mall/changes.py).
    changes_redis_url: str = Field(
        default="",
        env="MALL_CHANGES_REDIS_URL",
        shown="unset: no announcements",
        description="where the mall publishes changed products and profiles "
        "(`mall-assistant:mall-changes`), so the action servers' cache drops them",
    )
    # The scheduler (`python -m mall outreach`) triggers offers through Rasa's HTTP API.
    rasa_url: str = Field(default="http://127.0.0.1:5005", env="RASA_URL")
    rasa_api_token: str = Field(default="", env="RASA_API_TOKEN", repr=False, secret=SECRET)
    # `kpis` and `erase-customer` read Rasa's SQL tracker store.
    tracker_db_url: str = Field(
        default=DEFAULT_TRACKER_DB_URL, env="TRACKER_DB_URL", shown="`sqlite:///var/trackers.db`"
    )
    # `init-db --seed` creates the demo agent with this password; `add-agent` takes the other.
    demo_password: str = Field(default="", env="CONSOLE_DEMO_PASSWORD", repr=False, secret=SECRET)
    agent_password: str = Field(
        default="",
        env="CONSOLE_AGENT_PASSWORD",
        repr=False,
        secret=SECRET,
        shown="asked",
        description="the password `python -m mall add-agent` gives the agent (else it asks)",
    )
    handoff: HandoffSettings = Field(default_factory=HandoffSettings, env=set())
    insight: InsightSettings = Field(default_factory=InsightSettings, env=set())

    class Config:
        error = SettingsError

    @validator("port", pre=True)
    def _port(cls, value: Any, field: ModelField) -> int:
        return port_number(value, field)

    @validator("max_body_bytes", pre=True)
    def _positive(cls, value: Any, field: ModelField) -> int:
        return whole_number(value, field)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **given: Any) -> Settings:
        """Build settings from `MALL_*`, `HANDOFF_*`, `CONSOLE_*` and the insight variables."""
        try:
            insight = InsightSettings.from_env(environ)
        except InsightSettingsError as error:
            raise SettingsError(str(error)) from None
        parts = {"handoff": HandoffSettings.from_env(environ), "insight": insight}
        return super().from_env(environ, **{**parts, **given})
