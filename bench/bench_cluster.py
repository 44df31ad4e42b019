"""Load on `make cluster` beside one process of each, then a soak with memory sampled.

    python bench/bench_cluster.py [--users 50] [--duration 60] [--soak 600] [--rate 4]

Load: `users` customers at once, each running sales conversations over REST without pause,
first against one process of each kind (`make run`'s shape, SQLite), then against the
cluster (2 Rasa replicas + 2 action servers behind HAProxy, PostgreSQL, Redis, RabbitMQ), in
the same run. Soak: the cluster at a steady `rate` turns per second for `soak` seconds, the
resident memory of every process sampled every 30 s. Figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from launcher.cluster import Backends, Cluster, ClusterError, check_backends  # noqa: E402
from launcher.settings import StackSettings  # noqa: E402
from launcher.stack import Stack  # noqa: E402
from launcher.train import train  # noqa: E402
from tests.integration.conftest import free_port  # noqa: E402
from tests.integration.test_cluster import free_base  # noqa: E402

REST_TOKEN = secrets.token_urlsafe(24)
SALES_FLOW = ["你好", "声悦Pro降噪蓝牙耳机多少钱", "要优惠", "好的", "包邮吗", "谢谢"]
# Nobody is throttled by the bench itself: it measures the assistant, not the rate limits.
NO_LIMITS = {"WEB_CLIENT_RATE_LIMIT": "0", "WEB_MESSAGE_RATE_LIMIT": "0"}


@dataclass
class Load:
    """Turn latencies and failures of one load run."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def row(self, name: str, users: int) -> str:
        """One line of the printed table."""
        turns = len(self.latencies)
        return (
            f"| {name} | {users} | {turns / self.seconds:.1f} | {_pct(self.latencies, 50):.0f} | "
            f"{_pct(self.latencies, 95):.0f} | {_pct(self.latencies, 99):.0f} | "
            f"{self.errors} of {turns + self.errors} |"
        )


def _pct(values: list[float], percentile: int) -> float:
    if len(values) < 2:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[percentile - 1] * 1000


def _turn(session: requests.Session, url: str, sender: str, text: str, load: Load) -> None:
    started = time.perf_counter()
    try:
        answer = session.post(url, json={"sender": sender, "message": text}, timeout=30)
        ok = answer.status_code == 200 and bool(answer.json())
    except (requests.RequestException, ValueError):
        ok = False
    elapsed = time.perf_counter() - started
    with load.lock:
        if ok:
            load.latencies.append(elapsed)
        else:
            load.errors += 1


