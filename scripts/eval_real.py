"""Score the trained model on real shop chat beside the project's own NLU test set.

    python scripts/eval_real.py                       # models/mall-assistant.tar.gz
    python scripts/eval_real.py --model models/x.tar.gz --json var/eval/x.json

The real set is the shared, hand-labelled JD customer-service set (../shared/data/jd_dev/, not
part of the project; absent on a user's clone, and then this prints one line and exits 0). Only
customer rows are scored:
- intent accuracy and macro-F1 on clear rows whose label is in the intent schema, per-intent
  precision/recall/F1 and the most frequent confusions;
- the share of clear `other` rows that fall back (`nlu_fallback`), and of clear in-scope rows
  that wrongly do;
- the ROC AUC of the sentiment score (lower = more negative) for `neg` and for `escalate`;
- parse latency p50/p95.
The rows are split in two halves by a hash of their id: "tune" is the half to look at while
changing data or pipeline, "check" the half to leave alone; both are printed with the whole.
The project's own test set (tests/nlu/data/) gets the same intent figures beside them.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import hashlib
import json
import logging
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEV_SET = ROOT.parent / "shared" / "data" / "jd_dev" / "jd_dev.csv"
OWN_TEST_SET = ROOT / "tests" / "nlu" / "data"
DEFAULT_MODEL = ROOT / "models" / "mall-assistant.tar.gz"

SCHEMA_INTENTS = (
    "greet",
    "goodbye",
    "thank",
    "affirm",
    "deny",
    "bot_challenge",
    "request_human",
    "ask_price",
    "ask_discount",
    "ask_stock",
    "ask_product_info",
    "ask_shipping",
    "ask_order_status",
    "modify_order",
    "return_refund",
    "complaint",
    "ask_payment",
)
FALLBACK = "nlu_fallback"
# The project's intents outside the evaluated schema (opting out of proactive messages): to
# the schema they are out of scope, so they count as a fallback.
OUTSIDE_SCHEMA = ("stop_marketing", "resume_marketing")
# Labels meaning "not something this assistant handles", in the dev set and in our test set.
OUT_OF_SCOPE_LABELS = ("other", "out_of_scope")


@dataclass(frozen=True)
class Example:
    """One labelled message."""

    id: str
    text: str
    intent: str
    clear: bool = True
    sentiment: str = "neu"
    escalate: bool = False


@dataclass(frozen=True)
class Prediction:
    """What the model said about one message."""

    intent: str
    confidence: float
    sentiment_score: float
    seconds: float
    response_key: str | None = None
    # The classifier's own best intent and confidence, before any fallback threshold.
    classified: str = ""
    classified_confidence: float = 0.0


@dataclass
class Scores:
    """The figures of one set of messages."""

    name: str
    in_scope: int = 0
    accuracy: float = float("nan")
    macro_f1: float = float("nan")
    other: int = 0
    other_fallback: float = float("nan")
    in_scope_fallback: float = float("nan")
    neg_auc: float = float("nan")
    escalate_auc: float = float("nan")
    per_intent: dict[str, dict[str, float]] = field(default_factory=dict)
    confusions: list[tuple[str, str, int]] = field(default_factory=list)


def half(example_id: str) -> str:
    """'tune' or 'check': a stable split of the dev set by a hash of the row id."""
    digest = hashlib.sha256(example_id.encode("utf-8")).digest()
    return "tune" if digest[0] % 2 == 0 else "check"


def read_dev_set(path: Path = DEV_SET) -> list[Example] | None:
    """Customer rows of the shared dev set, or None when it is absent."""
    if not path.is_file():
        return None
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [
        Example(
            id=row["id"],
            text=row["text"],
            intent=row["intent"],
            clear=row["clarity"] == "clear",
            sentiment=row["sentiment"],
            escalate=row["escalate"].strip() == "1",
        )
        for row in rows
        if row["role"] == "customer"
    ]


def read_own_test_set(path: Path = OWN_TEST_SET) -> list[Example]:
    """The project's held-out NLU test set (out_of_scope rows, and the intents outside the
    schema, labelled 'other', as the schema sees them)."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    examples = []
    for number, message in enumerate(data.intent_examples):
        intent = message.get("intent")
        examples.append(
            Example(
                id=f"own{number:04d}",
                text=message.get("text"),
                intent="other" if intent in OUT_OF_SCOPE_LABELS + OUTSIDE_SCHEMA else intent,
            )
        )
    return examples


