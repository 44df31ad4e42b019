"""The analytics process's settings, read once from the environment into one object."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from pydantic import Field, validator
from pydantic.fields import ModelField

from security.settings import SECRET, ProcessSettings, port_number, whole_number
from security.tokens import require_secret

REPO_ROOT = Path(__file__).resolve().parent.parent
BROKERS = ("sql", "pika", "kafka")
KAFKA_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
KAFKA_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "GSSAPI", "OAUTHBEARER")


class SettingsError(ValueError):
    """A variable holds a value the analytics process cannot use."""


class KafkaSettings(ProcessSettings):
    """Rasa's Kafka event broker as the consumer reads it (same topic, its own group)."""

    bootstrap_servers: str = Field(
        default="",
        env="KAFKA_BOOTSTRAP_SERVERS",
        shown="unset",
        description="Rasa's Kafka broker as the consumer reads it (`ANALYTICS_BROKER=kafka`): "
        "`host:port,...`",
    )
    topic: str = Field(
        default="rasa_events", env="KAFKA_TOPIC", description="the topic Rasa publishes to"
    )
    group_id: str = Field(
        default="mall-assistant-analytics",
        env="KAFKA_GROUP_ID",
        description="the consumer group (offsets committed after each batch)",
    )
    security_protocol: str = Field(
        default="PLAINTEXT",
        env="KAFKA_SECURITY_PROTOCOL",
        description="Kafka's security protocol: " + ", ".join(KAFKA_PROTOCOLS),
    )
    sasl_mechanism: str = Field(
        default="PLAIN",
        env="KAFKA_SASL_MECHANISM",
        description="the SASL mechanism; PLAIN and SCRAM need the user name and password",
    )
    sasl_username: str = Field(
        default="", env="KAFKA_SASL_USERNAME", shown="unset", description="the SASL user name"
    )
    sasl_password: str = Field(
        default="",
        env="KAFKA_SASL_PASSWORD",
        repr=False,
        secret=SECRET,
        shown="unset",
        description="the SASL password",
    )
    ssl_cafile: str = Field(
        default="",
        env="KAFKA_SSL_CAFILE",
        shown="unset",
        description="a CA file for Kafka's TLS",
    )

    class Config:
        error = SettingsError

    @classmethod
    def from_env(cls, environ: Any = None, **given: Any) -> KafkaSettings:
        """KAFKA_* variables; refuses what confluent-kafka would only reject at connect time."""
        settings = super().from_env(environ, **given)
        settings.check()
        return settings

    def check(self) -> None:
        """Every problem with these settings, named (SettingsError)."""
        if not self.bootstrap_servers:
            raise SettingsError(
                "ANALYTICS_BROKER=kafka needs KAFKA_BOOTSTRAP_SERVERS (host:port,...)"
            )
        for server in self.bootstrap_servers.split(","):
            host, _, port = server.strip().rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise SettingsError(
                    f"KAFKA_BOOTSTRAP_SERVERS lists host:port pairs, got {server.strip()!r}"
                )
        if self.security_protocol not in KAFKA_PROTOCOLS:
            raise SettingsError(
                f"KAFKA_SECURITY_PROTOCOL must be one of {', '.join(KAFKA_PROTOCOLS)}, "
                f"got {self.security_protocol!r}"
            )
        if self.security_protocol.startswith("SASL"):
            if self.sasl_mechanism not in KAFKA_MECHANISMS:
                raise SettingsError(
                    f"KAFKA_SASL_MECHANISM must be one of {', '.join(KAFKA_MECHANISMS)}, "
                    f"got {self.sasl_mechanism!r}"
                )
            if self.sasl_mechanism in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512") and not (
                self.sasl_username and self.sasl_password
            ):
                raise SettingsError(
                    f"KAFKA_SECURITY_PROTOCOL={self.security_protocol} with "
                    f"{self.sasl_mechanism} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
                )

    def consumer_config(self) -> dict[str, str | bool]:
        """The confluent-kafka consumer configuration (offsets committed after each batch)."""
        config: dict[str, str | bool] = {
            "bootstrap.servers": self.bootstrap_servers,
            "group.id": self.group_id,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "security.protocol": self.security_protocol,
        }
        if self.security_protocol.startswith("SASL"):
            config["sasl.mechanism"] = self.sasl_mechanism
            if self.sasl_username:
                config["sasl.username"] = self.sasl_username
                config["sasl.password"] = self.sasl_password
        if self.ssl_cafile:
            config["ssl.ca.location"] = self.ssl_cafile
        return config


