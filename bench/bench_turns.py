"""Per-turn latency and throughput of the sales flow over REST, beside a stock `rasa init` bot.

Both assistants run on this machine in the same run, so the figures compare like with like:
    python bench/bench_turns.py [--conversations 30] [--users 4,10] [--duration 20]
                                [--long-turns 200] [--catalogue 50000]
The mall assistant's turns include the action server and the mall service (profile look-up,
product resolution, coupon choice and issue); the stock bot only answers with responses.
Each `--users` level runs that many customers at once for `--duration` seconds. The last
table divides the mall assistant's figures by the stock bot's.
`--long-turns N` adds one conversation of N turns (the flow over and over) and compares its
first ten turns with its last ten: what a turn costs as the conversation grows.
`--catalogue N` times the price turn end to end on the demo catalogue and on a second
assistant whose mall has been grown with generated products (bench/bench_catalogue.py's) to
N products, one turn on each in turn.
"""

from __future__ import annotations

import argparse
import os
import random
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
PRICE_TURN = ["声悦Pro降噪蓝牙耳机多少钱"]
DEMO_PRODUCTS = 43
STOCK_FLOW = ["hello", "I am sad", "yes", "are you a bot?", "bye"]


@dataclass
class Result:
    """Latencies (seconds) of single-user turns and of turns under concurrent load."""

    single: list[float]
    # users -> (latencies, seconds of load)
    loaded: dict[int, tuple[list[float], float]]
    rss_mb: float
    long: list[float] = field(default_factory=list)
    # products in the catalogue -> price-turn latencies
    price_turns: dict[int, list[float]] = field(default_factory=dict)

    def figures(self) -> list[float]:
        """p50, p95 of one user; turns/s, p50, p95 per load level; RSS (ms, turns/s, MB)."""
        values = [_pct(self.single, 50) * 1000, _pct(self.single, 95) * 1000]
        for latencies, seconds in self.loaded.values():
            values += [
                len(latencies) / seconds,
                _pct(latencies, 50) * 1000,
                _pct(latencies, 95) * 1000,
            ]
        return [*values, self.rss_mb]

    def row(self) -> list[str]:
        """The figures printed for this assistant."""
        return [f"{value:.1f}" if value < 100 else f"{value:.0f}" for value in self.figures()]

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


