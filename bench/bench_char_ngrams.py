"""One message through the character n-gram classifier: sklearn's transform beside the direct path.

The intent classifier, the topic selector and the second-request detector each score every
customer message alone (components/char_ngrams.py). Fits one model on the project's NLU
examples, then times both ways of scoring the same messages one at a time, in one run:
    python bench/bench_char_ngrams.py [--messages 2000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from components.char_ngrams import CharNgramModel  # noqa: E402
from components.placeholders import canonical  # noqa: E402


def examples() -> tuple[list[str], list[str]]:
    """(text, intent) of every NLU example line (annotations left in: they are characters too)."""
    texts, labels = [], []
    for path in sorted((ROOT / "data" / "nlu").glob("*.yml")):
        intent = None
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if stripped.startswith("- intent:"):
                intent = stripped.split(":", 1)[1].strip().split("/")[0]
            elif stripped.startswith("- ") and intent and not stripped.startswith("- regex"):
                texts.append(stripped[2:])
                labels.append(intent)
    return texts, labels


def timed(score, texts: list[str]) -> list[float]:  # type: ignore[no-untyped-def]
    """Milliseconds per message."""
    out = []
    for text in texts:
        started = time.perf_counter()
        score(text)
        out.append((time.perf_counter() - started) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    args = parser.parse_args()
    texts, labels = examples()
    model = CharNgramModel.fit(texts, labels, C=10.0)
    probe = (texts * (args.messages // len(texts) + 1))[: args.messages]

    def through_sklearn(text: str) -> np.ndarray:
        features = model._vectorizer.transform([canonical(text)])
        return np.asarray(features @ model._weights) + model._intercepts

    def direct(text: str) -> np.ndarray:
        return model._logits_of_one(text)

    for text in probe[:200]:
        assert np.allclose(through_sklearn(text)[0], direct(text), atol=1e-4), text
    rows = [("sklearn transform (reference)", timed(through_sklearn, probe))]
    rows.append(("direct path", timed(direct, probe)))
    print(f"{len(texts)} training examples, {len(model.labels)} labels, {len(probe)} messages")
    reference = statistics.median(rows[0][1])
    for name, ms in rows:
        ms.sort()
        p50, p95 = statistics.median(ms), ms[int(0.95 * (len(ms) - 1))]
        print(f"{name:32s} p50 {p50:.3f} ms  p95 {p95:.3f} ms  ({p50 / reference:.2f}x)")


if __name__ == "__main__":
    main()
