"""`make cluster`: the production shape on this machine, on its real PostgreSQL, Redis, RabbitMQ.

Two Rasa replicas and two action servers behind HAProxy (one address each: the channels'
port for clients, the action port for the replicas), sharing conversations through the
PostgreSQL tracker store, the Redis lock store and the RabbitMQ event broker
(deploy/endpoints.cluster.yml), plus the mall API (on PostgreSQL) and the desk. Everything runs
under the same supervisor as `make run`: killing any one process leaves the others serving.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, validator
from pydantic.fields import ModelField

from launcher.settings import ROOT, StackSettings
from launcher.stack import Service, Stack, StackError, build_services
from launcher.supervisor import PortInUse, Program, check_ports
from security.settings import ProcessSettings

HAPROXY_TEMPLATE = ROOT / "deploy" / "haproxy" / "haproxy.cfg"
CLUSTER_ENDPOINTS = "deploy/endpoints.cluster.yml"
REPLICAS = 2


class ClusterError(StackError):
    """A shared store or the load balancer is missing."""


class Backends(ProcessSettings):
    """Where the shared stores are (loopback defaults: trust auth, guest/guest)."""

    postgres_url: str = Field(
        default="postgresql://postgres@127.0.0.1:5432",
        env="CLUSTER_POSTGRES_URL",
        description="the PostgreSQL server `make cluster` uses",
    )
    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0",
        env="CLUSTER_REDIS_URL",
        description="the Redis `make cluster` uses (its db is the lock store's; the next two "
        "hold the read cache and the channels' duplicate checks)",
    )
    rabbitmq_url: str = Field(
        default="amqp://guest:guest@127.0.0.1:5672/",
        env="CLUSTER_RABBITMQ_URL",
        description="the RabbitMQ `make cluster` sends Rasa's events to",
    )
    # Rasa's fanout exchange and the queue bound to it (tests use names of their own).
    rabbitmq_queue: str = Field(default="rasa_events", env=set())
    rabbitmq_exchange: str = Field(default="rasa-exchange", env=set())
    database_prefix: str = Field(
        default="mall_assistant",
        env="CLUSTER_DB_PREFIX",
        description="`make cluster` creates and uses the databases `<prefix>_mall`, "
        "`<prefix>_rasa` and `<prefix>_analytics`",
    )
    # `<prefix>_mall`, `<prefix>_rasa` and `<prefix>_analytics` unless given.
    mall_database: str = Field(default="", env=set())
    tracker_database: str = Field(default="", env=set())
    analytics_database: str = Field(default="", env=set())

    class Config:
        error = ClusterError

    @validator("postgres_url")
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @validator("database_prefix")
    def _plain_name(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,40}", value):
            raise ValueError(f"CLUSTER_DB_PREFIX must be a plain database name, got {value!r}")
        return value

    @validator("mall_database", "tracker_database", "analytics_database", always=True)
    def _named_after_the_prefix(cls, value: str, values: dict[str, Any], field: ModelField) -> str:
        suffix = {"mall_database": "mall", "tracker_database": "rasa"}.get(field.name, "analytics")
        return value or f"{values.get('database_prefix', 'mall_assistant')}_{suffix}"

    def database_url(self, name: str) -> str:
        """The URL of database `name` on the PostgreSQL server."""
        return f"{self.postgres_url}/{name}"

    def describe(self) -> list[str]:
        """One line per store, without passwords."""
        pg, rd, mq = (
            urlsplit(self.postgres_url),
            urlsplit(self.redis_url),
            urlsplit(self.rabbitmq_url),
        )
        lock_db = rd.path.strip("/") or "0"
        return [
            f"PostgreSQL  {pg.hostname}:{pg.port or 5432}  (mall: {self.mall_database}, "
            f"trackers: {self.tracker_database}, analytics: {self.analytics_database})",
            f"Redis       {rd.hostname}:{rd.port or 6379}  (lock store, db {lock_db})",
            f"RabbitMQ    {mq.hostname}:{mq.port or 5672}  (event broker, queue "
            f"{self.rabbitmq_queue})",
        ]

    def endpoint_env(self) -> dict[str, str]:
        """The variables deploy/endpoints.cluster.yml and the read cache read."""
        rd, mq = urlsplit(self.redis_url), urlsplit(self.rabbitmq_url)
        # The read cache and the mall's change announcements: the next Redis database; the
        # channels' duplicate checks (a resend to the other replica) the one after.
        lock_db = int(rd.path.strip("/") or 0)
        cache_url = rd._replace(path=f"/{lock_db + 1}").geturl()
        channels_url = rd._replace(path=f"/{lock_db + 2}").geturl()
        return {
            "MALL_CACHE_REDIS_URL": cache_url,
            "MALL_CHANGES_REDIS_URL": cache_url,
            "WECHAT_REDIS_URL": channels_url,
            "WEB_REDIS_URL": channels_url,
            "REDIS_HOST": rd.hostname or "127.0.0.1",
            "REDIS_PORT": str(rd.port or 6379),
            "REDIS_LOCK_DB": rd.path.strip("/") or "0",
            "REDIS_PASSWORD": rd.password or "",
            "RABBITMQ_HOST": mq.hostname or "127.0.0.1",
            "RABBITMQ_PORT": str(mq.port or 5672),
            "RABBITMQ_USER": mq.username or "guest",
            "RABBITMQ_PASSWORD": mq.password or "guest",
            "RABBITMQ_QUEUE": self.rabbitmq_queue,
            "RABBITMQ_EXCHANGE": self.rabbitmq_exchange,
            # The analytics consumer reads the replicas' events from the same queue.
            "ANALYTICS_BROKER": "pika",
            "ANALYTICS_QUEUE": self.rabbitmq_queue,
            "ANALYTICS_DATABASE_URL": self.database_url(self.analytics_database),
        }


def check_backends(backends: Backends) -> None:
    """Connect to each store (creating the two databases when missing) or say what is missing."""
    problems = []
    try:
        _prepare_postgres(backends, create=False)
    except Exception as error:
        problems.append(f"PostgreSQL at {_where(backends.postgres_url)}: {_short(error)}")
    try:
        import redis  # type: ignore[import-untyped]

        redis.Redis.from_url(backends.redis_url, socket_connect_timeout=3).ping()
    except Exception as error:
        problems.append(f"Redis at {_where(backends.redis_url)}: {_short(error)}")
    try:
        asyncio.run(_rabbitmq_login(backends.rabbitmq_url))
    except Exception as error:
        problems.append(f"RabbitMQ at {_where(backends.rabbitmq_url)}: {_short(error)}")
    if shutil.which("haproxy") is None:
        problems.append("HAProxy is not installed: `make deploy-tools` installs Debian's package")
    if problems:
        raise ClusterError(
            "make cluster needs PostgreSQL, Redis, RabbitMQ and HAProxy on this machine:\n  "
            + "\n  ".join(problems)
            + "\n(CLUSTER_POSTGRES_URL, CLUSTER_REDIS_URL and CLUSTER_RABBITMQ_URL point elsewhere)"
        )
    _prepare_postgres(backends, create=True)  # only once everything is there


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


def _short(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"


def _prepare_postgres(backends: Backends, *, create: bool) -> None:
    import psycopg2

    connection = psycopg2.connect(backends.database_url("postgres"), connect_timeout=3)
    try:
        if not create:
            return
        connection.autocommit = True
        with connection.cursor() as cursor:
            for name in (
                backends.mall_database,
                backends.tracker_database,
                backends.analytics_database,
            ):
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
                if cursor.fetchone() is None:
                    cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        connection.close()


async def _rabbitmq_login(url: str) -> None:
    import aio_pika

    connection = await aio_pika.connect(url, timeout=3)
    await connection.close()


def drop_databases(backends: Backends) -> None:
    """Drop the cluster's databases (tests clean up with it)."""
    import psycopg2

    connection = psycopg2.connect(backends.database_url("postgres"), connect_timeout=3)
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            for name in (
                backends.mall_database,
                backends.tracker_database,
                backends.analytics_database,
            ):
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        connection.close()


