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
    assert settings == Settings("postgresql://mall@db/mall", "0.0.0.0", 8080)


@pytest.mark.parametrize("port", ["http", "0", "70000"])
def test_bad_port_is_refused_clearly(port: str) -> None:
    with pytest.raises(SettingsError, match="MALL_PORT"):
        Settings.from_env({"MALL_PORT": port})
