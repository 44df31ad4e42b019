"""The Rasa process's channel settings: one object, read from the environment and `.env`.

credentials.yml names the channels and may set any of these per channel; what it leaves out
comes from here, so a fresh checkout runs `rasa run` with no variables at all: in development
the web channel's and the bridge's secrets are generated once under var/secrets/ (the same
files `make run` hands the other processes), REST stays off without its token and WeChat
without its account.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from security.settings import SECRET, ProcessSettings
from security.tokens import resolve_secret

ROOT = Path(__file__).resolve().parent.parent


WECHAT_DOC = "docs/wechat.md"


def _wechat(variable: str, *, hidden: bool = False) -> Any:
    """A WeChat variable: docs/wechat.md documents it, beside the account's setup."""
    return Field(default="", env=variable, repr=not hidden, documented_in=WECHAT_DOC)


class ChannelSettings(ProcessSettings):
    """Secrets and limits of the channels in credentials.yml, by their variable names."""

    var_dir: Path = Field(default=ROOT / "var", env="MALL_ASSISTANT_VAR")
    web_channel_secret: str = Field(default="", env="WEB_CHANNEL_SECRET", repr=False, secret=SECRET)
    web_session_rate_limit: str = Field(
        default="",
        env="WEB_SESSION_RATE_LIMIT",
        shown="`30/60`",
        description="widget sessions per client address (count/seconds)",
    )
    web_message_rate_limit: str = Field(
        default="",
        env="WEB_MESSAGE_RATE_LIMIT",
        shown="`20/60`",
        description="widget messages per conversation (count/seconds)",
    )
    web_client_rate_limit: str = Field(
        default="",
        env="WEB_CLIENT_RATE_LIMIT",
        shown="`120/60`",
        description="widget messages per client address (count/seconds)",
    )
    web_redis_url: str = Field(
        default="",
        env="WEB_REDIS_URL",
        shown="unset: this process only",
        description="where the web channel remembers the message ids it answered (an hour), "
        "so a widget resend that reaches another Rasa replica is answered once (`make "
        "cluster` sets it)",
    )
    handoff_token: str = Field(default="", env="HANDOFF_TOKEN", repr=False, secret=SECRET)
    rest_channel_token: str = Field(
        default="",
        env="REST_CHANNEL_TOKEN",
        repr=False,
        secret=SECRET,
        shown="unset: REST off",
        description="turns the REST channel on, for callers with this token only",
    )
    concurrent_turns: int = Field(
        default=3,
        env="CONCURRENT_TURNS",
        ge=0,
        description="customer messages one Rasa process works on at once; the others wait "
        "in order of arrival (0: no limit, Rasa's way)",
    )
    # Offered by the safety net when not even a handoff can be recorded.
    handoff_hotline: str = Field(default="400-800-8888", env="HANDOFF_HOTLINE")
    wechat_token: str = _wechat("WECHAT_TOKEN", hidden=True)
    wechat_app_id: str = _wechat("WECHAT_APP_ID")
    wechat_app_secret: str = _wechat("WECHAT_APP_SECRET", hidden=True)
    wechat_encoding_aes_key: str = _wechat("WECHAT_ENCODING_AES_KEY", hidden=True)
    wechat_api_base_url: str = _wechat("WECHAT_API_BASE_URL")
    wechat_redis_url: str = _wechat("WECHAT_REDIS_URL")
    wechat_account_type: str = _wechat("WECHAT_ACCOUNT_TYPE")
    wechat_miniprogram_app_id: str = _wechat("WECHAT_MINIPROGRAM_APP_ID")
    wechat_product_page: str = _wechat("WECHAT_PRODUCT_PAGE")
    wechat_card_thumb_media_id: str = _wechat("WECHAT_CARD_THUMB_MEDIA_ID")
    wechat_reply_timeout: str = _wechat("WECHAT_REPLY_TIMEOUT")
    wechat_client_rate_limit: str = _wechat("WECHAT_CLIENT_RATE_LIMIT")
    wechat_sender_rate_limit: str = _wechat("WECHAT_SENDER_RATE_LIMIT")

    def secret(self, name: str, value: str | None = None) -> str:
        """The secret `name` (credentials.yml's `value` first), generated in development."""
        given = value if value else getattr(self, name.lower())
        return resolve_secret(name, given, environment=self.environment, var_dir=self.var_dir)

    def wechat_credentials(self) -> dict[str, Any]:
        """The WeChat block's keys from the WECHAT_* variables (empty ones left out)."""
        values = {
            "token": self.wechat_token,
            "app_id": self.wechat_app_id,
            "app_secret": self.wechat_app_secret,
            "encoding_aes_key": self.wechat_encoding_aes_key,
            "api_base_url": self.wechat_api_base_url,
            "redis_url": self.wechat_redis_url,
            "account_type": self.wechat_account_type,
            "mini_program_app_id": self.wechat_miniprogram_app_id,
            "product_page": self.wechat_product_page,
            "card_thumb_media_id": self.wechat_card_thumb_media_id,
            "reply_timeout": self.wechat_reply_timeout,
            "client_rate_limit": self.wechat_client_rate_limit,
            "sender_rate_limit": self.wechat_sender_rate_limit,
        }
        return {key: value for key, value in values.items() if value.strip()}


def channel_settings() -> ChannelSettings:
    """The settings from the environment, `.env` included (variables already set win)."""
    return ChannelSettings.from_env()


def merged(credentials: dict[str, Any] | None, defaults: dict[str, Any]) -> dict[str, Any]:
    """credentials.yml's non-empty values over the defaults from the environment."""
    given = {key: value for key, value in (credentials or {}).items() if value not in (None, "")}
    return {**defaults, **given}