@dataclass(frozen=True)
class ClusterPorts:
    """The load balancer's front ports are the usual ones; the replicas sit behind them."""

    rasa: tuple[int, ...]
    actions: tuple[int, ...]
    balancer_health: int

    @classmethod
    def around(cls, settings: StackSettings) -> ClusterPorts:
        """Replicas at the front port + 100, + 101 ...; the balancer's health at + 300."""
        return cls(
            rasa=tuple(settings.rasa_port + 100 + i for i in range(REPLICAS)),
            actions=tuple(settings.actions_port + 100 + i for i in range(REPLICAS)),
            balancer_health=settings.rasa_port + 300,
        )


def haproxy_config(settings: StackSettings, ports: ClusterPorts) -> str:
    """deploy/haproxy/haproxy.cfg with loopback addresses instead of container names."""
    text = HAPROXY_TEMPLATE.read_text()
    text = text.replace("bind :5005", f"bind {settings.host}:{settings.rasa_port}")
    text = text.replace("bind :5055", f"bind {settings.actions_host}:{settings.actions_port}")
    for kind, replica_ports in (("rasa", ports.rasa), ("actions", ports.actions)):
        for index, port in enumerate(replica_ports, start=1):
            text = re.sub(
                rf"server {kind}-{index} {kind}-{index}:\d+",
                f"server {kind}-{index} 127.0.0.1:{port}",
                text,
            )
    text = text.replace("log stdout format raw local0", "log stdout format raw local0 info")
    # The supervisor's health check of the balancer: healthy once it sees every replica up.
    return text + (
        "\n# make cluster: healthy when the balancer sees every replica up\n"
        f"frontend balancer_health\n    bind 127.0.0.1:{ports.balancer_health}\n"
        "    monitor-uri /health\n"
        f"    acl rasa_short nbsrv(rasa) lt {len(ports.rasa)}\n"
        f"    acl actions_short nbsrv(actions) lt {len(ports.actions)}\n"
        "    monitor fail if rasa_short || actions_short\n"
    )


