"""Where the CPU goes while N customers run the sales flow: CPU time of each process.

Starts the whole assistant as `bench/bench_turns.py` does (temporary var folder, free ports),
then for each `--users` level runs that many customers over REST for `--duration` seconds and
prints turns/s, p50, p95 and the CPU seconds each process (with its children) used per turn
and as a share of one core:
    python bench/profile_load.py [--users 4,10] [--duration 20]
A process near 100 % of one core is the one that decides the throughput (Python runs one
thread at a time); the sum of all of them near the machine's cores means the machine is full.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_turns import (  # noqa: E402
    SALES_FLOW,
    _conversation,
    _levels,
    _load,
    _pct,
    bench_settings,
)
from launcher.stack import Stack  # noqa: E402
from launcher.train import train  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of `pid` and its descendants (alive or reaped)."""
    total = 0.0
    for child in [pid, *_descendants(pid)]:
        try:
            fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        # utime, stime, cutime, cstime are fields 14-17 of stat (11-14 after the name).
        total += sum(int(value) for value in fields[11:15]) / TICKS
    return total


def _descendants(pid: int) -> list[int]:
    found = []
    for task in Path("/proc").iterdir():
        if not task.name.isdigit():
            continue
        try:
            parent = int(Path(task, "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
        if parent == pid:
            found.append(int(task.name))
            found.extend(_descendants(int(task.name)))
    return found


def main() -> None:
    """Start the stack, load it at each level, print the CPU of each process."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=_levels, default=[4, 10])
    parser.add_argument("--duration", type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mall-profile-") as tmp:
        settings = bench_settings(Path(tmp) / "var")
        train(settings)
        stack = Stack(settings)
        stack.start(timeout=240)
        try:
            url = f"{settings.rasa_url}/webhooks/rest/webhook"
            pids = {s.name: s.process.pid for s in stack.services if s.process is not None}
            for _ in range(3):
                _conversation(url, SALES_FLOW, f"profile-warmup-{time.monotonic_ns()}")
            for users in args.users:
                before = {name: _cpu_seconds(pid) for name, pid in pids.items()}
                latencies, seconds = _load(url, SALES_FLOW, users, args.duration)
                used = {name: _cpu_seconds(pid) - before[name] for name, pid in pids.items()}
                turns = len(latencies)
                print(
                    f"\n{users} users: {turns / seconds:.1f} turns/s, "
                    f"p50 {_pct(latencies, 50) * 1000:.0f} ms, "
                    f"p95 {_pct(latencies, 95) * 1000:.0f} ms, "
                    f"load average {os.getloadavg()[0]:.1f}"
                )
                for name, cpu in sorted(used.items(), key=lambda item: -item[1]):
                    print(
                        f"  {name:10} {cpu:6.1f} CPU s  {cpu / seconds * 100:5.0f} % of a core"
                        f"  {cpu / max(turns, 1) * 1000:6.1f} ms per turn"
                    )
                total = sum(used.values())
                print(f"  {'all':10} {total:6.1f} CPU s  {total / seconds * 100:5.0f} % of a core")
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
