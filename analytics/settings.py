"""The analytics process's settings, read once from the environment into one object."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from security.tokens import require_secret

REPO_ROOT = Path(__file__).resolve().parent.parent
BROKERS = ("sql", "pika", "kafka")
KAFKA_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
KAFKA_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "GSSAPI", "OAUTHBEARER")


class SettingsError(ValueError):
    """A variable holds a value the analytics process cannot use."""


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise SettingsError(f"{name} must be a TCP port number, got {raw!r}")
    return int(raw)


def _non_negative_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise SettingsError(f"{name} must be a whole number of seconds, got {raw!r}")
    return int(raw)


@dataclass(frozen=True)
class KafkaSettings:
    """Rasa's Kafka event broker as the consumer reads it (same topic, its own group)."""

    bootstrap_servers: str = ""
    topic: str = "rasa_events"
    group_id: str = "mall-assistant-analytics"
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str = "PLAIN"
    sasl_username: str = ""
    sasl_password: str = field(default="", repr=False)
    ssl_cafile: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> KafkaSettings:
        """KAFKA_* variables; refuses what confluent-kafka would only reject at connect time."""
        settings = cls(
            bootstrap_servers=env.get("KAFKA_BOOTSTRAP_SERVERS", "").strip(),
            topic=env.get("KAFKA_TOPIC", "").strip() or cls.topic,
            group_id=env.get("KAFKA_GROUP_ID", "").strip() or cls.group_id,
            security_protocol=(env.get("KAFKA_SECURITY_PROTOCOL", "").strip() or "PLAINTEXT"),
            sasl_mechanism=env.get("KAFKA_SASL_MECHANISM", "").strip() or cls.sasl_mechanism,
            sasl_username=env.get("KAFKA_SASL_USERNAME", "").strip(),
            sasl_password=env.get("KAFKA_SASL_PASSWORD", "").strip(),
            ssl_cafile=env.get("KAFKA_SSL_CAFILE", "").strip(),
        )
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


@dataclass(frozen=True)
class AnalyticsSettings:
    """Where the facts go, which broker they come from, and the read API's credential."""

    database_url: str = ""
    broker: str = "sql"
    # Rasa's SQL event broker's database (its `events` table).
    event_broker_db_url: str = ""
    rabbitmq_url: str = field(default="amqp://guest:guest@127.0.0.1:5672/", repr=False)
    queue: str = "rasa_events"
    kafka: KafkaSettings | None = None
    # Rasa's tracker store: what no broker delivered is read back from it.
    tracker_db_url: str = ""
    recover_every: int = 300
    mall_database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 5058
    api_token: str = field(default="", repr=False)
    poll_seconds: float = 1.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AnalyticsSettings:
        """Read ANALYTICS_*, EVENT_BROKER_DB_URL, RABBITMQ_*, KAFKA_*, TRACKER_DB_URL."""
        env = os.environ if environ is None else environ
        var = Path(env.get("MALL_ASSISTANT_VAR", "").strip() or REPO_ROOT / "var")
        broker = env.get("ANALYTICS_BROKER", "").strip().lower() or "sql"
        if broker not in BROKERS:
            raise SettingsError(
                f"ANALYTICS_BROKER must be one of {', '.join(BROKERS)}, got {broker!r}"
            )
        user = quote(env.get("RABBITMQ_USER", "").strip() or "guest", safe="")
        password = quote(env.get("RABBITMQ_PASSWORD", "").strip() or "guest", safe="")
        host = env.get("RABBITMQ_HOST", "").strip() or "127.0.0.1"
        rabbit_port = _port(env, "RABBITMQ_PORT", 5672)
        return cls(
            database_url=env.get("ANALYTICS_DATABASE_URL", "").strip()
            or f"sqlite:///{var / 'analytics.db'}",
            broker=broker,
            event_broker_db_url=env.get("EVENT_BROKER_DB_URL", "").strip()
            or f"sqlite:///{var / 'events.db'}",
            rabbitmq_url=f"amqp://{user}:{password}@{host}:{rabbit_port}/",
            queue=env.get("ANALYTICS_QUEUE", "").strip() or cls.queue,
            kafka=KafkaSettings.from_env(env) if broker == "kafka" else None,
            tracker_db_url=env.get("TRACKER_DB_URL", "").strip()
            or f"sqlite:///{var / 'trackers.db'}",
            recover_every=_non_negative_int(env, "ANALYTICS_RECOVER_SECONDS", cls.recover_every),
            mall_database_url=env.get("MALL_DATABASE_URL", "").strip()
            or f"sqlite:///{var / 'mall.db'}",
            host=env.get("ANALYTICS_HOST", "").strip() or cls.host,
            port=_port(env, "ANALYTICS_PORT", cls.port),
            api_token=env.get("ANALYTICS_API_TOKEN", "").strip(),
        )

    def check(self) -> None:
        """Refuse to serve the read API without its credential (SecretError)."""
        require_secret("ANALYTICS_API_TOKEN", self.api_token)
