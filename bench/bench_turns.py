"""Per-turn latency and throughput of the sales flow over REST, beside a stock `rasa init` bot.

Both assistants run on this machine in the same run, so the figures compare like with like:
    python bench/bench_turns.py [--conversations 30] [--users 4] [--duration 20]
                                [--long-turns 200]
The mall assistant's turns include the action server and the mall service (profile look-up,
product resolution, coupon choice and issue); the stock bot only answers with responses.
`--long-turns N` adds one conversation of N turns (the flow over and over) and compares its
first ten turns with its last ten: what a turn costs as the conversation grows.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from launcher.settings import StackSettings  # noqa: E402
from launcher.stack import Service, Stack  # noqa: E402
from launcher.train import train  # noqa: E402
from tests.integration.conftest import free_port  # noqa: E402

# The REST channel is on only with a token; the stock bot ignores the header.
REST_TOKEN = secrets.token_urlsafe(24)
SALES_FLOW = ["你好", "声悦Pro降噪蓝牙耳机多少钱", "要优惠", "好的", "谢谢"]
STOCK_FLOW = ["hello", "I am sad", "yes", "are you a bot?", "bye"]


@dataclass
class Result:
    """Latencies (seconds) of single-user turns and of turns under concurrent load."""

    single: list[float]
    loaded: list[float]
    load_seconds: float
    rss_mb: float
    long: list[float] = field(default_factory=list)

    def row(self) -> list[str]:
        """The figures printed for this assistant."""
        return [
            f"{_pct(self.single, 50) * 1000:.0f}",
            f"{_pct(self.single, 95) * 1000:.0f}",
            f"{len(self.loaded) / self.load_seconds:.1f}",
            f"{_pct(self.loaded, 50) * 1000:.0f}",
            f"{_pct(self.loaded, 95) * 1000:.0f}",
            f"{self.rss_mb:.0f}",
        ]

    def long_row(self) -> list[str]:
        """Median of the long conversation's first and last ten turns, and their ratio."""
        first = statistics.median(self.long[:10])
        last = statistics.median(self.long[-10:])
        return [
            f"{first * 1000:.0f}",
            f"{last * 1000:.0f}",
            f"{last / first:.2f}x",
        ]


def _pct(values: list[float], percentile: int) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[percentile - 1]


def _conversation(url: str, flow: list[str], sender: str) -> list[float]:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {REST_TOKEN}"
    timings = []
    for text in flow:
        started = time.perf_counter()
        answer = session.post(url, json={"sender": sender, "message": text}, timeout=30)
        timings.append(time.perf_counter() - started)
        answer.raise_for_status()
        if not answer.json():
            raise RuntimeError(f"no reply to {text!r}")
    return timings


