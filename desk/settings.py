"""The desk's settings, read once from the environment into one object."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from security.ratelimit import Limit
from security.tokens import require_secret

DEFAULT_LOGIN_LIMIT = Limit(10, 60)


class SettingsError(ValueError):
    """An environment variable holds a value the desk cannot use."""


def _flag(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() in ("1", "true", "yes")


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise SettingsError(f"{name} must be a TCP port number, got {raw!r}")
    return int(raw)


def _url(env: Mapping[str, str], name: str, default: str) -> str:
    url = (env.get(name, "").strip() or default).rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise SettingsError(f"{name} must be an http(s) URL, got {url!r}")
    return url


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True)
class DeskSettings:
    """Where the desk listens, and how it reaches the mall API and the Rasa server."""

    host: str = "127.0.0.1"
    port: int = 5057
    mall_api_url: str = "http://127.0.0.1:5056"
    mall_api_token: str = field(default="", repr=False)
    # Internal address of the Rasa server: transcripts (HTTP API) and the handoff bridge.
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_api_token: str = field(default="", repr=False)
    handoff_token: str = field(default="", repr=False)
    # Signs demo-customer cookies and asks the web channel for signed-in customers' tokens.
    web_channel_secret: str = field(default="", repr=False)
    # Where browsers load the chat widget (None: the shop says chat is off).
    widget_script_url: str | None = "http://127.0.0.1:5005/webhooks/web/widget.js"
    shop_demo_sign_in: bool = False
    secure_cookies: bool = False
    login_limit: Limit = DEFAULT_LOGIN_LIMIT
    max_body_bytes: int = 64 * 1024
    # The shop page's and the widget's behaviour events go to the mall with these keys.
    shop_event_key: str = field(default="", repr=False)
    widget_event_key: str = field(default="", repr=False)
    # The dashboard's figures: the analytics process's read API and its token.
    analytics_api_url: str = "http://127.0.0.1:5058"
    analytics_api_token: str = field(default="", repr=False)
    # Console agents (usernames) who may open the KPI dashboard.
    supervisors: frozenset[str] = frozenset()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DeskSettings:
        """Read DESK_*, MALL_API_*, RASA_*, HANDOFF_TOKEN, WIDGET_*, CONSOLE_* and
        ANALYTICS_API_* variables."""
        env = os.environ if environ is None else environ
        rasa_url = _url(env, "RASA_URL", cls.rasa_url)
        widget = env.get("WIDGET_SCRIPT_URL", "").strip() or f"{rasa_url}/webhooks/web/widget.js"
        try:
            login_limit = Limit.parse(
                "CONSOLE_LOGIN_RATE_LIMIT", env.get("CONSOLE_LOGIN_RATE_LIMIT"), DEFAULT_LOGIN_LIMIT
            )
        except ValueError as error:
            raise SettingsError(str(error)) from None
        return cls(
            host=env.get("DESK_HOST", "").strip() or cls.host,
            port=_port(env, "DESK_PORT", cls.port),
            mall_api_url=_url(env, "MALL_API_URL", cls.mall_api_url),
            mall_api_token=env.get("MALL_API_TOKEN", "").strip(),
            rasa_url=rasa_url,
            rasa_api_token=env.get("RASA_API_TOKEN", "").strip(),
            handoff_token=env.get("HANDOFF_TOKEN", "").strip(),
            web_channel_secret=env.get("WEB_CHANNEL_SECRET", "").strip(),
            widget_script_url=widget,
            shop_demo_sign_in=_flag(env, "SHOP_DEMO_SIGN_IN"),
            secure_cookies=_flag(env, "CONSOLE_SECURE_COOKIES"),
            login_limit=login_limit,
            shop_event_key=env.get("SHOP_EVENT_KEY", "").strip(),
            widget_event_key=env.get("WIDGET_EVENT_KEY", "").strip(),
            analytics_api_url=_url(env, "ANALYTICS_API_URL", cls.analytics_api_url),
            analytics_api_token=env.get("ANALYTICS_API_TOKEN", "").strip(),
            supervisors=frozenset(
                name.strip()
                for name in env.get("CONSOLE_SUPERVISORS", "").split(",")
                if name.strip()
            ),
        )

    def check(self) -> None:
        """Refuse to serve without the credentials the desk needs (SecretError names them)."""
        require_secret("MALL_API_TOKEN", self.mall_api_token)
        require_secret("RASA_API_TOKEN", self.rasa_api_token)
        require_secret("HANDOFF_TOKEN", self.handoff_token)

    @property
    def widget_origin(self) -> str | None:
        """The origin the widget's script, styles and calls come from."""
        return origin_of(self.widget_script_url) if self.widget_script_url else None
