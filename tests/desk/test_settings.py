"""The desk's settings: defaults on loopback, the widget beside Rasa, bad values named."""

from __future__ import annotations

import pytest

from desk.settings import DeskSettings, SettingsError
from security.ratelimit import Limit
from security.tokens import SecretError


def test_defaults_and_the_widget_follows_rasa() -> None:
    settings = DeskSettings.from_env({})
    assert (settings.host, settings.port, settings.login_limit) == (
        "127.0.0.1",
        5057,
        Limit(10, 60),
    )
    assert settings.widget_script_url == "http://127.0.0.1:5005/webhooks/web/widget.js"
    moved = DeskSettings.from_env({"RASA_URL": "https://chat.example.com/", "DESK_PORT": "8057"})
    assert moved.widget_script_url == "https://chat.example.com/webhooks/web/widget.js"
    assert moved.widget_origin == "https://chat.example.com" and moved.port == 8057
    assert DeskSettings.from_env({"CONSOLE_SECURE_COOKIES": "true"}).secure_cookies


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DESK_PORT", "http"),
        ("MALL_API_URL", "mall:5056"),
        ("RASA_URL", "rasa"),
        ("SHOP_DEMO_SIGN_IN", "perhaps"),
        ("CONSOLE_LOGIN_RATE_LIMIT", "ten"),
    ],
)
def test_a_bad_value_is_refused_by_name(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        DeskSettings.from_env({name: value})


def test_secrets_are_hidden_and_production_refuses_weak_ones() -> None:
    token = "a-real-service-token-0123456789"
    settings = DeskSettings.from_env({"MALL_API_TOKEN": token, "WEB_CHANNEL_SECRET": "changeme"})
    assert settings.mall_api_token == token and token not in repr(settings)
    with pytest.raises(SecretError, match="WEB_CHANNEL_SECRET"):
        DeskSettings.from_env(
            {"MALL_ASSISTANT_ENV": "production", "WEB_CHANNEL_SECRET": "changeme"}
        )
    with pytest.raises(SecretError, match="RASA_API_TOKEN"):
        DeskSettings.from_env({"MALL_API_TOKEN": token}).check()
