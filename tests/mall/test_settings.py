"""Settings come from the environment, with safe local defaults."""

from __future__ import annotations

import pytest

from mall.settings import REPO_ROOT, Settings, SettingsError


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.database_url == f"sqlite:///{REPO_ROOT / 'var' / 'mall.db'}"
    assert (settings.host, settings.port) == ("127.0.0.1", 5056)


def test_environment_overrides() -> None:
    settings = Settings.from_env(
        {
            "MALL_DATABASE_URL": "postgresql://mall@db/mall",
            "MALL_HOST": "0.0.0.0",
            "MALL_PORT": "8080",
        }
    )
    assert (settings.database_url, settings.host, settings.port) == (
        "postgresql://mall@db/mall",
        "0.0.0.0",
        8080,
    )


def test_the_token_is_read_but_never_shown() -> None:
    settings = Settings.from_env({"MALL_API_TOKEN": " s3cret-token-value-123 "})
    assert settings.api_token == "s3cret-token-value-123"
    assert "s3cret" not in repr(settings)


@pytest.mark.parametrize("port", ["http", "0", "70000"])
def test_bad_port_is_refused_clearly(port: str) -> None:
    with pytest.raises(SettingsError, match="MALL_PORT"):
        Settings.from_env({"MALL_PORT": port})
