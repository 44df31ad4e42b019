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

from pydantic import BaseSettings, Field, validator

from security.dotenv import load_dotenv
from security.tokens import check_environment, resolve_secret

ROOT = Path(__file__).resolve().parent.parent


class ChannelSettings(BaseSettings):
    """Secrets and limits of the channels in credentials.yml, by their variable names."""

    environment: str = Field(default="development", env="MALL_ASSISTANT_ENV")
    var_dir: Path = Field(default=ROOT / "var", env="MALL_ASSISTANT_VAR")
    web_channel_secret: str = ""
    web_session_rate_limit: str = ""
    web_message_rate_limit: str = ""
    web_client_rate_limit: str = ""
    web_redis_url: str = ""
    handoff_token: str = ""
    rest_channel_token: str = ""
    wechat_token: str = ""
    wechat_app_id: str = ""
    wechat_app_secret: str = ""
    wechat_encoding_aes_key: str = ""
    wechat_api_base_url: str = ""
    wechat_redis_url: str = ""
    wechat_account_type: str = ""
    wechat_miniprogram_app_id: str = ""
    wechat_product_page: str = ""
    wechat_card_thumb_media_id: str = ""
    wechat_reply_timeout: str = ""
    wechat_client_rate_limit: str = ""
    wechat_sender_rate_limit: str = ""

    class Config:
        case_sensitive = False

    @validator("environment")
    def _known_environment(cls, value: str) -> str:
        return check_environment(value)

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
    load_dotenv(ROOT / ".env")
    return ChannelSettings()


def merged(credentials: dict[str, Any] | None, defaults: dict[str, Any]) -> dict[str, Any]:
    """credentials.yml's non-empty values over the defaults from the environment."""
    given = {key: value for key, value in (credentials or {}).items() if value not in (None, "")}
    return {**defaults, **given}
