"""`make cluster` on this machine's PostgreSQL, Redis and RabbitMQ, and the chaos drills.

Skipped when a store or HAProxy is missing (`make deploy-tools` installs HAProxy).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from launcher.cluster import Backends, Cluster, ClusterError, check_backends, drop_databases
from launcher.settings import ROOT
from tests.integration.conftest import stack_settings
from tests.integration.test_supervision import WebCustomer

pytestmark = pytest.mark.integration


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_base() -> int:
    """A port p with p, p+100, p+101 and p+300 free, for each front port."""
    for _ in range(200):
        # Below Linux's ephemeral range (32768+), where outgoing connections take ports.
        base = 20000 + int.from_bytes(os.urandom(2), "big") % 12000
        if all(_free(base + offset) for offset in (0, 100, 101, 300)):
            return base
    raise RuntimeError("no free ports")


@pytest.fixture(scope="module")
def cluster(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    backends = Backends(
        mall_database=f"mall_assistant_test_{uuid.uuid4().hex[:8]}_mall",
        tracker_database=f"mall_assistant_test_{uuid.uuid4().hex[:8]}_rasa",
        analytics_database=f"mall_assistant_test_{uuid.uuid4().hex[:8]}_analytics",
    )
    try:
        check_backends(backends)
    except ClusterError as missing:
        pytest.skip(str(missing))
    base = stack_settings(tmp_path_factory.mktemp("cluster"))
    ports = [free_base() for _ in range(2)]
    settings = base.replace(
        rasa_port=ports[0],
        actions_port=ports[1],
        extra_env={**base.extra_env, "WEB_CLIENT_RATE_LIMIT": "0"},
    )
    running = Cluster(settings, backends)
    try:
        running.start(timeout=420)
        yield running
    finally:
        running.stop()
        drop_databases(backends)


def conversation(cluster: Cluster, sender: str) -> list[dict[str, Any]]:
    answer = requests.get(
        f"{cluster.settings.rasa_url}/conversations/{sender}/tracker",
        params={"token": cluster.settings.rasa_api_token},
        timeout=10,
    )
    answer.raise_for_status()
    return list(answer.json()["events"])


def restart(cluster: Cluster, name: str) -> None:
    """Let the supervisor bring `name` back, and wait until the balancer sends it traffic."""
    deadline = time.monotonic() + 240
    back = False
    balancer = next(s for s in cluster.services if s.name == "balancer")
    while time.monotonic() < deadline:
        events = cluster.supervise()
        back = back or any(event == f"{name} is serving again" for event in events)
        # The balancer re-admits a replica after two good checks (2 s apart).
        if back and balancer.is_healthy():
            return
        time.sleep(0.5)
    raise AssertionError(f"{name} did not come back")


def test_two_rasa_replicas_answer_behind_one_address_on_the_shared_stores(cluster: Cluster) -> None:
    assert list(cluster.names("rasa")) == ["rasa-1", "rasa-2"]
    assert list(cluster.names("actions")) == ["actions-1", "actions-2"]
    for name in ("rasa-1", "rasa-2"):
        status = requests.get(
            f"{cluster.replica_url(name)}/status",
            params={"token": cluster.settings.rasa_api_token},
            timeout=10,
        )
        assert status.status_code == 200 and status.json()["model_file"]
    # Two customers at once, through the balancer: both answered from the mall's PostgreSQL.
    for customer_id in ("wx-o7Xh2-vip", "web-new-001"):
        assert "¥" in WebCustomer(cluster.settings, customer_id).say_text("蓝牙耳机多少钱")
    metrics = requests.get(f"{cluster.replica_url('rasa-1')}/webhooks/metrics/", timeout=10)
    assert metrics.status_code == 200 and "assistant_turn_seconds" in metrics.text
    # The edge refuses the replicas' metrics.
    edge = requests.get(f"{cluster.settings.rasa_url}/webhooks/metrics/", timeout=10)
    assert edge.status_code == 404
    # Rasa's HTTP API takes its token in the query: the balancer's log must not keep it.
    conversation(cluster, "wx-o7Xh2-vip")
    # HAProxy writes its log line after the answer: give it a moment to land.
    balancer_log = cluster.settings.log_dir / "balancer.log"
    deadline = time.monotonic() + 10
    log = balancer_log.read_text()
    while "/conversations/wx-o7Xh2-vip/tracker" not in log and time.monotonic() < deadline:
        time.sleep(0.2)
        log = balancer_log.read_text()
    assert "/conversations/wx-o7Xh2-vip/tracker" in log
    assert cluster.settings.rasa_api_token not in log


def test_the_replicas_events_reach_the_analytics_store_through_rabbitmq(cluster: Cluster) -> None:
    import sqlalchemy as sa

    customer = f"web-mq-{uuid.uuid4().hex[:8]}"
    assert "¥" in WebCustomer(cluster.settings, customer).say_text("蓝牙耳机多少钱")
    engine = sa.create_engine(cluster.backends.database_url(cluster.backends.analytics_database))
    deadline = time.monotonic() + 30
    row = None
    try:
        while row is None and time.monotonic() < deadline:
            with engine.connect() as connection:
                if sa.inspect(connection).has_table("analytics_conversations"):
                    row = connection.execute(
                        sa.text("SELECT * FROM analytics_conversations WHERE sender_id = :s"),
                        {"s": customer},
                    ).first()
            time.sleep(0.5)
    finally:
        engine.dispose()
    assert row is not None, "the replicas' events never reached the analytics store"
    assert row.channel == "web" and row.stage in ("price", "offer")
    metrics = requests.get(f"{cluster.settings.analytics_url}/metrics", timeout=10).text
    assert 'analytics_events_consumed_total{source="pika"}' in metrics


def test_kill_9_of_a_rasa_replica_mid_conversation_the_other_carries_on(cluster: Cluster) -> None:
    customer = WebCustomer(cluster.settings, "wx-o7Xh2-vip")
    first = customer.say_text("蓝牙耳机多少钱")
    assert "¥" in first
    victim = cluster.supervisor.program("rasa-1")
    assert victim.pid is not None
    os.kill(victim.pid, signal.SIGKILL)
    # The next message lands on the survivor, which knows the conversation (product in play).
    reply = customer.say_text("有优惠吗")
    assert "券" in reply, reply
    assert "耳机" in customer.say_text("多少钱")
    events = conversation(cluster, customer.sender)
    texts = [event["text"] for event in events if event["event"] == "user"]
    assert texts[-3:] == ["蓝牙耳机多少钱", "有优惠吗", "多少钱"]  # nothing lost, nothing twice
    restart(cluster, "rasa-1")


def test_kill_9_of_an_action_server_the_other_answers(cluster: Cluster) -> None:
    customer = WebCustomer(cluster.settings, "web-price-001")
    assert "¥" in customer.say_text("蓝牙耳机多少钱")
    for name in ("actions-1", "actions-2"):
        program = cluster.supervisor.program(name)
        assert program.pid is not None
        os.kill(program.pid, signal.SIGKILL)
        # Whichever the balancer picks, the customer is answered normally.
        for _ in range(3):
            assert "¥" in customer.say_text("智能手表多少钱")
        restart(cluster, name)


def test_make_cluster_names_a_missing_store_and_starts_nothing(
    trained_model: Path, tmp_path: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    settings = stack_settings(tmp_path)
    env = settings.child_env()
    env.update(
        MALL_ASSISTANT_VAR=str(tmp_path),
        RASA_PORT=str(free_base()),
        ACTIONS_PORT=str(free_base()),
        CLUSTER_RABBITMQ_URL=f"amqp://guest:guest@127.0.0.1:{closed}/",
        CLUSTER_DB_PREFIX=f"mall_assistant_test_{uuid.uuid4().hex[:8]}",
    )
    result = subprocess.run(
        [sys.executable, "-m", "launcher", "cluster"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "make cluster uses this machine's own stores:" in result.stdout
    assert f"RabbitMQ    127.0.0.1:{closed}" in result.stdout
    assert f"RabbitMQ at 127.0.0.1:{closed}" in result.stderr
    assert "Mall Assistant is running" not in result.stdout
    assert not (tmp_path / "log" / "rasa-1.log").exists()  # nothing was started
    prefix = env["CLUSTER_DB_PREFIX"]
    drop_databases(
        Backends(
            mall_database=f"{prefix}_mall",
            tracker_database=f"{prefix}_rasa",
            analytics_database=f"{prefix}_analytics",
        )
    )
