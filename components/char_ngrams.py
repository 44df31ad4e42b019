"""A text classifier over TF-IDF character n-grams, stored as plain arrays.

The intent classifier, the topic selector and the second-request detector all read chat the
same way: the canonical text (placeholders by kind, components/placeholders.py), sublinear
TF-IDF character 1-3-grams (Chinese needs no tokens for them, so typos and unseen compounds
still share n-grams), and one-vs-rest logistic regression (liblinear: seconds on thousands of
examples). The fitted model is kept as JSON and NumPy arrays, so loading a model runs no code.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from components.placeholders import canonical

# sklearn's char analyzer folds every run of whitespace into one space before cutting n-grams.
_WHITESPACE = re.compile(r"\s\s+")


def _vectorizer(ngrams: tuple[int, int], vocabulary: dict[str, int] | None = None) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        analyzer="char",
        ngram_range=ngrams,
        sublinear_tf=True,
        lowercase=True,
        vocabulary=vocabulary,
        dtype=np.float32,
    )


class CharNgramModel:
    """Labels for texts: fit once, then probabilities for any text."""

    def __init__(
        self,
        *,
        labels: list[str],
        ngrams: tuple[int, int],
        vocabulary: dict[str, int],
        idf: np.ndarray,
        weights: np.ndarray,
        intercepts: np.ndarray,
    ) -> None:
        self.labels = labels
        self.ngrams = ngrams
        self._vocabulary = vocabulary
        self._idf = idf.astype(np.float32)
        self._weights = weights.astype(np.float32)
        self._intercepts = intercepts.astype(np.float64)
        self._vectorizer = _vectorizer(ngrams, vocabulary)
        self._vectorizer.idf_ = self._idf

    @classmethod
    def fit(
        cls,
        texts: Sequence[str],
        labels: Sequence[str],
        *,
        C: float,
        ngrams: tuple[int, int] = (1, 3),
        seed: int = 42,
    ) -> CharNgramModel:
        """Fit on labelled texts (at least two distinct labels)."""
        from sklearn.linear_model import LogisticRegression

        if len(set(labels)) < 2:
            raise ValueError("a classifier needs at least two labels")
        vectorizer = _vectorizer(ngrams)
        features = vectorizer.fit_transform([canonical(text) for text in texts])
        model = LogisticRegression(C=C, solver="liblinear", max_iter=1000, random_state=seed)
        model.fit(features, list(labels))
        return cls(
            labels=[str(label) for label in model.classes_],
            ngrams=ngrams,
            vocabulary={str(k): int(v) for k, v in vectorizer.vocabulary_.items()},
            idf=vectorizer.idf_,
            weights=model.coef_.T,
            intercepts=model.intercept_,
        )

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """The probability of every label for each text (rows sum to 1).

        One-vs-rest as sklearn does it: each label's own logistic probability, normalised.
        """
        if len(texts) == 1:
            logits = self._logits_of_one(texts[0])[np.newaxis, :]
        else:
            features = self._vectorizer.transform([canonical(text) for text in texts])
            logits = np.asarray(features @ self._weights, dtype=np.float64) + self._intercepts
        if logits.shape[1] == 1:
            # Two labels: sklearn fits one column, the log-odds of the second.
            logits = np.hstack([-logits, logits])
        scores = 1.0 / (1.0 + np.exp(-logits))
        return np.asarray(scores / scores.sum(axis=1, keepdims=True))

    def _logits_of_one(self, text: str) -> np.ndarray:
        """The logits of one text, as `TfidfVectorizer.transform` and the product give them.

        A message is parsed alone, and sklearn's transform of one short text spends most of
        its time building and checking sparse matrices (about 0.8 ms, several times a
        turn): the same sublinear TF-IDF, L2-normalised, from a dictionary look-up per
        n-gram and the weight rows of the n-grams found.
        """
        document = _WHITESPACE.sub(" ", canonical(text).lower())
        vocabulary = self._vocabulary
        counts: Counter[int] = Counter()
        low, high = self.ngrams
        for size in range(low, min(high, len(document)) + 1):
            for start in range(len(document) - size + 1):
                column = vocabulary.get(document[start : start + size])
                if column is not None:
                    counts[column] += 1
        if not counts:
            return self._intercepts.copy()
        columns = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        tf = np.fromiter(
            (1.0 + math.log(n) for n in counts.values()), dtype=np.float32, count=len(counts)
        )
        values = tf * self._idf[columns]
        values /= np.float32(np.sqrt(np.dot(values, values)))
        return np.asarray(values @ self._weights[columns], dtype=np.float64) + self._intercepts

    def ranking(self, text: str, limit: int | None = None) -> list[tuple[str, float]]:
        """(label, probability) for one text, most likely first."""
        row = self.probabilities([text])[0]
        order = np.argsort(-row)[: limit or len(self.labels)]
        return [(self.labels[i], float(row[i])) for i in order]

    def save(self, folder: Path, name: str) -> None:
        """Write `<name>.json` and `<name>.npz` into a folder."""
        np.savez_compressed(
            folder / f"{name}.npz",
            idf=self._idf,
            weights=self._weights,
            intercepts=self._intercepts,
        )
        meta = {"labels": self.labels, "ngrams": list(self.ngrams), "vocabulary": self._vocabulary}
        (folder / f"{name}.json").write_text(json.dumps(meta, ensure_ascii=False), "utf-8")

    @classmethod
    def load(cls, folder: Path, name: str) -> CharNgramModel:
        """Read what `save` wrote; FileNotFoundError when it is not there."""
        meta = json.loads((folder / f"{name}.json").read_text("utf-8"))
        with np.load(folder / f"{name}.npz") as arrays:
            return cls(
                labels=[str(label) for label in meta["labels"]],
                ngrams=(int(meta["ngrams"][0]), int(meta["ngrams"][1])),
                vocabulary={str(k): int(v) for k, v in meta["vocabulary"].items()},
                idf=arrays["idf"],
                weights=arrays["weights"],
                intercepts=arrays["intercepts"],
            )
