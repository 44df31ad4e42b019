"""The model's graph runs per message: the planned runner beside Rasa's dask runner.

    python bench/bench_graph_runner.py [--rounds 200]

Loads the trained model (`make train`) into both runners and, interleaved so that both see
the same machine, parses the sales flow's messages and predicts the next action after each:
the two graph runs Rasa makes for every message (NLU once, the policies once per action).
Prints the median and p95 CPU milliseconds per run and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from launcher.settings import StackSettings  # noqa: E402

LOG = Path(tempfile.gettempdir()) / "bench-graph-runner.log"


@contextlib.contextmanager
def _output_to_log() -> Iterator[None]:
    """TensorFlow's and Rasa's start-up chatter (written to the descriptors) into LOG."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(LOG, "wb") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


MESSAGES = ["你好", "声悦Pro降噪蓝牙耳机多少钱", "要优惠", "好的", "谢谢", "我的快递到哪了"]


def main() -> None:
    """Time both runners on the same messages and trackers, one call after the other."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200, help="rounds over the messages")
    args = parser.parse_args()
    model = StackSettings.from_env().model_path
    if not model.exists():
        sys.exit(f"no trained model at {model}: run `make train` first")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    print(f"Loading the model twice and timing (log: {LOG}) ...", flush=True)
    with _output_to_log():
        figures = _measure(model, args.rounds)
    _print(figures, args.rounds)


def _measure(model: Path, rounds: int) -> dict[str, list[float]]:
    """p50/p95 of parse and predict CPU ms per runner."""
    from rasa.core.agent import Agent
    from rasa.core.channels.channel import UserMessage
    from rasa.engine import loader
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.shared.core.constants import ACTION_LISTEN_NAME
    from rasa.shared.core.events import ActionExecuted, UserUttered

    import channels  # noqa: F401  (installs the planned runner, as the Rasa server does)

    agent = Agent.load(str(model))
    planned = agent.processor
    assert planned is not None
    on_dask = copy.copy(planned)
    _, on_dask.graph_runner = loader.load_predict_graph_runner(
        Path(tempfile.mkdtemp(prefix="bench-dask-")), model, LocalModelStorage, DaskGraphRunner
    )
    processors = {"planned (this project)": planned, "dask (Rasa's)": on_dask}
    timings: dict[str, dict[str, list[float]]] = {
        name: {"parse": [], "predict": []} for name in processors
    }
    for round_number in range(rounds + 5):
        # One conversation per round: the tracker as long as a conversation's.
        tracker = planned.tracker_store.init_tracker(f"bench-runner-{round_number}")
        tracker.update(ActionExecuted(ACTION_LISTEN_NAME))
        for text in MESSAGES:
            message = UserMessage(text, sender_id="bench-runner")
            parsed = None
            for name, processor in processors.items():
                started = time.process_time()
                parsed = asyncio.run(processor.parse_message(message))
                parse_cpu = time.process_time() - started
                started = time.process_time()
                processor._predict_next_with_tracker(tracker)
                predict_cpu = time.process_time() - started
                if round_number >= 5:  # the first rounds warm caches up
                    timings[name]["parse"].append(parse_cpu)
                    timings[name]["predict"].append(predict_cpu)
            assert parsed is not None
            tracker.update(UserUttered(text, parsed["intent"], parsed["entities"], parsed))
            tracker.update(ActionExecuted(ACTION_LISTEN_NAME))

    def pct(values: list[float], percentile: int) -> float:
        return statistics.quantiles(values, n=100, method="inclusive")[percentile - 1] * 1000

    return {
        name: [pct(kinds[kind], p) for kind in ("parse", "predict") for p in (50, 95)]
        for name, kinds in timings.items()
    }


def _print(figures: dict[str, list[float]], rounds: int) -> None:
    rows = [["", "parse p50 ms", "parse p95 ms", "predict p50 ms", "predict p95 ms"]]
    for name, values in figures.items():
        rows.append([name, *(f"{value:.2f}" for value in values)])
    ours, theirs = figures.values()
    rows.append(["ratio", *(f"{a / b:.2f}x" for a, b in zip(ours, theirs, strict=True))])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print()
    for row in rows:
        print("  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)))
    print(
        f"\nCPU per graph run, {rounds * len(MESSAGES)} messages each, the runners "
        "interleaved; each round is one conversation of these messages."
    )


if __name__ == "__main__":
    main()