def measure(
    url: str, flow: list[str], args: argparse.Namespace, rss: Callable[[], float]
) -> Result:
    """Single-user turns, then `users` concurrent users for `duration` seconds."""
    _conversation(url, flow, f"bench-warmup-{uuid.uuid4().hex[:8]}")
    single: list[float] = []
    for _ in range(args.conversations):
        single += _conversation(url, flow, f"bench-{uuid.uuid4().hex[:12]}")
    loaded: list[float] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + args.duration

    def user() -> None:
        while time.monotonic() < stop_at:
            timings = _conversation(url, flow, f"bench-{uuid.uuid4().hex[:12]}")
            with lock:
                loaded.extend(timings)

    started = time.monotonic()
    threads = [threading.Thread(target=user) for _ in range(args.users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result = Result(single, loaded, time.monotonic() - started, rss())
    if args.long_turns:
        turns = (flow * (args.long_turns // len(flow) + 1))[: args.long_turns]
        result.long = _conversation(url, turns, f"bench-long-{uuid.uuid4().hex[:12]}")
    return result


def _rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except FileNotFoundError:
            continue
    return total / 1024


def bench_mall_assistant(args: argparse.Namespace, workdir: Path) -> Result:
    """Run the whole assistant (SQLite tracker store, mall service, action server)."""
    settings = StackSettings.from_env().replace(
        rasa_port=free_port(),
        actions_port=free_port(),
        mall_port=free_port(),
        desk_port=free_port(),
        analytics_port=free_port(),
        var_dir=workdir / "mall-assistant",
        extra_env={"REST_CHANNEL_TOKEN": REST_TOKEN},
    )
    train(settings)
    stack = Stack(settings)
    stack.start(timeout=240)
    try:
        url = f"{settings.rasa_url}/webhooks/rest/webhook"
        pids = [s.process.pid for s in stack.services if s.process is not None]
        return measure(url, SALES_FLOW, args, lambda: _rss_mb(pids))
    finally:
        stack.stop()


def bench_stock_bot(args: argparse.Namespace, workdir: Path) -> Result:
    """Create and train a stock `rasa init` bot in a temporary folder and serve it."""
    folder = workdir / "stock-bot"
    folder.mkdir()
    rasa = str(Path(sys.executable).parent / "rasa")
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
    print("Training a stock `rasa init` bot (log in the temp folder) ...", flush=True)
    with open(workdir / "stock-init.log", "wb") as log:
        subprocess.run(
            [rasa, "init", "--no-prompt", "--init-dir", str(folder)],
            cwd=folder,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=True,
        )
    port = free_port()
    service = Service(
        name="stock",
        command=[
            rasa,
            "run",
            "--port",
            str(port),
            "--interface",
            "127.0.0.1",
            "--enable-api",
            "--model",
            str(folder / "models"),
        ],
        health_url=f"http://127.0.0.1:{port}/status",
    )
    log = open(workdir / "stock-run.log", "wb")  # noqa: SIM115
    service.process = subprocess.Popen(
        service.command,
        cwd=folder,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while not service.is_healthy():
            if service.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"stock bot did not start; see {workdir / 'stock-run.log'}")
            time.sleep(0.5)
        url = f"http://127.0.0.1:{port}/webhooks/rest/webhook"
        return measure(url, STOCK_FLOW, args, lambda: _rss_mb([service.process.pid]))
    finally:
        service.process.terminate()
        service.process.wait(timeout=30)
        log.close()


def main() -> None:
    """Run both benchmarks and print them side by side."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=30, help="single-user conversations")
    parser.add_argument("--users", type=int, default=4, help="concurrent users for throughput")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of concurrent load")
    parser.add_argument("--skip-stock", action="store_true", help="only the mall assistant")
    parser.add_argument(
        "--long-turns",
        type=int,
        default=0,
        help="also one conversation this long (at least 20 turns): first vs last ten turns",
    )
    args = parser.parse_args()
    if args.long_turns and args.long_turns < 20:
        parser.error("--long-turns needs at least 20 turns")
    with tempfile.TemporaryDirectory(prefix="mall-bench-") as tmp:
        workdir = Path(tmp)
        results = {"mall assistant (sales flow)": bench_mall_assistant(args, workdir)}
        if not args.skip_stock:
            results["stock rasa init bot"] = bench_stock_bot(args, workdir)
    header = [
        "",
        "1 user p50 ms",
        "1 user p95 ms",
        f"{args.users} users turns/s",
        f"{args.users} users p50 ms",
        f"{args.users} users p95 ms",
        "RSS MB",
    ]
    _print_table(header, [[name, *result.row()] for name, result in results.items()])
    turns = len(SALES_FLOW) * args.conversations
    print(
        f"\n{turns} single-user turns each, then {args.users} users for {args.duration:.0f} s; "
        "RSS = resident memory of all the assistant's processes after the run."
    )
    if args.long_turns:
        n = args.long_turns
        _print_table(
            ["", "turns 1-10 p50 ms", f"turns {n - 9}-{n} p50 ms", "last / first"],
            [[name, *result.long_row()] for name, result in results.items()],
        )
        print(f"\nOne conversation of {n} turns per assistant (its flow repeated).")


def _print_table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    print()
    for row in [header, *rows]:
        print("  ".join(str(cell).rjust(width) for cell, width in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
