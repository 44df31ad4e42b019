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

from launcher.cluster import Cluster, cluster_banner_lines
from launcher.settings import ROOT, StackSettings
from launcher.stack import ENDPOINTS, RUN_SERVICES, Stack, StackError
from launcher.train import display, train

BANNER = """
Mall Assistant is running.
  For browsers (the desk and the chat channels):
    Demo shop + widget: {desk}/shop
    Agent console:      {desk}/console   (login: demo / {console_password})
    KPI dashboard:      {desk}/console/dashboard   (supervisors: CONSOLE_SUPERVISORS)
    Chat channels:      {rasa}/webhooks/web/ (widget){rest}
  Internal (loopback, each behind its token):
    Mall API:           {mall}   (Authorization: Bearer $(cat {secrets}/MALL_API_TOKEN))
    Action server:      {actions}
  Logs:                 {logs}

Try it: `make demo` prints a sales conversation through the web channel.
A process that crashes is restarted (with back-off); the others keep serving.
Press Ctrl-C to stop every process.
"""
REST_ON = """
    REST channel:       {rasa}/webhooks/rest/webhook (Authorization: Bearer $REST_CHANNEL_TOKEN)"""


class _Stop(Exception):
    pass


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop


def run(settings: StackSettings, *, cluster: bool = False) -> int:
    """Train if needed, start everything, keep it up until Ctrl-C, stop everything."""
    try:
        train(settings)
    except KeyboardInterrupt:
        print("\nTraining interrupted; nothing was started.", file=sys.stderr)
        return 130
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    signal.signal(signal.SIGHUP, _raise_stop)  # the terminal went away
    stack: Stack
    if cluster:
        stack = Cluster(settings)
        print("make cluster uses this machine's own stores:", flush=True)
        for line in stack.backends.describe():
            print(f"  {line}", flush=True)
        print(
            "Starting the mall API, 2 action servers, 2 Rasa replicas, HAProxy and the desk ...",
            flush=True,
        )
    else:
        stack = Stack(settings, RUN_SERVICES)
        print(
            "Starting the mall API, the action server, the Rasa server, the desk and the"
            " proactive-message scheduler ...",
            flush=True,
        )
    settings = stack.settings
    started = time.monotonic()
    try:
        stack.start()
        env = settings.child_env()
        if isinstance(stack, Cluster):
            print("\n".join(["", *cluster_banner_lines(stack)]), flush=True)
        print(
            BANNER.format(
                rasa=settings.rasa_url,
                mall=settings.mall_url,
                actions=settings.actions_url,
                desk=settings.desk_url,
                logs=display(settings.log_dir),
                secrets=display(settings.var_dir / "secrets"),
                console_password=env["CONSOLE_DEMO_PASSWORD"],
                rest=REST_ON.format(rasa=settings.rasa_url)
                if env.get("REST_CHANNEL_TOKEN")
                else "",
            ).rstrip()
            + f"\n(ready in {time.monotonic() - started:.0f} s)",
            flush=True,
        )
        while True:
            for event in stack.supervise():
                print(f"[{time.strftime('%H:%M:%S')}] {event}", file=sys.stderr, flush=True)
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


def dialogue_only_stories(source: Path, target: Path) -> int:
    """Write the test stories with the customer's words replaced by their labelled intents."""
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
    from rasa.shared.core.training_data.story_writer.yaml_story_writer import YAMLStoryWriter

    domain = Domain.load(str(ROOT / "domain.yml"))
    steps = []
    for path in sorted(source.glob("*.yml")):
        steps += YAMLStoryReader(domain).read_from_file(str(path))
    turns = 0
    for step in steps:
        for index, event in enumerate(step.events):
            if isinstance(event, UserUttered):
                turns += 1
                step.events[index] = UserUttered(
                    text=None, intent=event.intent, entities=event.entities
                )
    target.write_text(YAMLStoryWriter().dumps(steps, is_test_story=True))
    return turns