class AnalyticsSettings(ProcessSettings):
    """Where the facts go, which broker they come from, and the read API's credential."""

    var_dir: Path = Field(default=REPO_ROOT / "var", env="MALL_ASSISTANT_VAR")
    database_url: str = Field(
        default="",
        env="ANALYTICS_DATABASE_URL",
        shown="`sqlite:///var/analytics.db`",
        description="the analytics facts store (`postgresql://...` in production; "
        "`make cluster`: `<prefix>_analytics`)",
    )
    broker: str = Field(
        default="sql",
        env="ANALYTICS_BROKER",
        description="which event broker the consumer reads: `sql` (Rasa's SQL broker), "
        "`pika` (RabbitMQ), `kafka`",
    )
    # Rasa's SQL event broker's database (its `events` table).
    event_broker_db_url: str = Field(
        default="",
        env="EVENT_BROKER_DB_URL",
        shown="`sqlite:///var/events.db`",
        description="the SQL broker's database, as the consumer reads it",
    )
    rabbitmq_host: str = Field(
        default="127.0.0.1",
        env="RABBITMQ_HOST",
        description="RabbitMQ for Rasa's pika broker (`deploy/endpoints.cluster.yml`) and the "
        "consumer (`make cluster` sets these from `CLUSTER_RABBITMQ_URL`)",
    )
    rabbitmq_port: int = Field(default=5672, env="RABBITMQ_PORT", description="RabbitMQ's port")
    rabbitmq_user: str = Field(
        default="guest", env="RABBITMQ_USER", description="RabbitMQ's user name"
    )
    rabbitmq_password: str = Field(
        default="guest",
        env="RABBITMQ_PASSWORD",
        repr=False,
        secret=SECRET,
        description="RabbitMQ's password",
    )
    queue: str = Field(
        default="rasa_events",
        env="ANALYTICS_QUEUE",
        description="the durable queue the consumer reads (bound to Rasa's exchange; "
        "`make cluster`: its `RABBITMQ_QUEUE`)",
    )
    # Rasa's tracker store: what no broker delivered is read back from it.
    tracker_db_url: str = Field(default="", env="TRACKER_DB_URL")
    recover_every: int = Field(
        default=300,
        env="ANALYTICS_RECOVER_SECONDS",
        description="how often the consumer reads back from the tracker store what no broker "
        "delivered (events older than this; `0` off)",
    )
    mall_database_url: str = Field(default="", env="MALL_DATABASE_URL")
    host: str = Field(
        default="127.0.0.1",
        env="ANALYTICS_HOST",
        description="where the analytics process serves `/health`, `/metrics` and the read API",
    )
    port: int = Field(
        default=5058, env="ANALYTICS_PORT", description="the analytics process's port"
    )
    api_token: str = Field(
        default="",
        env="ANALYTICS_API_TOKEN",
        repr=False,
        secret=SECRET,
        shown="generated once (`var/secrets/`)",
        description="the read API's bearer token (the analytics process and the desk hold it)",
    )
    poll_seconds: float = Field(default=1.0, env=set())
    kafka: KafkaSettings | None = Field(default=None, env=set())

    class Config:
        error = SettingsError

    @validator("var_dir")
    def _absolute(cls, value: Path) -> Path:
        return Path(value).resolve()

    @validator("broker", pre=True)
    def _known_broker(cls, value: Any) -> str:
        broker = str(value).strip().lower() or "sql"
        if broker not in BROKERS:
            raise ValueError(
                f"ANALYTICS_BROKER must be one of {', '.join(BROKERS)}, got {broker!r}"
            )
        return broker

    @validator("database_url", always=True)
    def _facts_default(cls, value: str, values: dict[str, Any]) -> str:
        return value or f"sqlite:///{values.get('var_dir', REPO_ROOT / 'var') / 'analytics.db'}"

    @validator("event_broker_db_url", always=True)
    def _events_default(cls, value: str, values: dict[str, Any]) -> str:
        return value or f"sqlite:///{values.get('var_dir', REPO_ROOT / 'var') / 'events.db'}"

    @validator("tracker_db_url", always=True)
    def _trackers_default(cls, value: str, values: dict[str, Any]) -> str:
        return value or f"sqlite:///{values.get('var_dir', REPO_ROOT / 'var') / 'trackers.db'}"

    @validator("mall_database_url", always=True)
    def _mall_default(cls, value: str, values: dict[str, Any]) -> str:
        return value or f"sqlite:///{values.get('var_dir', REPO_ROOT / 'var') / 'mall.db'}"

    @validator("rabbitmq_port", "port", pre=True)
    def _port(cls, value: Any, field: ModelField) -> int:
        return port_number(value, field)

    @validator("recover_every", pre=True)
    def _seconds(cls, value: Any, field: ModelField) -> int:
        return whole_number(value, field, low=0)

    @classmethod
    def from_env(cls, environ: Any = None, **given: Any) -> AnalyticsSettings:
        """ANALYTICS_*, EVENT_BROKER_DB_URL, RABBITMQ_*, KAFKA_*, TRACKER_DB_URL; the Kafka
        part is read (and checked) only when it is the broker."""
        settings = super().from_env(environ, **given)
        if settings.broker == "kafka" and settings.kafka is None:
            settings = settings.replace(kafka=KafkaSettings.from_env(environ))
        return settings

    @property
    def rabbitmq_url(self) -> str:
        """The AMQP URL of RABBITMQ_* (user and password quoted)."""
        user = quote(self.rabbitmq_user or "guest", safe="")
        password = quote(self.rabbitmq_password or "guest", safe="")
        return f"amqp://{user}:{password}@{self.rabbitmq_host}:{self.rabbitmq_port}/"

    def check(self) -> None:
        """Refuse to serve the read API without its credential (SecretError)."""
        require_secret("ANALYTICS_API_TOKEN", self.api_token)
