"""Where the assistant's processes listen and keep their data, read from the environment."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from security.dotenv import load_dotenv
from security.tokens import kept_secret

ROOT = Path(__file__).resolve().parent.parent
MODEL_NAME = "mall-assistant"
# Generated on first run when the environment does not set them (see shared_secret).
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


def _port(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ValueError(f"{name} must be a TCP port number, got {raw!r}")
    return int(raw)


@dataclass(frozen=True)
class StackSettings:
    """Ports, URLs and paths for one running assistant."""

    # The browser-facing processes (Rasa's channels, the desk) listen here ...
    host: str = "127.0.0.1"
    # ... the mall API and the action server here: nothing outside the machine by default.
    mall_host: str = "127.0.0.1"
    actions_host: str = "127.0.0.1"
    rasa_port: int = 5005
    actions_port: int = 5055
    mall_port: int = 5056
    desk_port: int = 5057
    analytics_port: int = 5058
    # Origins whose pages may call the web channel (empty: the demo shop's own).
    widget_allowed_origins: tuple[str, ...] = ()
    var_dir: Path = ROOT / "var"
    models_dir: Path = ROOT / "models"
    mall_database_url: str = ""
    tracker_db_url: str = ""
    rasa_api_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    # Seconds between the proactive-message scheduler's passes.
    outreach_interval: float = 30.0
    # Extra variables for every child (tests point channels at fake outside services).
    extra_env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> StackSettings:
        """Read the settings from the environment, with embedded defaults (SQLite, loopback)."""
        load_dotenv()
        var_dir = Path(os.environ.get("MALL_ASSISTANT_VAR", ROOT / "var")).resolve()
        models_dir = Path(os.environ.get("MALL_ASSISTANT_MODELS", ROOT / "models")).resolve()
        origins = os.environ.get("WIDGET_ALLOWED_ORIGINS", "").replace(",", " ").split()
        for origin in origins:
            if not origin.startswith(("http://", "https://")) or origin.count("/") != 2:
                raise ValueError(
                    f"WIDGET_ALLOWED_ORIGINS lists origins like https://shop.example.com, "
                    f"got {origin!r}"
                )
        return cls(
            host=os.environ.get("ASSISTANT_HOST", "127.0.0.1"),
            mall_host=os.environ.get("MALL_HOST", "127.0.0.1"),
            actions_host=os.environ.get("ACTIONS_HOST", "127.0.0.1"),
            rasa_port=_port("RASA_PORT", 5005),
            actions_port=_port("ACTIONS_PORT", 5055),
            mall_port=_port("MALL_PORT", 5056),
            desk_port=_port("DESK_PORT", 5057),
            analytics_port=_port("ANALYTICS_PORT", 5058),
            widget_allowed_origins=tuple(origins),
            var_dir=var_dir,
            models_dir=models_dir,
            mall_database_url=os.environ.get("MALL_DATABASE_URL", ""),
            tracker_db_url=os.environ.get("TRACKER_DB_URL", ""),
            rasa_api_token=os.environ.get("RASA_API_TOKEN") or secrets.token_urlsafe(24),
        )

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
        for name in SHARED_SECRETS:
            env[name] = env.get(name) or self.shared_secret(name)
        env.update(self.extra_env)
        return env

    def service_env(self, service: str, env: dict[str, str]) -> dict[str, str]:
        """`env` without the secrets `service` has no use for."""
        keep = SECRETS_OF.get(service, frozenset())
        return {name: value for name, value in env.items() if name not in SECRETS or name in keep}

    def shared_secret(self, name: str) -> str:
        """A random secret generated once and kept in var/secrets/<name>."""
        return kept_secret(self.var_dir / "secrets" / name)
