"""Where a turn's time goes late in a long conversation: cProfile of the Rasa side.

Starts the mall service and the action server on free ports with a temporary var folder,
loads the trained model in this process with the launcher's endpoints file (the windowed SQL
tracker store, the action server just started), plays one conversation of `--turns` turns
and profiles its first and last `--window` turns:
    python bench/trace_long_conversation.py [--turns 200] [--window 10] [--top 25]
                                            [--sort cumulative|tottime]
The action server and the mall run in their own processes: their share shows up here as
time spent waiting in the action call.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from launcher.settings import StackSettings  # noqa: E402
from launcher.stack import ENDPOINTS, Stack  # noqa: E402
from launcher.train import train  # noqa: E402
from tests.integration.conftest import free_port  # noqa: E402

FLOW = ["你好", "声悦Pro降噪蓝牙耳机多少钱", "要优惠", "好的", "谢谢"]


async def play(settings: StackSettings, args: argparse.Namespace) -> None:
    """Play the conversation through an in-process agent and print both profiles."""
    from rasa.core.agent import load_agent
    from rasa.core.utils import AvailableEndpoints

    agent = await load_agent(
        model_path=str(settings.model_path),
        # The launcher's endpoints file: its action server URL is the one started above.
        endpoints=AvailableEndpoints.read_endpoints(str(ROOT / ENDPOINTS)),
    )
    sender = f"trace-{uuid.uuid4().hex[:8]}"
    turns = (FLOW * (args.turns // len(FLOW) + 1))[: args.turns]
    windows = {"first": range(args.window), "last": range(args.turns - args.window, args.turns)}
    profiles = {name: cProfile.Profile() for name in windows}
    timings: dict[str, list[float]] = {name: [] for name in windows}
    for number, text in enumerate(turns):
        name = next((n for n, window in windows.items() if number in window), None)
        started = time.perf_counter()
        if name is not None:
            profiles[name].enable()
        await agent.handle_text(text, sender_id=sender)
        if name is not None:
            profiles[name].disable()
            timings[name].append(time.perf_counter() - started)
    tracker = await agent.tracker_store.retrieve(sender)
    events = len(tracker.events) if tracker is not None else 0
    for name, profile in profiles.items():
        window = windows[name]
        print(
            f"\n== turns {window.start + 1}-{window.stop}: "
            f"median {statistics.median(timings[name]) * 1000:.0f} ms per turn"
        )
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats(args.sort).print_stats(args.top)
        print(out.getvalue())
    print(f"events in the tracker after {args.turns} turns: {events}")


def main() -> None:
    """Start mall + actions, then trace the conversation."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--window", type=int, default=10, help="turns profiled at each end")
    parser.add_argument("--top", type=int, default=25, help="functions listed per profile")
    parser.add_argument(
        "--sort", choices=("cumulative", "tottime"), default="cumulative", help="order of the list"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mall-trace-") as tmp:
        settings = StackSettings.from_env().replace(
            actions_port=free_port(),
            mall_port=free_port(),
            var_dir=Path(tmp),
        )
        train(settings)
        stack = Stack(settings, services=("mall", "actions"))
        stack.start(timeout=240)
        try:
            # endpoints.yml and the custom components read these, as under `make run`.
            os.environ.update(settings.service_env("rasa", settings.child_env()))
            asyncio.run(play(settings, args))
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
