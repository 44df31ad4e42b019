"""Behaviour-event ingestion: sustained events per second through `POST /events`, none lost
or doubled, on SQLite and on PostgreSQL.

Starts the real mall (`python -m mall serve`, one process) on a free loopback port with a
fresh database, then several senders post batches for a while, each batch with new event
ids, and some batches a second time (a client's retry). At the end the database must hold
exactly the events sent once each.

    python bench/bench_events.py [--database sqlite|postgresql|both] [--seconds 20]
        [--senders 4] [--batch 200]
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PRODUCTS = [f"P{group}00{n}" for group in range(1, 8) for n in range(1, 7)]
KINDS = ("product_view", "product_view", "product_view", "add_to_cart", "search", "compare")
RETRY_SHARE = 0.05


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def database(kind: str) -> Iterator[str]:
    """A fresh, migrated and seeded database URL; removed afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{folder}/bench.db"
            _init(url)
            yield url
        return
    name = f"mall_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    try:
        _init(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _init(url: str) -> None:
    env = {**os.environ, "MALL_DATABASE_URL": url}
    subprocess.run(
        [PYTHON, "-m", "mall", "init-db", "--seed"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


@contextmanager
def mall(url: str, key: str) -> Iterator[str]:
    """The mall API serving `url` on a free port, with `key` as the shop's event key."""
    port = free_port()
    env = {
        **os.environ,
        "MALL_DATABASE_URL": url,
        "MALL_API_TOKEN": secrets.token_urlsafe(24),
        "SHOP_EVENT_KEY": key,
        "MALL_EVENT_RATE_LIMIT": "0",
        "MALL_PORT": str(port),
    }
    process = subprocess.Popen(
        [PYTHON, "-m", "mall", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the mall did not start")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(10)


@dataclass
class Tally:
    sent_ids: set[str] = field(default_factory=set)
    accepted: int = 0
    duplicates: int = 0
    resent: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def sender(base: str, key: str, batch: int, stop_at: float, tally: Tally, seed: int) -> None:
    rng = random.Random(seed)
    with httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30
    ) as client:
        while time.monotonic() < stop_at:
            now = datetime.now(timezone.utc).isoformat()
            events = []
            for _ in range(batch):
                kind = rng.choice(KINDS)
                event = {
                    "id": uuid.uuid4().hex,
                    "type": kind,
                    "customer_id": f"web-bench-{rng.randrange(5000):05d}",
                    "occurred_at": now,
                }
                if kind != "search":
                    event["product_id"] = rng.choice(PRODUCTS)
                else:
                    event["properties"] = {"query": "耳机"}
                events.append(event)
            body = {"events": events}
            tries = 2 if rng.random() < RETRY_SHARE else 1
            for attempt in range(tries):
                started = time.perf_counter()
                answer = client.post("/events", json=body)
                elapsed = time.perf_counter() - started
                with tally.lock:
                    if answer.status_code != 200:
                        tally.errors.append(f"{answer.status_code} {answer.text[:200]}")
                        continue
                    result = answer.json()
                    tally.accepted += result["accepted"]
                    tally.duplicates += result["duplicates"]
                    tally.latencies.append(elapsed)
                    if attempt == 0:
                        tally.sent_ids.update(event["id"] for event in events)
                    else:
                        tally.resent += len(events)


def stored(url: str) -> tuple[int, int]:
    """(rows from the benchmark, distinct event ids among them)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return tuple(  # type: ignore[return-value]
                connection.execute(
                    text(
                        "SELECT count(*), count(DISTINCT event_id) FROM behaviour_events "
                        "WHERE source = 'shop'"
                    )
                ).one()
            )
    finally:
        engine.dispose()


def run(kind: str, seconds: float, senders: int, batch: int) -> dict[str, object]:
    key = secrets.token_urlsafe(24)
    with database(kind) as url, mall(url, key) as base:
        tally = Tally()
        stop_at = time.monotonic() + seconds
        started = time.monotonic()
        threads = [
            threading.Thread(target=sender, args=(base, key, batch, stop_at, tally, n))
            for n in range(senders)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        rows, distinct = stored(url)
    sent = len(tally.sent_ids)
    latencies = sorted(tally.latencies)
    return {
        "database": kind,
        "events_per_second": sent / elapsed,
        "sent": sent,
        "resent": tally.resent,
        "stored": rows,
        "lost": sent - distinct,
        "doubled": rows - distinct,
        "accepted": tally.accepted,
        "reported_duplicates": tally.duplicates,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "p95_ms": latencies[int(len(latencies) * 0.95) - 1] * 1000 if latencies else float("nan"),
        "errors": len(tally.errors),
        "first_error": tally.errors[0] if tally.errors else "",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--target", type=float, default=2000.0, help="events/s required")
    args = parser.parse_args(argv)
    kinds = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    ok = True
    print(
        f"event ingestion: {args.senders} senders, batches of {args.batch}, "
        f"{args.seconds:.0f} s each, {RETRY_SHARE:.0%} of batches sent twice"
    )
    print(
        f"{'database':<11}{'events/s':>10}{'sent':>9}{'stored':>9}{'lost':>6}{'doubled':>8}"
        f"{'batch p50':>11}{'batch p95':>11}{'errors':>8}"
    )
    for kind in kinds:
        try:
            result = run(kind, args.seconds, args.senders, args.batch)
        except Exception as exc:  # PostgreSQL down, say: report and go on
            print(f"{kind:<11}skipped: {type(exc).__name__}: {exc}")
            ok = False
            continue
        print(
            f"{kind:<11}{result['events_per_second']:>10.0f}{result['sent']:>9}"
            f"{result['stored']:>9}{result['lost']:>6}{result['doubled']:>8}"
            f"{result['p50_ms']:>9.0f}ms{result['p95_ms']:>9.0f}ms{result['errors']:>8}"
        )
        if result["first_error"]:
            print(f"  first error: {result['first_error']}")
        good = (
            result["events_per_second"] >= args.target  # type: ignore[operator]
            and result["lost"] == 0
            and result["doubled"] == 0
            and result["errors"] == 0
            and result["reported_duplicates"] == result["resent"]
        )
        ok = ok and good
        print(
            f"  {'meets' if good else 'MISSES'} {args.target:.0f} events/s with none lost "
            f"or doubled (retried events reported as duplicates: "
            f"{result['reported_duplicates']} of {result['resent']})"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
