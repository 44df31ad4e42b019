"""Action server settings, read once from the environment."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from security.dotenv import load_dotenv
from security.tokens import ENVIRONMENT_VARIABLE, check_environment, resolve_secret

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    """Where the mall API lives and how long the action server may wait for it."""

    mall_api_url: str = "http://127.0.0.1:5056"
    # The mall API's service token (MALL_API_TOKEN), sent on every call.
    mall_api_token: str = field(default="", repr=False)
    # A customer is waiting on every call: fail fast and answer politely instead.
    connect_timeout: float = 1.0
    read_timeout: float = 2.0
    # Retries apply to idempotent reads only (GET), on connection errors and 5xx.
    read_retries: int = 2
    retry_backoff: float = 0.1
    # After this many failed calls in a row, stop calling for `breaker_cooldown` seconds.
    breaker_threshold: int = 3
    breaker_cooldown: float = 30.0
    # Offered when not even a handoff can be recorded.
    hotline: str = "400-800-8888"
    # Redis for the shared read cache of products and profiles (empty: no cache).
    cache_redis_url: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from `MALL_API_*` variables, refusing malformed values."""
        env = os.environ if environ is None else environ
        url = env.get("MALL_API_URL", cls.mall_api_url).strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"MALL_API_URL must be an http(s) URL, got {url!r}")
        return cls(
            mall_api_url=url,
            mall_api_token=_mall_api_token(env),
            connect_timeout=_positive_float(env, "MALL_API_CONNECT_TIMEOUT", cls.connect_timeout),
            read_timeout=_positive_float(env, "MALL_API_READ_TIMEOUT", cls.read_timeout),
            read_retries=_non_negative_int(env, "MALL_API_RETRIES", cls.read_retries),
            retry_backoff=_positive_float(env, "MALL_API_RETRY_BACKOFF", cls.retry_backoff),
            breaker_threshold=max(
                1, _non_negative_int(env, "MALL_API_BREAKER_THRESHOLD", cls.breaker_threshold)
            ),
            hotline=env.get("HANDOFF_HOTLINE", "").strip() or cls.hotline,
            cache_redis_url=env.get("MALL_CACHE_REDIS_URL", "").strip(),
            breaker_cooldown=_positive_float(
                env, "MALL_API_BREAKER_COOLDOWN", cls.breaker_cooldown
            ),
        )


def _mall_api_token(env: Mapping[str, str]) -> str:
    """MALL_API_TOKEN; in development, when unset, the one `make run` keeps under var/."""
    environment = check_environment(env.get(ENVIRONMENT_VARIABLE))
    var_dir = Path(env.get("MALL_ASSISTANT_VAR") or ROOT / "var")
    return resolve_secret(
        "MALL_API_TOKEN", env.get("MALL_API_TOKEN"), environment=environment, var_dir=var_dir
    )


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings (read from the environment and .env on first use)."""
    load_dotenv(ROOT / ".env")
    return Settings.from_env()


def _positive_float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be greater than zero, got {raw!r}")
    return value


def _non_negative_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {raw!r}")
    return value