def _retarget(command: list[str], option: str, value: str) -> list[str]:
    changed = list(command)
    changed[changed.index(option) + 1] = value
    return changed


def build_cluster_services(settings: StackSettings, ports: ClusterPorts) -> list[Service]:
    """mall, actions-1..n, rasa-1..n, the balancer, analytics, the desk, the scheduler: in start
    order."""
    [mall] = build_services(settings, ["mall"])
    services = [mall]
    for index, port in enumerate(ports.actions, start=1):
        [actions] = build_services(settings.replace(actions_port=port), ["actions"])
        actions.name = f"actions-{index}"
        services.append(actions)
    for index, port in enumerate(ports.rasa, start=1):
        [rasa] = build_services(settings.replace(rasa_port=port), ["rasa"])
        rasa.name = f"rasa-{index}"
        rasa.command = _retarget(rasa.command, "--endpoints", CLUSTER_ENDPOINTS)
        rasa.command = _retarget(
            rasa.command, "--log-file", str(settings.log_dir / f"rasa-{index}-events.log")
        )
        services.append(rasa)
    services.append(
        Service(
            name="balancer",
            command=["haproxy", "-db", "-f", str(settings.var_dir / "cluster" / "haproxy.cfg")],
            health_url=f"http://127.0.0.1:{ports.balancer_health}/health",
            port=settings.rasa_port,
            host=settings.host,
        )
    )
    # The analytics consumer on the RabbitMQ queue the replicas publish to.
    services += build_services(settings, ["analytics", "desk"])
    # One scheduler is enough (a second would be harmless: jobs are claimed once); it
    # triggers offers through the balancer.
    services += build_services(settings, ["scheduler"])
    return services


def cluster_settings(settings: StackSettings, backends: Backends) -> StackSettings:
    """`settings` on the shared stores: PostgreSQL databases, the endpoints' variables."""
    return settings.replace(
        mall_database_url=backends.database_url(backends.mall_database),
        tracker_db_url=backends.database_url(backends.tracker_database),
        extra_env={
            **settings.extra_env,
            **backends.endpoint_env(),
            # HAProxy forwards the client's address: rate limits count customers, not it.
            "SANIC_PROXIES_COUNT": "1",
        },
    )


class Cluster(Stack):
    """`make cluster`: replicas behind HAProxy on the shared stores, supervised like `make run`."""

    def __init__(self, settings: StackSettings, backends: Backends | None = None) -> None:
        self.backends = backends or Backends.from_env()
        self.ports = ClusterPorts.around(settings)
        super().__init__(cluster_settings(settings, self.backends), services=())
        self.services = build_cluster_services(self.settings, self.ports)
        self.supervisor.programs = list(self.services)

    def start(self, timeout: float = 360.0) -> None:
        """Check the stores, write the balancer's config, start and wait for every process."""
        check_backends(self.backends)
        # The balancer's other ports (the supervisor checks the one each program names).
        try:
            check_ports(
                [
                    Program("balancer", [], port=self.settings.actions_port),
                    Program("balancer", [], port=self.ports.balancer_health),
                ]
            )
        except PortInUse as error:
            raise ClusterError(str(error)) from None
        config = self.settings.var_dir / "cluster" / "haproxy.cfg"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(haproxy_config(self.settings, self.ports))
        super().start(timeout)

    def names(self, kind: str) -> Iterable[str]:
        """The replicas of one kind (`rasa` -> rasa-1, rasa-2)."""
        return [s.name for s in self.services if s.name.split("-", 1)[0] == kind]

    def replica_url(self, name: str) -> str:
        """A replica's own address, bypassing the balancer."""
        kind, index = name.split("-", 1)
        port = (self.ports.rasa if kind == "rasa" else self.ports.actions)[int(index) - 1]
        return f"http://127.0.0.1:{port}"


def cluster_banner_lines(cluster: Cluster) -> list[str]:
    """What the console says about the cluster's shape."""
    settings = cluster.settings
    rasa = ", ".join(f"{name} {cluster.replica_url(name)}" for name in cluster.names("rasa"))
    actions = ", ".join(f"{name} {cluster.replica_url(name)}" for name in cluster.names("actions"))
    return [
        f"  Load balancer (HAProxy): {settings.rasa_url} -> {rasa}",
        f"                           {settings.actions_url} -> {actions}",
    ]
