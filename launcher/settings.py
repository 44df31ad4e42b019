"""Where the assistant's processes listen and keep their data, read from the environment."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from pydantic import Field, validator
from pydantic.fields import ModelField

from security.settings import REQUIRED_SECRET, SECRET, ProcessSettings, port_number
from security.tokens import DEVELOPMENT, kept_secret

ROOT = Path(__file__).resolve().parent.parent
MODEL_NAME = "mall-assistant"
# Generated on first run in development when the environment does not set them (see
# shared_secret); production must set the required ones and generates none.
SHARED_SECRETS = (
    "MALL_API_TOKEN",
    "WEB_CHANNEL_SECRET",
    "HANDOFF_TOKEN",
    "CONSOLE_DEMO_PASSWORD",
    "SHOP_EVENT_KEY",
    "WIDGET_EVENT_KEY",
    "ANALYTICS_API_TOKEN",
)
# Every secret a process may be handed, and which process needs which: each child gets only
# its own (a leaked environment of the mall API, say, holds no channel secrets).
SECRETS = (
    "MALL_API_TOKEN",
    "RASA_API_TOKEN",
    "HANDOFF_TOKEN",
    "WEB_CHANNEL_SECRET",
    "REST_CHANNEL_TOKEN",
    "CONSOLE_DEMO_PASSWORD",
    "CONSOLE_AGENT_PASSWORD",
    "WECHAT_TOKEN",
    "WECHAT_APP_SECRET",
    "WECHAT_ENCODING_AES_KEY",
    "SHOP_EVENT_KEY",
    "WIDGET_EVENT_KEY",
    "WECHAT_EVENT_KEY",
    "ANALYTICS_API_TOKEN",
)
SECRETS_OF = {
    "mall": frozenset({"MALL_API_TOKEN", "SHOP_EVENT_KEY", "WIDGET_EVENT_KEY", "WECHAT_EVENT_KEY"}),
    "actions": frozenset({"MALL_API_TOKEN"}),
    # Triggers proactive messages through Rasa's HTTP API; reads the mall's database.
    "scheduler": frozenset({"RASA_API_TOKEN"}),
    # The channels' safety net records handoffs in the mall when the action server fails.
    "rasa": frozenset(
        {
            "MALL_API_TOKEN",
            "RASA_API_TOKEN",
            "HANDOFF_TOKEN",
            "WEB_CHANNEL_SECRET",
            "REST_CHANNEL_TOKEN",
            "WECHAT_TOKEN",
            "WECHAT_APP_SECRET",
            "WECHAT_ENCODING_AES_KEY",
            "WECHAT_EVENT_KEY",
        }
    ),
    # The shop page's and the widget's behaviour events reach the mall through the desk.
    "desk": frozenset(
        {
            "MALL_API_TOKEN",
            "RASA_API_TOKEN",
            "HANDOFF_TOKEN",
            "WEB_CHANNEL_SECRET",
            "SHOP_EVENT_KEY",
            "WIDGET_EVENT_KEY",
            # The dashboard reads the analytics process's API (no database credentials).
            "ANALYTICS_API_TOKEN",
        }
    ),
    "analytics": frozenset({"ANALYTICS_API_TOKEN"}),
}


def _reachable(host: str) -> str:
    """The address to call a process at that listens on `host` (all interfaces: loopback)."""
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host


class StackSettings(ProcessSettings):
    """Ports, URLs and paths for one running assistant."""

    # The browser-facing processes (Rasa's channels, the desk) listen here ...
    host: str = Field(
        default="127.0.0.1",
        env="ASSISTANT_HOST",
        description="where the browser-facing processes listen: Rasa (channels) and the desk",
    )
    # ... the mall API and the action server here: nothing outside the machine by default.
    mall_host: str = Field(default="127.0.0.1", env="MALL_HOST")
    actions_host: str = Field(
        default="127.0.0.1",
        env="ACTIONS_HOST",
        description="where the action server listens (keep it private)",
    )
    rasa_port: int = Field(default=5005, env="RASA_PORT", description="Rasa's port")
    actions_port: int = Field(
        default=5055, env="ACTIONS_PORT", description="the action server's port"
    )
    mall_port: int = Field(default=5056, env="MALL_PORT")
    desk_port: int = Field(default=5057, env="DESK_PORT")
    analytics_port: int = Field(default=5058, env="ANALYTICS_PORT")
    # Origins whose pages may call the web channel (empty: the demo shop's own).
    widget_allowed_origins: tuple[str, ...] = Field(
        default=(),
        env="WIDGET_ALLOWED_ORIGINS",
        shown="the shop's own origin",
        description="origins (comma-separated) whose pages may call the web channel (CORS)",
    )
    var_dir: Path = Field(
        default=ROOT / "var",
        env="MALL_ASSISTANT_VAR",
        description="where databases, secrets and logs live",
    )
    models_dir: Path = Field(
        default=ROOT / "models",
        env="MALL_ASSISTANT_MODELS",
        description="where the trained model goes",
    )
    mall_database_url: str = Field(default="", env="MALL_DATABASE_URL")
    tracker_db_url: str = Field(
        default="",
        env="TRACKER_DB_URL",
        shown="`sqlite:///var/trackers.db`",
        description="Rasa's tracker store, read by `endpoints.production.yml` (`endpoints.yml` "
        "has it written in) and by the mall's `kpis` and `erase-customer` commands",
    )
    rasa_api_token: str = Field(
        default_factory=lambda: secrets.token_urlsafe(24),
        env="RASA_API_TOKEN",
        repr=False,
        secret=SECRET,
        shown="random per run",
        description="token for Rasa's HTTP API (`/status`, `/conversations/...`)",
    )
    # The secrets the processes share: generated once under var/secrets/ in development when
    # unset; in production the three the processes need must be set.
    mall_api_token: str = Field(
        default="", env="MALL_API_TOKEN", repr=False, secret=REQUIRED_SECRET
    )
    web_channel_secret: str = Field(
        default="",
        env="WEB_CHANNEL_SECRET",
        repr=False,
        secret=REQUIRED_SECRET,
        shown="generated once (`var/secrets/`)",
        description="web-widget token signing key; the shop's server proves itself with it",
    )
    handoff_token: str = Field(
        default="",
        env="HANDOFF_TOKEN",
        repr=False,
        secret=REQUIRED_SECRET,
        shown="generated once (`var/secrets/`)",
        description="desk → Rasa bridge token",
    )
    console_demo_password: str = Field(
        default="",
        env="CONSOLE_DEMO_PASSWORD",
        repr=False,
        secret=SECRET,
        shown="generated once (`var/secrets/`); production: unset, no demo agent",
        description="password of the demo agent `demo`",
    )
    shop_event_key: str = Field(default="", env="SHOP_EVENT_KEY", repr=False, secret=SECRET)
    widget_event_key: str = Field(default="", env="WIDGET_EVENT_KEY", repr=False, secret=SECRET)
    # Seconds between the proactive-message scheduler's passes.
    outreach_interval: float = Field(default=30.0, env=set())
    # Extra variables for every child (tests point channels at fake outside services).
    extra_env: dict[str, str] = Field(default_factory=dict, env=set())

    @validator("rasa_port", "actions_port", "mall_port", "desk_port", "analytics_port", pre=True)
    def _port(cls, value: Any, field: ModelField) -> int:
        return port_number(value, field)

    @validator("widget_allowed_origins", pre=True)
    def _origins(cls, value: Any) -> tuple[str, ...]:
        origins = value.replace(",", " ").split() if isinstance(value, str) else list(value)
        for origin in origins:
            if not origin.startswith(("http://", "https://")) or origin.count("/") != 2:
                raise ValueError(
                    f"WIDGET_ALLOWED_ORIGINS lists origins like https://shop.example.com, "
                    f"got {origin!r}"
                )
        return tuple(origins)

    @validator("var_dir", "models_dir")
    def _absolute(cls, value: Path) -> Path:
        return value.resolve()

    @property
    def log_dir(self) -> Path:
        """Where each process writes its log."""
        return self.var_dir / "log"

    @property
    def model_path(self) -> Path:
        """The trained model `make run` serves."""
        return self.models_dir / f"{MODEL_NAME}.tar.gz"

    @property
    def mall_url(self) -> str:
        """Base URL of the mall API."""
        return f"http://{_reachable(self.mall_host)}:{self.mall_port}"

    @property
    def actions_url(self) -> str:
        """Base URL of the action server."""
        return f"http://{_reachable(self.actions_host)}:{self.actions_port}"

    @property
    def desk_url(self) -> str:
        """Base URL of the desk (demo shop and agent console)."""
        return f"http://{_reachable(self.host)}:{self.desk_port}"

    @property
    def analytics_url(self) -> str:
        """Base URL of the analytics process (consumer and the dashboard's read API)."""
        return f"http://127.0.0.1:{self.analytics_port}"

    @property
    def cors_origins(self) -> list[str]:
        """The origins Rasa lets call the web channel: configured, else the shop's own."""
        if self.widget_allowed_origins:
            return list(self.widget_allowed_origins)
        origins = [self.desk_url]
        if _reachable(self.host) == "127.0.0.1":
            # The same page opened as localhost is another origin to the browser.
            origins.append(f"http://localhost:{self.desk_port}")
        return origins

    @property
    def rasa_url(self) -> str:
        """Base URL of the Rasa server."""
        return f"http://{_reachable(self.host)}:{self.rasa_port}"

    def child_env(self) -> dict[str, str]:
        """The environment every child process gets (endpoints.yml reads these)."""
        env = dict(os.environ)
        env.update(
            MALL_API_URL=self.mall_url,
            MALL_HOST=self.mall_host,
            MALL_PORT=str(self.mall_port),
            DESK_HOST=self.host,
            DESK_PORT=str(self.desk_port),
            MALL_DATABASE_URL=self.mall_database_url or f"sqlite:///{self.var_dir / 'mall.db'}",
            ACTION_ENDPOINT_URL=f"{self.actions_url}/webhook",
            TRACKER_DB_URL=self.tracker_db_url or f"sqlite:///{self.var_dir / 'trackers.db'}",
            RASA_API_TOKEN=self.rasa_api_token,
            RASA_URL=self.rasa_url,
            # Rasa's SQL event broker (endpoints.production.yml) and its consumer.
            EVENT_BROKER_DIALECT="sqlite",
            EVENT_BROKER_DB=str(self.var_dir / "events.db"),
            EVENT_BROKER_DB_URL=f"sqlite:///{self.var_dir / 'events.db'}",
            ANALYTICS_DATABASE_URL=env.get("ANALYTICS_DATABASE_URL")
            or f"sqlite:///{self.var_dir / 'analytics.db'}",
            ANALYTICS_HOST="127.0.0.1",
            ANALYTICS_PORT=str(self.analytics_port),
            ANALYTICS_API_URL=self.analytics_url,
            # The demo agent may open the dashboard; name real supervisors in production.
            CONSOLE_SUPERVISORS=env.get("CONSOLE_SUPERVISORS") or "demo",
            # No usage reports or crash uploads leave the machine.
            RASA_TELEMETRY_ENABLED="false",
            # Keep TensorFlow quiet and single-process friendly on small machines.
            TF_CPP_MIN_LOG_LEVEL=env.get("TF_CPP_MIN_LOG_LEVEL", "2"),
            PYTHONUNBUFFERED="1",
        )
        # Secrets shared between processes: kept under var/ so that web-widget tokens and the
        # console's link to Rasa survive a restart; the environment wins when it sets them.
        # In production nothing is invented: the settings refused missing required ones.
        for name in SHARED_SECRETS:
            given = getattr(self, name.lower(), "") or env.get(name, "")
            if given:
                env[name] = given
            elif self.environment == DEVELOPMENT:
                env[name] = self.shared_secret(name)
        env.update(self.extra_env)
        return env

    def service_env(self, service: str, env: dict[str, str]) -> dict[str, str]:
        """`env` without the secrets `service` has no use for."""
        keep = SECRETS_OF.get(service, frozenset())
        return {name: value for name, value in env.items() if name not in SECRETS or name in keep}

    def shared_secret(self, name: str) -> str:
        """A random secret generated once and kept in var/secrets/<name>."""
        return kept_secret(self.var_dir / "secrets" / name)


class EndpointSettings(ProcessSettings):
    """What `endpoints.production.yml` reads: Rasa substitutes these itself (`${...}`), the
    launcher fills them for its children (`child_env`); listed here so they are documented
    with the rest (a test compares them with the file)."""

    action_endpoint_url: str = Field(
        default="",
        env="ACTION_ENDPOINT_URL",
        shown="`http://127.0.0.1:5055/webhook`",
        description="where Rasa calls the action server, read by `endpoints.production.yml` "
        "(`endpoints.yml` has it written in)",
    )
    tracker_db_url: str = Field(default="", env="TRACKER_DB_URL")
    event_broker_dialect: str = Field(
        default="sqlite",
        env="EVENT_BROKER_DIALECT",
        description="the SQL event broker's dialect in `endpoints.production.yml` (`make run`: "
        "`sqlite`; `postgresql` needs url, port, username and password added there)",
    )
    event_broker_db: str = Field(
        default="",
        env="EVENT_BROKER_DB",
        shown="`var/events.db`",
        description="the SQL event broker's database in `endpoints.production.yml` (the file "
        "`EVENT_BROKER_DB_URL` names for the consumer)",
    )