def roc_auc(positive: Sequence[bool], scores: Sequence[float]) -> float:
    """ROC AUC of `scores` for the positive class (ties count half), NaN without both."""
    pairs = sorted(zip(scores, positive, strict=True))
    n_pos = sum(1 for _, is_pos in pairs if is_pos)
    n_neg = len(pairs) - n_pos
    if not n_pos or not n_neg:
        return float("nan")
    rank_sum = 0.0
    index = 0
    while index < len(pairs):
        end = index
        while end + 1 < len(pairs) and pairs[end + 1][0] == pairs[index][0]:
            end += 1
        mean_rank = (index + end) / 2 + 1
        rank_sum += mean_rank * sum(1 for k in range(index, end + 1) if pairs[k][1])
        index = end + 1
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def score(name: str, examples: Sequence[Example], predictions: Sequence[Prediction]) -> Scores:
    """Intent, fallback and sentiment figures of one set."""
    result = Scores(name=name)
    pairs = list(zip(examples, predictions, strict=True))
    scoped = [(e, p) for e, p in pairs if e.clear and e.intent in SCHEMA_INTENTS]
    others = [(e, p) for e, p in pairs if e.clear and e.intent in OUT_OF_SCOPE_LABELS]
    result.in_scope, result.other = len(scoped), len(others)
    if scoped:
        result.accuracy = sum(e.intent == p.intent for e, p in scoped) / len(scoped)
        result.in_scope_fallback = sum(p.intent == FALLBACK for _, p in scoped) / len(scoped)
        result.per_intent = per_intent(scoped)
        result.macro_f1 = statistics.fmean(v["f1"] for v in result.per_intent.values())
        wrong = Counter((e.intent, p.intent) for e, p in scoped if e.intent != p.intent)
        result.confusions = [(gold, pred, n) for (gold, pred), n in wrong.most_common(12)]
    if others:
        result.other_fallback = sum(p.intent == FALLBACK for _, p in others) / len(others)
    negativity = [-p.sentiment_score for _, p in pairs]
    result.neg_auc = roc_auc([e.sentiment == "neg" for e, _ in pairs], negativity)
    result.escalate_auc = roc_auc([e.escalate for e, _ in pairs], negativity)
    return result


def per_intent(pairs: Sequence[tuple[Example, Prediction]]) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support of every gold intent (macro over gold labels)."""
    table = {}
    for intent in sorted({e.intent for e, _ in pairs}):
        tp = sum(1 for e, p in pairs if e.intent == intent and p.intent == intent)
        predicted = sum(1 for _, p in pairs if p.intent == intent)
        support = sum(1 for e, _ in pairs if e.intent == intent)
        precision = tp / predicted if predicted else 0.0
        recall = tp / support
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        table[intent] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    return table


class Parser:
    """The trained model's NLU, loaded once."""

    def __init__(self, model: Path) -> None:
        from rasa.core.agent import Agent

        self._agent = Agent.load(str(model))

    async def parse(self, text: str) -> Prediction:
        """Parse one message, timing it."""
        started = time.perf_counter()
        parsed = await self._agent.parse_message(text)
        seconds = time.perf_counter() - started
        intent = parsed.get("intent") or {}
        sentiment = parsed.get("sentiment") or {}
        selector = parsed.get("response_selector") or {}
        chosen = selector.get("default", {}) if isinstance(selector, dict) else {}
        key = (chosen.get("response") or {}).get("intent_response_key")
        ranked = [
            item
            for item in parsed.get("intent_ranking") or []
            if item.get("name") and item["name"] != FALLBACK
        ]
        best = ranked[0] if ranked else intent
        classified = str(best.get("name") or FALLBACK)
        predicted = str(intent.get("name") or FALLBACK)
        return Prediction(
            intent=FALLBACK if predicted in OUTSIDE_SCHEMA else predicted,
            confidence=float(intent.get("confidence") or 0.0),
            sentiment_score=float(sentiment.get("score") or 0.0),
            seconds=seconds,
            response_key=key,
            classified=FALLBACK if classified in OUT_OF_SCOPE_LABELS else classified,
            classified_confidence=float(best.get("confidence") or 0.0),
        )

    async def parse_all(self, texts: Iterable[str]) -> list[Prediction]:
        """Parse messages one after another, as a server would."""
        return [await self.parse(text) for text in texts]


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) of values, nearest rank."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[rank]