def test_conversations(settings: StackSettings, out: Path, min_turn_accuracy: float) -> int:
    """`rasa test` with the mall and actions up: NLU test set, dialogue, NLU in context.

    The dialogue test takes each story's labelled intents as given and must predict every
    action (--fail-on-prediction-errors). The in-context test parses the customer's words
    with the model as well; its share of correctly understood turns must reach
    `min_turn_accuracy`.
    """
    shutil.rmtree(out, ignore_errors=True)  # no stale reports from an earlier run
    out.mkdir(parents=True)
    rasa = str(Path(sys.executable).parent / "rasa")
    env = settings.child_env()
    model = str(settings.model_path)
    turns = dialogue_only_stories(ROOT / "tests" / "stories", out / "dialogue_stories.yml")
    core = [rasa, "test", "core", "--model", model, "--endpoints", ENDPOINTS]
    with Stack(settings, services=("mall", "actions")):
        nlu = _run_logged(
            [
                rasa,
                "test",
                "nlu",
                "--nlu",
                "tests/nlu/data",
                "--model",
                model,
                "--out",
                str(out / "nlu"),
            ],
            env,
            out / "nlu.log",
        )
        dialogue = _run_logged(
            [
                *core,
                "--stories",
                str(out / "dialogue_stories.yml"),
                "--fail-on-prediction-errors",
                "--out",
                str(out / "dialogue"),
            ],
            env,
            out / "dialogue.log",
        )
        _run_logged(
            [
                *core,
                "--stories",
                "tests/stories",
                "--e2e",
                "--successes",
                "--out",
                str(out / "in_context"),
            ],
            env,
            out / "in_context.log",
        )
    print(_nlu_summary(out / "nlu"))
    failed = out / "dialogue" / "failed_test_stories.yml"
    if dialogue != 0:
        detail = failed.read_text()[:6000] if failed.exists() else ""
        print(f"Dialogue: rasa test core failed (exit {dialogue}); see {out / 'dialogue.log'}")
        print(detail)
    else:
        print(f"Dialogue: all {_count_stories(out / 'dialogue_stories.yml')} stories predicted")
    misread = _misread_turns(out / "in_context" / "failed_test_stories.yml")
    accuracy = 1 - len(misread) / max(turns, 1)
    print(
        f"In context: {turns - len(misread)}/{turns} customer turns understood "
        f"({accuracy:.1%}; at least {min_turn_accuracy:.0%} required), "
        f"{_count_stories(out / 'in_context' / 'successful_test_stories.yml')} stories whole"
    )
    for line in misread:
        print(f"  misread: {line}")
    if nlu != 0:
        print(f"rasa test nlu failed (exit {nlu}); see {out / 'nlu.log'}")
    return 0 if nlu == 0 and dialogue == 0 and accuracy >= min_turn_accuracy else 1


def _count_stories(path: Path) -> int:
    if not path.exists():
        return 0
    return sum(1 for line in path.read_text().splitlines() if line.lstrip().startswith("- story:"))


def _misread_turns(path: Path) -> list[str]:
    """The customer turns the model misunderstood (Rasa marks them `# predicted: ...`)."""
    if not path.exists():
        return []
    return [
        line.split("# predicted:", 1)[1].strip()
        for line in path.read_text().splitlines()
        if "# predicted:" in line and "intent:" in line
    ]


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


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m launcher", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="train if needed, start every process, stop on Ctrl-C")
    commands.add_parser(
        "cluster",
        help="2 Rasa replicas + 2 action servers behind HAProxy on PostgreSQL, Redis, RabbitMQ",
    )
    train_parser = commands.add_parser("train", help="train the model if inputs changed")
    train_parser.add_argument("--force", action="store_true", help="train even if current")
    tests = commands.add_parser("test-conversations", help="rasa test nlu + core")
    tests.add_argument("--out", type=Path, default=ROOT / "var" / "results")
    tests.add_argument(
        "--min-turn-accuracy",
        type=float,
        default=0.93,
        help="share of test-story customer turns the model must understand in context",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = StackSettings.from_env()
    except ValueError as error:  # a malformed variable or, in production, a weak secret
        print(f"launcher: {error}", file=sys.stderr)
        return 2
    if args.command in ("run", "cluster"):
        return run(settings, cluster=args.command == "cluster")
    if args.command == "train":
        train(settings, force=args.force)
        return 0
    train(settings)
    return test_conversations(settings, args.out, args.min_turn_accuracy)


if __name__ == "__main__":
    sys.exit(main())
