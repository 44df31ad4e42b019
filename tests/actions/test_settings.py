"""Settings from the environment."""

from __future__ import annotations

import pytest

from actions.settings import Settings


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.mall_api_url == "http://127.0.0.1:5056"
    assert (settings.connect_timeout, settings.read_timeout, settings.read_retries) == (1.0, 2.0, 2)


def test_values_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "MALL_API_URL": "https://mall.example.com/api/",
            "MALL_API_CONNECT_TIMEOUT": "0.5",
            "MALL_API_READ_TIMEOUT": "3",
            "MALL_API_RETRIES": "0",
        }
    )
    assert settings.mall_api_url == "https://mall.example.com/api"
    assert (settings.connect_timeout, settings.read_timeout, settings.read_retries) == (0.5, 3.0, 0)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MALL_API_URL", "mall:5056"),
        ("MALL_API_READ_TIMEOUT", "soon"),
        ("MALL_API_CONNECT_TIMEOUT", "0"),
        ("MALL_API_RETRIES", "-1"),
        ("MALL_API_RETRIES", "two"),
    ],
)
def test_malformed_values_are_refused_by_name(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        Settings.from_env({name: value})


@pytest.mark.parametrize("token", ["", "changeme", "short-token"])
def test_production_refuses_a_missing_or_weak_token(token: str) -> None:
    with pytest.raises(ValueError, match="MALL_API_TOKEN"):
        Settings.from_env({"MALL_ASSISTANT_ENV": "production", "MALL_API_TOKEN": token})


def test_production_takes_a_real_token_and_blank_values_mean_defaults() -> None:
    token = "a-real-service-token-0123456789"
    settings = Settings.from_env(
        {"MALL_ASSISTANT_ENV": "production", "MALL_API_TOKEN": token, "MALL_API_RETRIES": " "}
    )
    assert settings.mall_api_token == token and settings.read_retries == 2