def _fmt(value: float, digits: int = 3) -> str:
    return "-" if value != value else f"{value:.{digits}f}"


def with_threshold(predictions: Sequence[Prediction], threshold: float) -> list[Prediction]:
    """The predictions a FallbackClassifier at `threshold` would have made."""
    return [
        replace(
            p,
            intent=p.classified if p.classified_confidence >= threshold else FALLBACK,
            confidence=p.classified_confidence,
        )
        for p in predictions
    ]


def sweep(
    examples: Sequence[Example], predictions: Sequence[Prediction], thresholds: Sequence[float]
) -> str:
    """Accuracy and fallback rates of the tune half at each fallback threshold."""
    tune = [(e, p) for e, p in zip(examples, predictions, strict=True) if half(e.id) == "tune"]
    lines = [
        "fallback threshold sweep, tune half (accuracy / macro-F1 / other->fallback / "
        "in-scope->fallback):"
    ]
    for threshold in thresholds:
        result = score(
            f"{threshold:.2f}",
            [e for e, _ in tune],
            with_threshold([p for _, p in tune], threshold),
        )
        lines.append(
            f"  {threshold:.2f}: {_fmt(result.accuracy)} / {_fmt(result.macro_f1)} / "
            f"{_fmt(result.other_fallback)} / {_fmt(result.in_scope_fallback)}"
        )
    return "\n".join(lines)


def table(columns: Sequence[Scores]) -> str:
    """The summary table, one column per set."""
    rows: list[tuple[str, list[str]]] = [
        ("clear in-scope messages", [str(c.in_scope) for c in columns]),
        ("intent accuracy (target >= 0.88)", [_fmt(c.accuracy) for c in columns]),
        ("intent macro-F1 (target >= 0.80)", [_fmt(c.macro_f1) for c in columns]),
        ("clear other messages", [str(c.other) for c in columns]),
        ("other -> nlu_fallback (target >= 0.70)", [_fmt(c.other_fallback) for c in columns]),
        ("in-scope -> nlu_fallback (target <= 0.05)", [_fmt(c.in_scope_fallback) for c in columns]),
        ("sentiment ROC AUC, neg (target >= 0.85)", [_fmt(c.neg_auc) for c in columns]),
        ("sentiment ROC AUC, escalate (target >= 0.92)", [_fmt(c.escalate_auc) for c in columns]),
    ]
    width = max(len(label) for label, _ in rows) + 2
    header = " " * width + "".join(f"{c.name:>14}" for c in columns)
    lines = [header]
    for label, values in rows:
        lines.append(f"{label:<{width}}" + "".join(f"{v:>14}" for v in values))
    return "\n".join(lines)


def intent_table(scores: Scores) -> str:
    """Per-intent precision, recall, F1 and support."""
    lines = [f"{'intent':<18}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}"]
    for intent, v in scores.per_intent.items():
        lines.append(
            f"{intent:<18}{v['precision']:>10.3f}{v['recall']:>10.3f}{v['f1']:>10.3f}"
            f"{int(v['support']):>9}"
        )
    return "\n".join(lines)


