"""NLU training and parse time with the demo catalogue and with a 50,000-product one.

Copies the training inputs into a temporary folder twice, writes the catalogue NLU files
(Jieba dictionary, lookups, synonyms) from the demo catalogue in one and from the demo plus
generated products (bench/bench_catalogue.py's names) in the other, trains the NLU model
of each (`rasa train nlu`) and parses the same messages with both:
    python bench/bench_nlu_catalogue.py [--products 50000] [--repeat 3]
Nothing is written into the project.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_catalogue import MATCH_TEXTS, generated_products  # noqa: E402

INPUTS = ("config.yml", "domain.yml", "data", "components", "scripts")
MESSAGES = [
    *MATCH_TEXTS,
    "声悦Pro降噪蓝牙耳机多少钱",
    "要优惠",
    "我的订单202611180001到哪了",
    "白色的T恤还有XL吗",
    "快递几天能到",
    "怎么申请退款",
]


def prepare(folder: Path, catalogue: Path) -> float:
    """Copy the training inputs into `folder` and write its catalogue NLU files; seconds."""
    for name in INPUTS:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, folder / name)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "scripts/build_nlu_catalogue.py", "--catalogue", str(catalogue)],
        cwd=folder,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def train_nlu(folder: Path) -> float:
    """`rasa train nlu` in `folder`; seconds."""
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
    rasa = str(Path(sys.executable).parent / "rasa")
    started = time.perf_counter()
    with open(folder / "train.log", "wb") as log:
        subprocess.run(
            [rasa, "train", "nlu", "--config", "config.yml", "--nlu", "data", "--out", "models"],
            cwd=folder,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=True,
        )
    return time.perf_counter() - started


def parse_times(folder: Path, repeat: int) -> tuple[list[float], float]:
    """Per-message parse latencies of the model trained in `folder`, and its load time."""
    script = f"""
import asyncio, json, sys, time
sys.path.insert(0, {str(folder)!r})
from rasa.core.agent import Agent
started = time.perf_counter()
agent = Agent.load({str(next((folder / "models").glob("*.tar.gz")))!r})
loaded = time.perf_counter() - started
async def main():
    times = []
    for text in {MESSAGES!r}:
        await agent.parse_message(text)
    for _ in range({repeat}):
        for text in {MESSAGES!r}:
            started = time.perf_counter()
            await agent.parse_message(text)
            times.append(time.perf_counter() - started)
    print(json.dumps({{"times": times, "loaded": loaded}}))
asyncio.run(main())
"""
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result["times"], result["loaded"]


def main() -> None:
    """Both catalogues, side by side."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3, help="rounds over the messages")
    args = parser.parse_args()
    demo = yaml.safe_load((ROOT / "mall" / "seed" / "catalogue.yml").read_text(encoding="utf-8"))
    taken = {p["name"] for p in demo["products"]}
    taken |= {str(a) for p in demo["products"] for a in p.get("aliases", [])}
    extra = generated_products(args.products - len(demo["products"]), taken, random.Random(1))
    rows = []
    with tempfile.TemporaryDirectory(prefix="mall-bench-nlu-") as tmp:
        for label, products in (("demo", demo["products"]), ("big", demo["products"] + extra)):
            folder = Path(tmp) / label
            folder.mkdir()
            catalogue = Path(tmp) / f"{label}-catalogue.yml"
            catalogue.write_text(
                yaml.safe_dump({**demo, "products": products}, allow_unicode=True),
                encoding="utf-8",
            )
            print(f"{len(products)} products: generating and training ...", flush=True)
            generate = prepare(folder, catalogue)
            training = train_nlu(folder)
            times, loaded = parse_times(folder, args.repeat)
            ms = sorted(t * 1000 for t in times)
            rows.append(
                [
                    f"{len(products)} products",
                    f"{generate:.1f}",
                    f"{training:.0f}",
                    f"{loaded:.1f}",
                    f"{statistics.median(ms):.1f}",
                    f"{ms[int(0.95 * (len(ms) - 1))]:.1f}",
                ]
            )
    header = ["", "NLU files s", "train nlu s", "load s", "parse p50 ms", "parse p95 ms"]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    print()
    for row in [header, *rows]:
        print("  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)))
    print(f"\n{len(MESSAGES)} messages x {args.repeat} parses per model (after one warm-up each).")


if __name__ == "__main__":
    main()
