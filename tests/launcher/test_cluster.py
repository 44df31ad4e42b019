"""The cluster's shape as data: replicas, balancer config, stores, clear refusals."""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from launcher.cluster import (
    Backends,
    ClusterError,
    ClusterPorts,
    build_cluster_services,
    check_backends,
    cluster_settings,
    haproxy_config,
)
from launcher.settings import StackSettings


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_two_of_each_behind_the_balancer_on_the_shared_stores(tmp_path: Path) -> None:
    settings = cluster_settings(StackSettings(var_dir=tmp_path), Backends())
    ports = ClusterPorts.around(settings)
    services = {service.name: service for service in build_cluster_services(settings, ports)}
    assert list(services) == [
        "mall", "actions-1", "actions-2", "rasa-1", "rasa-2", "balancer", "analytics", "desk",
        "scheduler",
    ]  # fmt: skip
    for name, port in (("rasa-1", 5105), ("rasa-2", 5106)):
        command = services[name].command
        assert command[command.index("--port") + 1] == str(port)
        assert command[command.index("--endpoints") + 1] == "deploy/endpoints.cluster.yml"
    assert services["actions-2"].port == 5156 and services["balancer"].port == 5005
    env = settings.child_env()
    # The replicas call the action servers and the desk calls Rasa through the balancer.
    assert env["ACTION_ENDPOINT_URL"] == "http://127.0.0.1:5055/webhook"
    assert env["RASA_URL"] == "http://127.0.0.1:5005"
    assert env["TRACKER_DB_URL"] == "postgresql://postgres@127.0.0.1:5432/mall_assistant_rasa"
    assert env["MALL_DATABASE_URL"].endswith("/mall_assistant_mall")
    assert env["REDIS_HOST"] == "127.0.0.1" and env["RABBITMQ_USER"] == "guest"
    # The analytics consumer reads the replicas' RabbitMQ queue into its own database.
    assert env["ANALYTICS_BROKER"] == "pika"
    assert env["ANALYTICS_DATABASE_URL"].endswith("/mall_assistant_analytics")
    # The read cache sits beside the lock store, and the mall announces changes there.
    assert (
        env["MALL_CACHE_REDIS_URL"] == env["MALL_CHANGES_REDIS_URL"] == "redis://127.0.0.1:6379/1"
    )
    # A resend to the other replica is recognised: both channels check in Redis.
    assert env["WECHAT_REDIS_URL"] == env["WEB_REDIS_URL"] == "redis://127.0.0.1:6379/2"
    assert (env["RABBITMQ_QUEUE"], env["RABBITMQ_EXCHANGE"]) == ("rasa_events", "rasa-exchange")


def test_the_balancer_config_points_at_the_replicas_on_loopback(tmp_path: Path) -> None:
    settings = StackSettings(var_dir=tmp_path)
    config = haproxy_config(settings, ClusterPorts.around(settings))
    assert "bind 127.0.0.1:5005" in config and "bind 127.0.0.1:5055" in config
    for line in ("server rasa-1 127.0.0.1:5105", "server rasa-2 127.0.0.1:5106"):
        assert line in config
    assert "server actions-2 127.0.0.1:5156" in config
    assert "rasa-1:5005" not in config
    if shutil.which("haproxy"):
        (tmp_path / "haproxy.cfg").write_text(config)
        check = subprocess.run(
            ["haproxy", "-c", "-f", str(tmp_path / "haproxy.cfg")], capture_output=True, text=True
        )
        assert check.returncode == 0, check.stdout + check.stderr


def test_a_missing_store_is_named_with_where_it_was_looked_for() -> None:
    port = closed_port()
    backends = Backends(
        postgres_url=f"postgresql://postgres@127.0.0.1:{port}",
        redis_url=f"redis://127.0.0.1:{port}/0",
        rabbitmq_url=f"amqp://guest:guest@127.0.0.1:{port}/",
    )
    with pytest.raises(ClusterError) as missing:
        check_backends(backends)
    message = str(missing.value)
    for store in ("PostgreSQL", "Redis", "RabbitMQ"):
        assert f"{store} at 127.0.0.1:{port}" in message


def test_database_names_from_the_environment_must_be_plain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLUSTER_DB_PREFIX", "shop_a")
    assert Backends.from_env().tracker_database == "shop_a_rasa"
    monkeypatch.setenv("CLUSTER_DB_PREFIX", 'x"; DROP DATABASE postgres; --')
    with pytest.raises(ClusterError, match="CLUSTER_DB_PREFIX"):
        Backends.from_env()
    monkeypatch.delenv("CLUSTER_DB_PREFIX")
    assert "guest" not in " ".join(Backends.from_env().describe())  # no password shown
