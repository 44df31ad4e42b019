"""Action server settings: one typed object, read once from the environment and `.env`."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import Field, validator

from security.settings import SECRET, ProcessSettings, blank_is_default, variable_of
from security.tokens import resolve_secret

ROOT = Path(__file__).resolve().parent.parent


class Settings(ProcessSettings):
    """Where the mall API lives and how long the action server may wait for it."""

    var_dir: Path = Field(default=ROOT / "var", env="MALL_ASSISTANT_VAR")
    mall_api_url: str = Field(
        default="http://127.0.0.1:5056",
        env="MALL_API_URL",
        description="where the action server, the safety net and the desk find the mall API "
        "(point it at your own mall)",
    )
    # The mall API's service token, sent on every call (resolved by `from_env`).
    mall_api_token: str = Field(default="", env="MALL_API_TOKEN", repr=False, secret=SECRET)
    # A customer is waiting on every call: fail fast and answer politely instead.
    connect_timeout: float = Field(
        default=1.0, env="MALL_API_CONNECT_TIMEOUT", description="seconds to connect to the mall"
    )
    read_timeout: float = Field(
        default=2.0, env="MALL_API_READ_TIMEOUT", description="seconds to wait for its answer"
    )
    # Retries apply to idempotent reads only (GET), on connection errors and 5xx.
    read_retries: int = Field(
        default=2,
        env="MALL_API_RETRIES",
        description="retries of idempotent reads on connection errors and 5xx",
    )
    retry_backoff: float = Field(
        default=0.1, env="MALL_API_RETRY_BACKOFF", description="seconds between those retries"
    )
    # After this many failed calls in a row, stop calling for `breaker_cooldown` seconds.
    breaker_threshold: int = Field(
        default=3,
        env="MALL_API_BREAKER_THRESHOLD",
        description="failures in a row that open the circuit breaker",
    )
    breaker_cooldown: float = Field(
        default=30.0,
        env="MALL_API_BREAKER_COOLDOWN",
        description="seconds the open breaker stops calling the mall",
    )
    # Offered when not even a handoff can be recorded.
    hotline: str = Field(
        default="400-800-8888",
        env="HANDOFF_HOTLINE",
        description="offered when a handoff cannot be recorded",
    )
    # Redis for the shared read cache of products and profiles (empty: no cache).
    cache_redis_url: str = Field(
        default="",
        env="MALL_CACHE_REDIS_URL",
        shown="unset: no cache",
        description="the action servers' shared Redis cache of product and profile reads "
        "(5 minutes; `make cluster` sets it)",
    )

    @validator("mall_api_url")
    def _http_url(cls, value: str) -> str:
        url = value.strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"MALL_API_URL must be an http(s) URL, got {url!r}")
        return url

    @validator("connect_timeout", "read_timeout", "retry_backoff", "breaker_cooldown", pre=True)
    def _positive_seconds(cls, value: Any, field: Any) -> float:
        name, value = variable_of(field), blank_is_default(value, field.default)
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a number of seconds, got {value!r}") from None
        if seconds <= 0:
            raise ValueError(f"{name} must be greater than zero, got {value!r}")
        return seconds

    @validator("read_retries", "breaker_threshold", pre=True)
    def _whole_number(cls, value: Any, field: Any) -> int:
        name, value = variable_of(field), blank_is_default(value, field.default)
        try:
            number = int(str(value).strip())
        except ValueError:
            raise ValueError(f"{name} must be a whole number, got {value!r}") from None
        if number < 0:
            raise ValueError(f"{name} must not be negative, got {value!r}")
        return max(1, number) if field.name == "breaker_threshold" else number

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **given: Any) -> Settings:
        """The settings, with MALL_API_TOKEN resolved: in development, when unset, the one
        `make run` keeps under var/; outside it a missing or weak token is refused."""
        settings = super().from_env(environ, **given)
        token = resolve_secret(
            "MALL_API_TOKEN",
            settings.mall_api_token,
            environment=settings.environment,
            var_dir=settings.var_dir,
        )
        return settings.copy(update={"mall_api_token": token})


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings (read from the environment and .env on first use)."""
    return Settings.from_env()