def _load(url: str, flow: list[str], users: int, duration: float) -> tuple[list[float], float]:
    """`users` customers running the flow without pause for `duration` seconds."""
    loaded: list[float] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + duration

    def user() -> None:
        while time.monotonic() < stop_at:
            timings = _conversation(url, flow, f"bench-{uuid.uuid4().hex[:12]}")
            with lock:
                loaded.extend(timings)

    started = time.monotonic()
    threads = [threading.Thread(target=user) for _ in range(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return loaded, time.monotonic() - started


def measure(
    url: str, flow: list[str], args: argparse.Namespace, rss: Callable[[], float]
) -> Result:
    """Single-user turns, then each level of concurrent users for `duration` seconds."""
    _conversation(url, flow, f"bench-warmup-{uuid.uuid4().hex[:8]}")
    single: list[float] = []
    for _ in range(args.conversations):
        single += _conversation(url, flow, f"bench-{uuid.uuid4().hex[:12]}")
    loaded = {users: _load(url, flow, users, args.duration) for users in args.users}
    result = Result(single, loaded, rss())
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


def bench_settings(var_dir: Path) -> StackSettings:
    """The whole assistant on free ports with its own var folder, the REST channel's token set."""
    return StackSettings.from_env().replace(
        rasa_port=free_port(),
        actions_port=free_port(),
        mall_port=free_port(),
        desk_port=free_port(),
        analytics_port=free_port(),
        var_dir=var_dir,
        extra_env={"REST_CHANNEL_TOKEN": REST_TOKEN},
    )


def bench_mall_assistant(args: argparse.Namespace, workdir: Path) -> Result:
    """Run the whole assistant (SQLite tracker store, mall service, action server)."""
    settings = bench_settings(workdir / "mall-assistant")
    train(settings)
    stack = Stack(settings)
    stack.start(timeout=240)
    try:
        url = f"{settings.rasa_url}/webhooks/rest/webhook"
        pids = [s.process.pid for s in stack.services if s.process is not None]
        result = measure(url, SALES_FLOW, args, lambda: _rss_mb(pids))
        if args.catalogue:
            result.price_turns = price_turn_at_scale(url, settings, args, workdir)
        return result
    finally:
        stack.stop()


def _price_turns(url: str, count: int) -> list[float]:
    """The price question as the first turn of `count` new conversations."""
    return [
        _conversation(url, PRICE_TURN, f"bench-price-{uuid.uuid4().hex[:12]}")[0]
        for _ in range(count)
    ]


def price_turn_at_scale(
    url: str, settings: StackSettings, args: argparse.Namespace, workdir: Path
) -> dict[int, list[float]]:
    """The price turn on the demo catalogue and, alternately, on a second assistant's mall
    grown to N products: both sizes measured in the same minutes, one turn each in turn, so
    the machine's drift does not pass for the catalogue's cost."""
    from bench.bench_catalogue import add_products, generated_products
    from mall.db import Database

    count = max(args.conversations, 20)
    big_settings = bench_settings(workdir / "mall-assistant-big")
    big = Stack(big_settings)
    big.start(timeout=240)
    try:
        big_url = f"{big_settings.rasa_url}/webhooks/rest/webhook"
        database = Database(big_settings.child_env()["MALL_DATABASE_URL"])
        taken = {"声悦Pro降噪蓝牙耳机"}
        products = generated_products(args.catalogue - DEMO_PRODUCTS, taken, random.Random(7))
        started = time.perf_counter()
        add_products(database, products)
        database.dispose()
        print(
            f"Added {len(products)} products in {time.perf_counter() - started:.0f} s", flush=True
        )
        # The next catalogue read rebuilds the mall's product index: wait for it here,
        # through the mall's own route, so no timed turn pays for it.
        token = big_settings.shared_secret("MALL_API_TOKEN")
        requests.get(
            f"{big_settings.mall_url}/products/resolve",
            params={"q": "蓝牙耳机"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=300,
        ).raise_for_status()
        timings: dict[int, list[float]] = {DEMO_PRODUCTS: [], args.catalogue: []}
        for round_number in range(count + 3):
            for size, target in ((DEMO_PRODUCTS, url), (args.catalogue, big_url)):
                latency = _price_turns(target, 1)
                if round_number >= 3:  # the first turns warm both up
                    timings[size] += latency
        return timings
    finally:
        big.stop()


def bench_stock_bot(args: argparse.Namespace, workdir: Path) -> Result:
    """Create and train a stock `rasa init` bot in a temporary folder and serve it."""
    folder = args.stock_bot or workdir / "stock-bot"
    rasa = str(Path(sys.executable).parent / "rasa")
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
    if any((folder / "models").glob("*.tar.gz")):
        print(f"Reusing the stock `rasa init` bot in {folder}", flush=True)
    else:
        folder.mkdir(parents=True, exist_ok=True)
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
        # Loading TensorFlow and the model takes minutes on a busy machine.
        deadline = time.monotonic() + 600
        while not service.is_healthy():
            if service.process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                tail = (workdir / "stock-run.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"stock bot did not start:\n{tail}")
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
    parser.add_argument(
        "--users",
        type=_levels,
        default=[4, 10],
        help="levels of concurrent users for throughput, comma-separated (4,10)",
    )
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of concurrent load")
    parser.add_argument("--skip-stock", action="store_true", help="only the mall assistant")
    parser.add_argument(
        "--stock-bot",
        type=Path,
        default=None,
        help="keep the stock bot in this folder: trained there once, reused by later runs",
    )
    parser.add_argument(
        "--long-turns",
        type=int,
        default=0,
        help="also one conversation this long (at least 20 turns): first vs last ten turns",
    )
    parser.add_argument(
        "--catalogue",
        type=int,
        default=0,
        help=f"also the price turn at {DEMO_PRODUCTS} and at this many products (50000)",
    )
    args = parser.parse_args()
    if args.catalogue and args.catalogue <= DEMO_PRODUCTS:
        parser.error(f"--catalogue needs more than the demo's {DEMO_PRODUCTS} products")
    if args.long_turns and args.long_turns < 20:
        parser.error("--long-turns needs at least 20 turns")
    with tempfile.TemporaryDirectory(prefix="mall-bench-") as tmp:
        workdir = Path(tmp)
        results = {"mall assistant (sales flow)": bench_mall_assistant(args, workdir)}
        if not args.skip_stock:
            results["stock rasa init bot"] = bench_stock_bot(args, workdir)
    header = ["", "1 user p50 ms", "1 user p95 ms"]
    for users in args.users:
        header += [f"{users} users turns/s", f"{users} users p50 ms", f"{users} users p95 ms"]
    header.append("RSS MB")
    rows = [[name, *result.row()] for name, result in results.items()]
    if len(results) == 2:
        ours, stock = (result.figures() for result in results.values())
        rows.append(
            ["ratio (mall / stock)", *(f"{a / b:.2f}x" for a, b in zip(ours, stock, strict=True))]
        )
    _print_table(header, rows)
    turns = len(SALES_FLOW) * args.conversations
    levels = " and ".join(str(users) for users in args.users)
    print(
        f"\n{turns} single-user turns each, then {levels} users for {args.duration:.0f} s each; "
        "RSS = resident memory of all the assistant's processes after the load."
    )
    if args.long_turns:
        n = args.long_turns
        _print_table(
            ["", "turns 1-10 p50 ms", f"turns {n - 9}-{n} p50 ms", "last / first"],
            [[name, *result.long_row()] for name, result in results.items()],
        )
        print(f"\nOne conversation of {n} turns per assistant (its flow repeated).")
    price = next(iter(results.values())).price_turns
    if price:
        small, big = (price[size] for size in sorted(price))
        _print_table(
            ["price turn, end to end", "p50 ms", "p95 ms"],
            [
                *[
                    [f"{size:,} products", f"{_pct(v, 50) * 1000:.0f}", f"{_pct(v, 95) * 1000:.0f}"]
                    for size, v in sorted(price.items())
                ],
                [
                    "ratio",
                    f"{_pct(big, 50) / _pct(small, 50):.2f}x",
                    f"{_pct(big, 95) / _pct(small, 95):.2f}x",
                ],
            ],
        )
        print(
            "\nThe price question as the first turn of a new conversation, one at a time, "
            "alternately on the demo catalogue and on a second assistant with the big one."
        )


def _levels(text: str) -> list[int]:
    levels = [int(item) for item in text.split(",") if item.strip()]
    if not levels or min(levels) < 1:
        raise argparse.ArgumentTypeError("levels of users: positive numbers, comma-separated")
    return levels


def _print_table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    print()
    for row in [header, *rows]:
        print("  ".join(str(cell).rjust(width) for cell, width in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
