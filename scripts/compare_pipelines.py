"""Train NLU pipelines on the same data and score each on real chat, side by side.

    python scripts/compare_pipelines.py                      # config.yml + alternatives/*.yml
    python scripts/compare_pipelines.py alternatives/diet.yml config.yml

Each config is trained NLU-only (`rasa train nlu`, log under var/compare/) and scored like
`make eval-real`: intent accuracy and macro-F1 on the real dev set's tune and check halves, the
fallback rates, the project's own test set, training time and parse latency. Without the shared
dev set only the own test set is scored. This is how config.yml's pipeline was chosen.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts import eval_real  # noqa: E402

OUT = ROOT / "var" / "compare"


def train(config: Path) -> tuple[Path, float]:
    """Train an NLU-only model from `config`; its archive and the seconds it took."""
    name = config.stem if config.parent.name == "alternatives" else "config"
    out = OUT / name
    out.mkdir(parents=True, exist_ok=True)
    rasa = Path(sys.executable).parent / "rasa"
    command = [
        str(rasa),
        "train",
        "nlu",
        "--config",
        str(config),
        "--nlu",
        "data/nlu",
        "--domain",
        "domain.yml",
        "--out",
        str(out),
        "--fixed-model-name",
        name,
    ]
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3"}
    started = time.monotonic()
    with (out / "train.log").open("wb") as log:
        result = subprocess.run(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        raise SystemExit(f"training {config} failed; see {out / 'train.log'}")
    return out / f"{name}.tar.gz", time.monotonic() - started


def main(argv: Sequence[str] | None = None) -> int:
    """Train and score each config; print one row per config."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="*", type=Path)
    args = parser.parse_args(argv)
    configs = [path.resolve() for path in args.configs] or [
        ROOT / "config.yml",
        *sorted((ROOT / "alternatives").glob("*.yml")),
    ]
    configs = [c for c in configs if "pretrained" not in c.name or os.environ.get("LM_WEIGHTS")]
    dev = eval_real.read_dev_set() or []
    eval_real._quiet_rasa()
    rows = []
    for config in configs:
        model, seconds = train(config)
        report = asyncio.run(eval_real.evaluate(model, dev))
        columns = {column.name: column for column in report["columns"]}
        rows.append((config, seconds, columns, report["latency_ms"]["p50"]))
        print(f"{config.relative_to(ROOT)}: trained in {seconds:.0f} s", flush=True)

    header = (
        f"{'pipeline':<28}{'train s':>8}{'p50 ms':>8}"
        f"{'tune acc':>10}{'check acc':>10}{'check F1':>10}"
        f"{'other fb':>10}{'in fb':>8}{'own acc':>9}"
    )
    print("\n" + header)
    for config, seconds, columns, p50 in rows:
        tune, check = columns.get("real: tune"), columns.get("real: check")
        own = columns["own test set"]
        real = columns.get("real: all")

        def fmt(value: float | None) -> str:
            return "-" if value is None or value != value else f"{value:.3f}"

        print(
            f"{str(config.relative_to(ROOT)):<28}{seconds:>8.0f}{p50:>8.1f}"
            f"{fmt(tune.accuracy if tune else None):>10}"
            f"{fmt(check.accuracy if check else None):>10}"
            f"{fmt(check.macro_f1 if check else None):>10}"
            f"{fmt(real.other_fallback if real else None):>10}"
            f"{fmt(real.in_scope_fallback if real else None):>8}{fmt(own.accuracy):>9}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
