"""Settings come from the environment, with safe local defaults."""

from __future__ import annotations

import pytest

from mall.settings import REPO_ROOT, Settings, SettingsError
from security.tokens import SecretError


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


def test_blank_means_unset_and_each_part_names_its_variable() -> None:
    settings = Settings.from_env({"MALL_PORT": " ", "HANDOFF_TIMEZONE": "", "SEGMENT_K_MAX": "12"})
    assert settings.port == 5056 and settings.handoff.timezone == "Asia/Shanghai"
    assert settings.insight.segment_k_max == 12
    for name, value in (
        ("HANDOFF_MINUTES_PER_CONVERSATION", "0"),
        ("CONSOLE_SESSION_HOURS", "a day"),
        ("SEGMENT_WINDOW_DAYS", "5"),
        ("MALL_EVENT_RATE_LIMIT", "lots"),
        ("SHOP_EVENT_KEY", "changeme"),
    ):
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({name: value})


def test_the_commands_read_their_variables_through_the_settings() -> None:
    settings = Settings.from_env(
        {"RASA_URL": "http://rasa:5005", "TRACKER_DB_URL": "postgresql://db/rasa"}
    )
    assert (settings.rasa_url, settings.tracker_db_url) == (
        "http://rasa:5005",
        "postgresql://db/rasa",
    )
    assert Settings.from_env({}).tracker_db_url == f"sqlite:///{REPO_ROOT / 'var' / 'trackers.db'}"


def test_production_refuses_a_placeholder_password_development_does_not() -> None:
    assert Settings.from_env({"CONSOLE_DEMO_PASSWORD": "password"}).demo_password == "password"
    with pytest.raises(SecretError, match="CONSOLE_DEMO_PASSWORD"):
        Settings.from_env({"MALL_ASSISTANT_ENV": "production", "CONSOLE_DEMO_PASSWORD": "password"})
    real = "a-long-demo-password-0123"
    production = Settings.from_env(
        {"MALL_ASSISTANT_ENV": "production", "CONSOLE_DEMO_PASSWORD": real}
    )
    assert production.demo_password == real and "a-long" not in repr(production)


def test_replace_keeps_the_parts() -> None:
    settings = Settings.from_env({"HANDOFF_SERVICE_HOURS": "00:00-24:00"})
    moved = settings.replace(host="0.0.0.0", port=8080)
    assert (moved.host, moved.port, moved.handoff.service_hours) == ("0.0.0.0", 8080, "00:00-24:00")
