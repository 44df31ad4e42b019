"""`python -m launcher run|train|test-conversations`: the assistant's front door."""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from launcher.settings import ROOT, StackSettings
from launcher.stack import Stack, StackError
from launcher.train import display, train

BANNER = """
Mall Assistant is running.
  Chat (REST):   POST {rasa}/webhooks/rest/webhook
  Mall API:      {mall}/docs   (OpenAPI: {mall}/openapi.json)
  Action server: {actions}/health
  Logs:          {logs}

Try it:
  curl -s {rasa}/webhooks/rest/webhook -H 'Content-Type: application/json' \\
       -d '{{"sender": "wx-o7Xh2-vip", "message": "你好"}}'
  curl -s {rasa}/webhooks/rest/webhook -H 'Content-Type: application/json' \\
       -d '{{"sender": "wx-o7Xh2-vip", "message": "蓝牙耳机多少钱"}}'

Press Ctrl-C to stop every process.
"""


class _Stop(Exception):
    pass


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop


def run(settings: StackSettings) -> int:
    """Train if needed, start everything, wait for Ctrl-C, stop everything."""
    try:
        train(settings)
    except KeyboardInterrupt:
        print("\nTraining interrupted; nothing was started.", file=sys.stderr)
        return 130
    stack = Stack(settings)
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    print("Starting the mall service, the action server and the Rasa server ...", flush=True)
    started = time.monotonic()
    try:
        stack.start()
        print(
            BANNER.format(
                rasa=settings.rasa_url,
                mall=settings.mall_url,
                actions=settings.actions_url,
                logs=display(settings.log_dir),
            ).rstrip()
            + f"\n(ready in {time.monotonic() - started:.0f} s)",
            flush=True,
        )
        while True:
            dead = stack.check_alive()
            if dead:
                print(f"{dead} stopped unexpectedly:\n{stack.log_tail(dead)}", file=sys.stderr)
                return 1
            time.sleep(0.5)
    except _Stop:
        print("\nStopping ...", flush=True)
        return 0
    except StackError as error:
        print(f"Could not start the assistant: {error}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stack.stop()
        print("All processes stopped.", flush=True)


def test_conversations(settings: StackSettings, out: Path) -> int:
    """Run `rasa test` (NLU test set + conversation stories) with the mall and actions up."""
    shutil.rmtree(out, ignore_errors=True)  # no stale reports from an earlier run
    out.mkdir(parents=True)
    rasa = str(Path(sys.executable).parent / "rasa")
    env = settings.child_env()
    model = str(settings.model_path)
    nlu_command = [rasa, "test", "nlu", "--nlu", "tests/nlu/test_nlu.yml", "--model", model]
    # --e2e parses every test message with the model too: the conversation tests check the
    # NLU in context, not just the dialogue policies.
    core_command = [
        rasa,
        "test",
        "core",
        "--stories",
        "tests/stories",
        "--model",
        model,
        "--endpoints",
        "endpoints.yml",
        "--e2e",
        "--successes",
    ]
    with Stack(settings, services=("mall", "actions")):
        nlu = _run_logged([*nlu_command, "--out", str(out / "nlu")], env, out / "nlu.log")
        core = _run_logged(
            [*core_command, "--fail-on-prediction-errors", "--out", str(out / "core")],
            env,
            out / "core.log",
        )
        if core != 0:
            # --fail-on-prediction-errors stops at the first failure: list them all.
            _run_logged([*core_command, "--out", str(out / "core")], env, out / "core.log")
    print(_nlu_summary(out / "nlu"))
    print(_core_summary(out / "core"))
    if nlu != 0:
        print(f"rasa test nlu failed (exit {nlu}); see {out / 'nlu.log'}")
    if core != 0:
        failed = out / "core" / "failed_test_stories.yml"
        detail = failed.read_text()[:6000] if failed.exists() else ""
        print(f"rasa test core failed (exit {core}); see {out / 'core.log'}\n{detail}")
    return 0 if nlu == 0 and core == 0 else 1


def _run_logged(command: list[str], env: dict[str, str], log_path: Path) -> int:
    """Run a command with its output in a log file; return its exit code."""
    with open(log_path, "wb") as log:
        return subprocess.run(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        ).returncode


def _nlu_summary(folder: Path) -> str:
    report = folder / "intent_report.json"
    if not report.exists():
        return "NLU: no intent report"
    data = json.loads(report.read_text())
    macro = data.get("macro avg", {})
    weighted = data.get("weighted avg", {})
    worst = sorted(
        (
            (name, values["f1-score"])
            for name, values in data.items()
            if isinstance(values, dict) and "support" in values and not name.endswith("avg")
        ),
        key=lambda item: item[1],
    )[:3]
    return (
        f"NLU test set: accuracy {data.get('accuracy', 0):.3f}, macro F1 "
        f"{macro.get('f1-score', 0):.3f}, weighted F1 {weighted.get('f1-score', 0):.3f}; "
        "lowest F1: " + ", ".join(f"{name} {f1:.2f}" for name, f1 in worst)
    )


def _core_summary(folder: Path) -> str:
    successful = folder / "successful_test_stories.yml"
    failed = folder / "failed_test_stories.yml"

    def count(path: Path) -> int:
        if not path.exists():
            return 0
        return sum(1 for line in path.read_text().splitlines() if line.startswith("- story:"))

    return f"Conversation tests: {count(successful)} stories passed, {count(failed)} failed"


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m launcher", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="train if needed, start every process, stop on Ctrl-C")
    train_parser = commands.add_parser("train", help="train the model if inputs changed")
    train_parser.add_argument("--force", action="store_true", help="train even if current")
    tests = commands.add_parser("test-conversations", help="rasa test nlu + core")
    tests.add_argument("--out", type=Path, default=ROOT / "var" / "results")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = StackSettings.from_env()
    if args.command == "run":
        return run(settings)
    if args.command == "train":
        train(settings, force=args.force)
        return 0
    train(settings)
    return test_conversations(settings, args.out)


if __name__ == "__main__":
    sys.exit(main())
