"""The credentials block: required values refused when missing, empty optional ones unset."""

from __future__ import annotations

from typing import Any

import pytest

from channels.wechat import WeChatInput
from channels.wechat.errors import WeChatConfigError
from channels.wechat.settings import WeChatSettings
from tests.channels.wechat.conftest import AES_KEY

# What the launcher writes when only the three required variables are set.
LAUNCHED: dict[str, Any] = {
    "token": "tok",
    "app_id": "wx123",
    "app_secret": "sec",
    "encoding_aes_key": "",
    "api_base_url": "",
    "redis_url": "",
}


def test_empty_optional_values_mean_plain_mode_real_api_no_redis() -> None:
    settings = WeChatSettings.from_credentials(LAUNCHED)
    assert not settings.safe_mode
    assert settings.api_base_url == "https://api.weixin.qq.com"
    assert settings.redis_url is None
    assert not settings.is_mini_program


@pytest.mark.parametrize("missing", ["token", "app_id", "app_secret"])
def test_missing_required_value_is_refused_by_name(missing: str) -> None:
    credentials = dict(LAUNCHED, **{missing: ""})
    with pytest.raises(WeChatConfigError, match=missing):
        WeChatInput.from_credentials(credentials)


def test_no_account_at_all_leaves_the_channel_off(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("WECHAT_TOKEN", "WECHAT_APP_ID", "WECHAT_APP_SECRET"):
        monkeypatch.delenv(name, raising=False)
    channel = WeChatInput.from_credentials(None)
    assert channel.settings is None and channel.get_output_channel() is None
    assert not channel.blueprint(lambda message: None)._future_routes  # type: ignore[arg-type, return-value]


def test_the_account_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WECHAT_TOKEN", "env-token")
    monkeypatch.setenv("WECHAT_APP_ID", "wxenv")
    with pytest.raises(WeChatConfigError, match="WECHAT_APP_SECRET"):
        WeChatInput.from_credentials(None)
    monkeypatch.setenv("WECHAT_APP_SECRET", "env-secret")
    monkeypatch.setenv("WECHAT_SENDER_RATE_LIMIT", "7/60")
    settings = WeChatInput.from_credentials({"app_id": "wxfile"}).settings
    assert settings is not None
    assert (settings.token, settings.app_id) == ("env-token", "wxfile")
    assert settings.sender_limit.count == 7


def test_aes_key_switches_on_safe_mode_and_a_bad_one_is_refused() -> None:
    assert WeChatSettings.from_credentials(dict(LAUNCHED, encoding_aes_key=AES_KEY)).safe_mode
    with pytest.raises(WeChatConfigError, match="43"):
        WeChatSettings.from_credentials(dict(LAUNCHED, encoding_aes_key="too-short"))


def test_api_base_url_and_account_type_are_read() -> None:
    settings = WeChatSettings.from_credentials(
        dict(LAUNCHED, api_base_url="http://127.0.0.1:9/", account_type="mini_program")
    )
    assert settings.api_base_url == "http://127.0.0.1:9"
    assert settings.is_mini_program
    assert settings.card_app_id == "wx123"
    with pytest.raises(WeChatConfigError, match="WECHAT_ACCOUNT_TYPE"):
        WeChatSettings.from_credentials(dict(LAUNCHED, account_type="enterprise"))


def test_channel_is_named_wechat() -> None:
    assert WeChatInput.name() == "wechat"
    assert WeChatInput.from_credentials(LAUNCHED).url_prefix() == "wechat"


def test_rate_limits_come_from_the_credentials() -> None:
    from security.ratelimit import Limit

    base = {"token": "t", "app_id": "wx1", "app_secret": "s"}
    settings = WeChatSettings.from_credentials({**base, "sender_rate_limit": "5/30"})
    assert settings.sender_limit == Limit(5, 30) and settings.client_limit == Limit(600, 60)
    with pytest.raises(WeChatConfigError, match="WECHAT_CLIENT_RATE_LIMIT"):
        WeChatSettings.from_credentials({**base, "client_rate_limit": "lots"})
