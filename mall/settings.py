"""Service settings, read once from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = f"sqlite:///{REPO_ROOT / 'var' / 'mall.db'}"


class SettingsError(ValueError):
    """An environment variable holds a value the service cannot use."""


@dataclass(frozen=True)
class Settings:
    """Where the mall keeps its data and where it listens."""

    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 5056

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from `MALL_DATABASE_URL`, `MALL_HOST` and `MALL_PORT`."""
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
        )
