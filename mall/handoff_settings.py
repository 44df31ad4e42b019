"""Settings of the human handoff and the agent console, read from the environment."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mall.settings import SettingsError

_HOURS = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


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
    """When people answer, how long a conversation takes them, and how to reach Rasa."""

    service_hours: str = "09:00-21:00"
    timezone: str = "Asia/Shanghai"
    minutes_per_conversation: int = 4
    online_window_seconds: int = 120
    hotline: str = "400-800-8888"
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_api_token: str = ""
    bridge_token: str = ""
    session_hours: int = 12
    secure_cookies: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> HandoffSettings:
        """Read HANDOFF_* / CONSOLE_* / RASA_* variables; defaults suit the demo."""
        env = os.environ if environ is None else environ
        settings = cls(
            service_hours=env.get("HANDOFF_SERVICE_HOURS", "").strip() or cls.service_hours,
            timezone=env.get("HANDOFF_TIMEZONE", "").strip() or cls.timezone,
            minutes_per_conversation=_positive_int(env, "HANDOFF_MINUTES_PER_CONVERSATION", 4),
            online_window_seconds=_positive_int(env, "CONSOLE_ONLINE_WINDOW_SECONDS", 120),
            hotline=env.get("HANDOFF_HOTLINE", "").strip() or cls.hotline,
            rasa_url=(env.get("RASA_URL", "").strip() or cls.rasa_url).rstrip("/"),
            rasa_api_token=env.get("RASA_API_TOKEN", "").strip(),
            bridge_token=env.get("HANDOFF_TOKEN", "").strip(),
            session_hours=_positive_int(env, "CONSOLE_SESSION_HOURS", 12),
            secure_cookies=env.get("CONSOLE_SECURE_COOKIES", "").strip().lower()
            in ("1", "true", "yes"),
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