def _quiet_rasa() -> None:
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    import warnings

    # Sanic turns deprecation warnings back on ("once") when it is imported: import it first.
    import sanic  # noqa: F401
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.ERROR)
    configure_structlog(logging.ERROR)
    warnings.filterwarnings("ignore")
    # Jieba logs its dictionary loading at debug level through a handler of its own.
    import jieba

    jieba.setLogLevel(logging.WARNING)


async def evaluate(model: Path, dev: Sequence[Example]) -> dict[str, Any]:
    """Parse both sets and compute every figure."""
    parser = Parser(model)
    own = read_own_test_set()
    # Warm up the graph (first parses build lazy state) before timing anything.
    for text in ("你好", "多少钱", "退货"):
        await parser.parse(text)
    dev_predictions = await parser.parse_all(e.text for e in dev)
    own_predictions = await parser.parse_all(e.text for e in own)
    by_half = {
        name: [(e, p) for e, p in zip(dev, dev_predictions, strict=True) if half(e.id) == name]
        for name in ("tune", "check")
    }
    columns = [
        score("real: all", dev, dev_predictions),
        *(
            score(f"real: {name}", [e for e, _ in pairs], [p for _, p in pairs])
            for name, pairs in by_half.items()
        ),
        score("own test set", own, own_predictions),
    ]
    latencies = [p.seconds * 1000 for p in dev_predictions + own_predictions]
    return {
        "model": str(model),
        "columns": columns,
        "latency_ms": {"p50": percentile(latencies, 50), "p95": percentile(latencies, 95)},
        "dev": list(zip(dev, dev_predictions, strict=True)),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Print the real-chat report; exit 0 without the shared data."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--dev-set", type=Path, default=DEV_SET)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--errors", type=Path, help="write the misread dev rows (tune half) here")
    parser.add_argument(
        "--sweep",
        default="",
        metavar="T1,T2,...",
        help="also print the tune half's figures at these fallback thresholds",
    )
    args = parser.parse_args(argv)

    dev = read_dev_set(args.dev_set)
    if dev is None:
        print(f"eval-real: skipped, no real dev set at {args.dev_set}")
        return 0
    if not args.model.is_file():
        print(f"eval-real: no trained model at {args.model}; run `make train` first")
        return 1
    _quiet_rasa()
    # The model names the project's custom components (components.sentiment, ...).
    sys.path.insert(0, str(ROOT))
    report = asyncio.run(evaluate(args.model, dev))
    columns: list[Scores] = report["columns"]
    print(f"Model: {args.model}")
    print(table(columns))
    latency = report["latency_ms"]
    print(
        f"parse latency (one message at a time, {len(report['dev'])} + own set): "
        f"p50 {latency['p50']:.1f} ms, p95 {latency['p95']:.1f} ms (target p50 <= 20 ms)"
    )
    print("\nPer intent, real clear in-scope messages:")
    print(intent_table(columns[0]))
    print("\nMost frequent confusions (gold -> predicted), real:")
    for gold, pred, n in columns[0].confusions:
        print(f"  {gold:>18} -> {pred:<18} {n}")
    print("\nMost frequent confusions, own test set:")
    for gold, pred, n in columns[-1].confusions[:6]:
        print(f"  {gold:>18} -> {pred:<18} {n}")
    if args.sweep:
        thresholds = [float(part) for part in args.sweep.split(",") if part.strip()]
        dev_pairs = report["dev"]
        print()
        print(sweep([e for e, _ in dev_pairs], [p for _, p in dev_pairs], thresholds))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "model": report["model"],
            "latency_ms": latency,
            "columns": [asdict(c) for c in columns],
        }
        args.json.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    if args.errors:
        args.errors.parent.mkdir(parents=True, exist_ok=True)
        with args.errors.open("w", encoding="utf-8") as handle:
            for example, prediction in report["dev"]:
                if half(example.id) != "tune" or not example.clear:
                    continue
                gold = FALLBACK if example.intent in OUT_OF_SCOPE_LABELS else example.intent
                if gold != prediction.intent:
                    handle.write(
                        f"{example.id}\t{example.intent}\t{prediction.intent}\t"
                        f"{prediction.confidence:.2f}\t{example.text}\n"
                    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
