"""The mall service's settings, read once from the environment into one object."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mall.insight_settings import InsightSettings, InsightSettingsError

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = f"sqlite:///{REPO_ROOT / 'var' / 'mall.db'}"
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


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) <= 0:
        raise SettingsError(f"{name} must be a positive whole number, got {raw!r}")
    return int(raw)


@dataclass(frozen=True)
class HandoffSettings:
    """When people answer, how long a conversation takes them, and how agents sign in."""

    service_hours: str = "09:00-21:00"
    timezone: str = "Asia/Shanghai"
    minutes_per_conversation: int = 4
    online_window_seconds: int = 120
    hotline: str = "400-800-8888"
    session_hours: int = 12
    # Wrong passwords in a row before an agent's account is locked, and for how long.
    login_max_failures: int = 5
    login_lock_minutes: int = 15

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> HandoffSettings:
        """Read HANDOFF_* / CONSOLE_* variables; defaults suit the demo."""
        env = os.environ if environ is None else environ
        settings = cls(
            service_hours=env.get("HANDOFF_SERVICE_HOURS", "").strip() or cls.service_hours,
            timezone=env.get("HANDOFF_TIMEZONE", "").strip() or cls.timezone,
            minutes_per_conversation=_positive_int(env, "HANDOFF_MINUTES_PER_CONVERSATION", 4),
            online_window_seconds=_positive_int(env, "CONSOLE_ONLINE_WINDOW_SECONDS", 120),
            hotline=env.get("HANDOFF_HOTLINE", "").strip() or cls.hotline,
            session_hours=_positive_int(env, "CONSOLE_SESSION_HOURS", 12),
            login_max_failures=_positive_int(env, "CONSOLE_LOGIN_MAX_FAILURES", 5),
            login_lock_minutes=_positive_int(env, "CONSOLE_LOGIN_LOCK_MINUTES", 15),
        )
        settings.hours()  # refuse a malformed value at start, not at the first handoff
        settings.zone()
        return settings

    def hours(self) -> tuple[time, time | None]:
        """Opening and closing time (None: open until midnight)."""
        return _parse_hours(self.service_hours)

    def zone(self) -> ZoneInfo:
        """The time zone the service hours are in."""
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(
                f"HANDOFF_TIMEZONE is not a known zone: {self.timezone!r}"
            ) from None

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


@dataclass(frozen=True)
class Settings:
    """Where the mall keeps its data, where it listens, and the token callers must send."""

    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 5056
    # The service token (Authorization: Bearer ...) every route but /health requires.
    api_token: str = field(default="", repr=False)
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    handoff: HandoffSettings = field(default_factory=HandoffSettings)
    insight: InsightSettings = field(default_factory=InsightSettings)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from `MALL_*`, `HANDOFF_*` and `CONSOLE_*` variables."""
        env = os.environ if environ is None else environ
        raw_port = env.get("MALL_PORT", "").strip() or "5056"
        try:
            port = int(raw_port)
        except ValueError:
            raise SettingsError(f"MALL_PORT must be a port number, got {raw_port!r}") from None
        if not 0 < port < 65536:
            raise SettingsError(f"MALL_PORT must be between 1 and 65535, got {port}")
        return cls(
            database_url=env.get("MALL_DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL,
            host=env.get("MALL_HOST", "").strip() or "127.0.0.1",
            port=port,
            api_token=env.get("MALL_API_TOKEN", "").strip(),
            max_body_bytes=_positive_int(env, "MALL_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES),
            handoff=HandoffSettings.from_env(env),
            insight=_insight(env),
        )


def _insight(env: Mapping[str, str]) -> InsightSettings:
    try:
        return InsightSettings.from_env(env)
    except InsightSettingsError as error:
        raise SettingsError(str(error)) from None
