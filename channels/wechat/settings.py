"""The WeChat channel's settings, read from its credentials.yml block."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from channels.wechat.errors import WeChatConfigError
from security.ratelimit import Limit

DEFAULT_API_BASE_URL = "https://api.weixin.qq.com"
OFFICIAL_ACCOUNT = "official_account"
MINI_PROGRAM = "mini_program"
# The product page of the mall's mini-program; `{product_id}` is filled in.
DEFAULT_PRODUCT_PAGE = "pages/product/index?id={product_id}"
# WeChat gives up after 5 s and retries; answering a little earlier leaves room for the network.
DEFAULT_REPLY_TIMEOUT = 4.5
# Pushes come from WeChat's servers (a few addresses for everyone), so the per-address limit
# is generous and only stops floods of forged pushes; the per-customer one is a person's pace.
DEFAULT_CLIENT_LIMIT = Limit(600, 60)
DEFAULT_SENDER_LIMIT = Limit(20, 60)

# Credential key -> the environment variable credentials.yml fills it from (for error messages).
_REQUIRED = {"token": "WECHAT_TOKEN", "app_id": "WECHAT_APP_ID", "app_secret": "WECHAT_APP_SECRET"}


@dataclass(frozen=True)
class WeChatSettings:
    """One official account or mini-program that pushes messages to this channel."""

    token: str
    app_id: str
    app_secret: str
    encoding_aes_key: str | None = None
    api_base_url: str = DEFAULT_API_BASE_URL
    redis_url: str | None = None
    account_type: str = OFFICIAL_ACCOUNT
    # The mini-program whose product page a product card opens (defaults to app_id for a
    # mini-program account); without one, product cards are sent as text.
    mini_program_app_id: str | None = None
    product_page: str = DEFAULT_PRODUCT_PAGE
    # A permanent image (media id) shown on product cards that have no picture of their own.
    card_thumb_media_id: str | None = None
    reply_timeout: float = DEFAULT_REPLY_TIMEOUT
    # How far a push's timestamp may be from our clock (seconds) before it counts as replayed.
    max_clock_skew: int = 300
    client_limit: Limit = DEFAULT_CLIENT_LIMIT
    sender_limit: Limit = DEFAULT_SENDER_LIMIT

    @property
    def safe_mode(self) -> bool:
        """Whether pushes are encrypted (安全模式) rather than plain (明文模式)."""
        return self.encoding_aes_key is not None

    @property
    def is_mini_program(self) -> bool:
        """Mini-programs take no passive replies: every answer goes through the API."""
        return self.account_type == MINI_PROGRAM

    @property
    def card_app_id(self) -> str | None:
        """The mini-program product cards open, if any."""
        if self.mini_program_app_id:
            return self.mini_program_app_id
        return self.app_id if self.is_mini_program else None

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, Any] | None) -> WeChatSettings:
        """Read and check the credentials block; missing required values are refused."""
        values = {key: _text(value) for key, value in (credentials or {}).items()}
        missing = [f"{key} ({env})" for key, env in _REQUIRED.items() if not values.get(key)]
        if missing:
            raise WeChatConfigError(
                "The WeChat channel needs " + ", ".join(missing) + " in credentials.yml"
            )
        aes_key = values.get("encoding_aes_key") or None
        if aes_key is not None:
            _check_aes_key(aes_key)
        account_type = values.get("account_type") or OFFICIAL_ACCOUNT
        if account_type not in (OFFICIAL_ACCOUNT, MINI_PROGRAM):
            raise WeChatConfigError(
                f"WECHAT_ACCOUNT_TYPE must be {OFFICIAL_ACCOUNT} or {MINI_PROGRAM}, "
                f"got {account_type!r}"
            )
        product_page = values.get("product_page") or DEFAULT_PRODUCT_PAGE
        if "{product_id}" not in product_page:
            raise WeChatConfigError("WECHAT_PRODUCT_PAGE must contain {product_id}")
        return cls(
            token=values["token"],
            app_id=values["app_id"],
            app_secret=values["app_secret"],
            encoding_aes_key=aes_key,
            api_base_url=(values.get("api_base_url") or DEFAULT_API_BASE_URL).rstrip("/"),
            redis_url=values.get("redis_url") or None,
            account_type=account_type,
            mini_program_app_id=values.get("mini_program_app_id") or None,
            product_page=product_page,
            card_thumb_media_id=values.get("card_thumb_media_id") or None,
            reply_timeout=_reply_timeout(values.get("reply_timeout")),
            client_limit=_limit("WECHAT_CLIENT_RATE_LIMIT", values, "client_rate_limit"),
            sender_limit=_limit("WECHAT_SENDER_RATE_LIMIT", values, "sender_rate_limit"),
        )


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _check_aes_key(key: str) -> None:
    # The console shows a 43-character key; base64 of it plus "=" must give 32 bytes.
    try:
        raw = base64.b64decode(key + "=", validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(key) != 43 or len(raw) != 32:
        raise WeChatConfigError(
            "WECHAT_ENCODING_AES_KEY must be the 43-character EncodingAESKey from the console"
        )


def _reply_timeout(raw: str | None) -> float:
    if not raw:
        return DEFAULT_REPLY_TIMEOUT
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 4.8:
        raise WeChatConfigError(f"WECHAT_REPLY_TIMEOUT must be between 0 and 4.8 s, got {raw!r}")
    return seconds


def _limit(name: str, values: Mapping[str, str], key: str) -> Limit:
    default = DEFAULT_CLIENT_LIMIT if key == "client_rate_limit" else DEFAULT_SENDER_LIMIT
    try:
        return Limit.parse(name, values.get(key), default)
    except ValueError as error:
        raise WeChatConfigError(str(error)) from None
