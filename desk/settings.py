"""The desk's settings, read once from the environment into one object."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, validator
from pydantic.fields import ModelField

from security.ratelimit import Limit
from security.settings import SECRET, ProcessSettings, flag, http_url, port_number, variable_of
from security.tokens import require_secret

DEFAULT_LOGIN_LIMIT = Limit(10, 60)


class SettingsError(ValueError):
    """An environment variable holds a value the desk cannot use."""


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class DeskSettings(ProcessSettings):
    """Where the desk listens, and how it reaches the mall API and the Rasa server."""

    host: str = Field(
        default="127.0.0.1",
        env="DESK_HOST",
        description="where the desk listens when started on its own (`python -m desk serve`; "
        "`make run` gives it `ASSISTANT_HOST`)",
    )
    port: int = Field(default=5057, env="DESK_PORT", description="the desk's port")
    mall_api_url: str = Field(default="http://127.0.0.1:5056", env="MALL_API_URL")
    mall_api_token: str = Field(default="", env="MALL_API_TOKEN", repr=False, secret=SECRET)
    # Internal address of the Rasa server: transcripts (HTTP API) and the handoff bridge.
    rasa_url: str = Field(
        default="http://127.0.0.1:5005",
        env="RASA_URL",
        description="where the desk and the scheduler reach Rasa's HTTP API and the bridge "
        "(`make run` sets it)",
    )
    rasa_api_token: str = Field(default="", env="RASA_API_TOKEN", repr=False, secret=SECRET)
    handoff_token: str = Field(default="", env="HANDOFF_TOKEN", repr=False, secret=SECRET)
    # Signs demo-customer cookies and asks the web channel for signed-in customers' tokens.
    web_channel_secret: str = Field(default="", env="WEB_CHANNEL_SECRET", repr=False, secret=SECRET)
    # Where browsers load the chat widget (None: the shop says chat is off).
    widget_script_url: str | None = Field(
        default="",
        env="WIDGET_SCRIPT_URL",
        shown="`$RASA_URL/webhooks/web/widget.js`",
        description="where browsers load the widget from, when they reach Rasa at another "
        "address",
    )
    shop_demo_sign_in: bool = Field(
        default=False,
        env="SHOP_DEMO_SIGN_IN",
        description="`1` lets the demo shop browse as a seeded customer (demo only)",
    )
    secure_cookies: bool = Field(
        default=False,
        env="CONSOLE_SECURE_COOKIES",
        description="console cookies for HTTPS only; set `true` behind HTTPS",
    )
    login_limit: Limit = Field(
        default=DEFAULT_LOGIN_LIMIT,
        env="CONSOLE_LOGIN_RATE_LIMIT",
        shown="`10/60`",
        description="login attempts per client address (count/seconds; `0` off)",
    )
    max_body_bytes: int = Field(default=64 * 1024, env=set())
    # The shop page's and the widget's behaviour events go to the mall with these keys.
    shop_event_key: str = Field(default="", env="SHOP_EVENT_KEY", repr=False, secret=SECRET)
    widget_event_key: str = Field(default="", env="WIDGET_EVENT_KEY", repr=False, secret=SECRET)
    # The dashboard's figures: the analytics process's read API and its token.
    analytics_api_url: str = Field(
        default="http://127.0.0.1:5058",
        env="ANALYTICS_API_URL",
        description="where the desk reaches the analytics read API",
    )
    analytics_api_token: str = Field(
        default="", env="ANALYTICS_API_TOKEN", repr=False, secret=SECRET
    )
    supervisors: frozenset[str] = Field(
        default=frozenset(),
        env="CONSOLE_SUPERVISORS",
        shown="unset: nobody (`make run`: `demo`)",
        description="console agents (usernames, comma-separated) who may open the dashboard",
    )

    class Config:
        error = SettingsError

    @validator("port", pre=True)
    def _port(cls, value: Any, field: ModelField) -> int:
        return port_number(value, field)

    @validator("supervisors", pre=True)
    def _names(cls, value: Any) -> frozenset[str]:
        if isinstance(value, str):
            return frozenset(name.strip() for name in value.split(",") if name.strip())
        return frozenset(value or ())

    @validator("mall_api_url", "rasa_url", "analytics_api_url", pre=True)
    def _url(cls, value: Any, field: ModelField) -> str:
        return http_url(value, field)

    @validator("widget_script_url", always=True)
    def _widget(cls, value: str | None, values: dict[str, Any]) -> str | None:
        if value == "":
            rasa_url = values.get("rasa_url", cls.__fields__["rasa_url"].default)
            return f"{rasa_url}/webhooks/web/widget.js"
        return value

    @validator("shop_demo_sign_in", "secure_cookies", pre=True)
    def _flag(cls, value: Any, field: ModelField) -> bool:
        return flag(value, field)

    @validator("login_limit", pre=True)
    def _limit(cls, value: Any, field: ModelField) -> Any:
        if isinstance(value, str):
            return Limit.parse(variable_of(field), value, DEFAULT_LOGIN_LIMIT)
        return value

    def check(self) -> None:
        """Refuse to serve without the credentials the desk needs (SecretError names them)."""
        require_secret("MALL_API_TOKEN", self.mall_api_token)
        require_secret("RASA_API_TOKEN", self.rasa_api_token)
        require_secret("HANDOFF_TOKEN", self.handoff_token)

    @property
    def widget_origin(self) -> str | None:
        """The origin the widget's script, styles and calls come from."""
        return origin_of(self.widget_script_url) if self.widget_script_url else None