def run_load(url: str, users: int, duration: float) -> Load:
    """`users` customers in conversation without pause for `duration` seconds."""
    load = Load()
    stop_at = time.monotonic() + duration

    def customer() -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {REST_TOKEN}"
        while time.monotonic() < stop_at:
            sender = f"bench-{uuid.uuid4().hex[:12]}"
            for text in SALES_FLOW:
                if time.monotonic() >= stop_at:
                    break
                _turn(session, url, sender, text, load)

    threads = [threading.Thread(target=customer) for _ in range(users)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    load.seconds = time.monotonic() - started
    return load


def rss_mb(stack: Stack) -> dict[str, float]:
    """Resident memory of each supervised process (MB)."""
    sizes = {}
    for service in stack.services:
        if service.pid is None:
            continue
        try:
            status = Path(f"/proc/{service.pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                sizes[service.name] = int(line.split()[1]) / 1024
    return sizes


def soak(stack: Stack, url: str, rate: float, seconds: float, every: float = 30.0) -> Load:
    """A steady `rate` turns/s for `seconds`, memory printed every `every` seconds."""
    load = Load()
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {REST_TOKEN}"
    started = time.monotonic()
    next_sample = started
    turn = 0
    samples: list[float] = []
    print(
        f"\nSoak: {rate:g} turns/s for {seconds:.0f} s on the cluster; memory every {every:.0f} s"
    )
    print("| t (s) | all processes (MB) | Rasa replicas (MB) | turns so far |")
    print("| --- | --- | --- | --- |")
    while True:
        now = time.monotonic()
        if now >= next_sample:
            sizes = rss_mb(stack)
            total = sum(sizes.values())
            rasa = sum(size for name, size in sizes.items() if name.startswith("rasa"))
            samples.append(total)
            print(
                f"| {now - started:.0f} | {total:.0f} | {rasa:.0f} | {len(load.latencies)} |",
                flush=True,
            )
            next_sample += every
        if now - started >= seconds:
            break
        sender = f"soak-{turn // len(SALES_FLOW)}"
        _turn(session, url, sender, SALES_FLOW[turn % len(SALES_FLOW)], load)
        turn += 1
        pause = started + turn / rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    load.seconds = time.monotonic() - started
    baseline = samples[1] if len(samples) > 2 else samples[0]
    spread = max(abs(sample - baseline) for sample in samples[1:] or samples) / baseline
    print(
        f"Soak: {len(load.latencies)} turns, {load.errors} errors, p50 "
        f"{_pct(load.latencies, 50):.0f} ms, p95 {_pct(load.latencies, 95):.0f} ms; memory "
        f"{samples[0]:.0f} -> {samples[-1]:.0f} MB, at most {spread:.1%} from the first sample "
        f"after warm-up ({'flat within 10 %' if spread <= 0.10 else 'NOT flat within 10 %'})"
    )
    return load


def main() -> int:
    """Load on one process and on the cluster, then the soak; print everything."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load per setup")
    parser.add_argument("--soak", type=float, default=600.0, help="seconds of soak (0: none)")
    parser.add_argument("--rate", type=float, default=4.0, help="soak turns per second")
    args = parser.parse_args()
    workdir = ROOT / "var" / "bench-cluster"
    base = StackSettings.from_env().replace(
        var_dir=workdir / "single",
        extra_env={"REST_CHANNEL_TOKEN": REST_TOKEN, **NO_LIMITS},
    )
    train(base)
    rows = []
    single = Stack(
        base.replace(
            rasa_port=free_port(),
            actions_port=free_port(),
            mall_port=free_port(),
            desk_port=free_port(),
            analytics_port=free_port(),
        )
    )
    single.start(timeout=300)
    try:
        url = f"{single.settings.rasa_url}/webhooks/rest/webhook"
        run_load(url, 2, 5)  # warm-up
        rows.append(run_load(url, args.users, args.duration).row("one process of each", args.users))
        print(f"measured: {rows[-1]}", flush=True)
    finally:
        single.stop()
    prefix = f"mall_assistant_bench_{uuid.uuid4().hex[:6]}"
    backends = Backends(mall_database=f"{prefix}_mall", tracker_database=f"{prefix}_rasa")
    try:
        check_backends(backends)
    except ClusterError as missing:
        print(
            "\n".join(
                [
                    "| setup | users | turns/s | p50 ms | p95 ms | p99 ms | errors |",
                    "| --- | --- | --- | --- | --- | --- | --- |",
                    *rows,
                ]
            )
        )
        print(f"\nCluster skipped: {missing}")
        return 0
    cluster = Cluster(
        base.replace(
            var_dir=workdir / "cluster",
            rasa_port=free_base(),
            actions_port=free_base(),
            mall_port=free_port(),
            desk_port=free_port(),
            analytics_port=free_port(),
        ),
        backends,
    )
    cluster.start(timeout=420)
    try:
        url = f"{cluster.settings.rasa_url}/webhooks/rest/webhook"
        run_load(url, 2, 5)
        cluster_load = run_load(url, args.users, args.duration)
        rows.append(cluster_load.row("cluster: 2 Rasa + 2 actions behind HAProxy", args.users))
        print(
            f"\nLoad: {args.users} concurrent customers for {args.duration:.0f} s each, "
            f"{os.cpu_count()} cores, sales conversations of {len(SALES_FLOW)} turns over REST"
        )
        print("| setup | users | turns/s | p50 ms | p95 ms | p99 ms | errors |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        print("\n".join(rows), flush=True)
        if args.soak > 0:
            soak(cluster, url, args.rate, args.soak)
    finally:
        cluster.stop()
        from launcher.cluster import drop_databases

        drop_databases(backends)
    return 0


if __name__ == "__main__":
    sys.exit(main())
