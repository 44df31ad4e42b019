"""Intent classification that holds up on real shop chat: character n-grams, TF-IDF, logistic
regression, with placeholders read by kind.

Measured on real customer-service chat (`make eval-real`, README), this beats DIET on the same
training data and trains in seconds instead of minutes: with a few thousand examples a linear
model over sublinear TF-IDF character 1-3-grams generalises better than a network over the same
sparse features, and its probabilities are better calibrated for the fallback threshold.
Chinese needs no tokens for it, so typos, dialect and unseen compounds still share n-grams.
Placeholders (`[数字x]`, `<num>`, `[ORDERID_...]`, links) are read as one symbol per kind
(components/placeholders.py), so a shop that masks data differently reads the same.

The output is the usual `intent` and `intent_ranking`, so FallbackClassifier and the
out-of-scope component work after it unchanged.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.placeholders import canonical

_WEIGHTS_FILE = "intent_classifier.npz"
_VOCABULARY_FILE = "intent_classifier.json"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class CharNgramIntentClassifier(IntentClassifier, GraphComponent):
    """Logistic regression over TF-IDF character n-grams of the canonical text."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """N-gram range, regularisation and how many intents to rank."""
        return {
            "min_ngram": 1,
            "max_ngram": 3,
            # Inverse L2 regularisation strength; chosen by measurement on real chat.
            "C": 30.0,
            # N-grams seen in fewer training examples than this are dropped.
            "min_df": 1,
            "ranking_length": 10,
            "random_seed": 42,
        }

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        """Refuse settings that cannot work."""
        full = {**cls.get_default_config(), **config}
        if not 1 <= int(full["min_ngram"]) <= int(full["max_ngram"]):
            raise InvalidConfigException(
                "CharNgramIntentClassifier needs 1 <= min_ngram <= max_ngram."
            )
        if float(full["C"]) <= 0:
            raise InvalidConfigException("CharNgramIntentClassifier needs C > 0.")

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> CharNgramIntentClassifier:
        """Build an untrained classifier."""
        cls.validate_config(config)
        return cls({**cls.get_default_config(), **config}, model_storage, resource)

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: _Model | None = None,
    ) -> None:
        self._config = config
        self._storage = model_storage
        self._resource = resource
        self._model = model

    def train(self, training_data: TrainingData) -> Resource:
        """Fit the vectorizer and the classifier on the intent examples."""
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        examples = [m for m in training_data.intent_examples if m.get(TEXT) and m.get(INTENT)]
        intents = sorted({str(m.get(INTENT)) for m in examples})
        if len(intents) < 2:
            # Nothing to tell apart: leave the message's intent to other classifiers.
            return self._resource
        vectorizer = TfidfVectorizer(
            analyzer="char",
            ngram_range=(int(self._config["min_ngram"]), int(self._config["max_ngram"])),
            sublinear_tf=True,
            min_df=int(self._config["min_df"]),
            lowercase=True,
            dtype=np.float32,
        )
        features = vectorizer.fit_transform([canonical(m.get(TEXT)) for m in examples])
        # One-vs-rest liblinear: about 3 s on 6,000 examples (the multinomial lbfgs fit takes
        # over a minute) and, measured on real chat, slightly more accurate.
        classifier = LogisticRegression(
            C=float(self._config["C"]),
            solver="liblinear",
            max_iter=1000,
            random_state=int(self._config["random_seed"]),
        )
        classifier.fit(features, [str(m.get(INTENT)) for m in examples])
        self._model = _Model(
            vocabulary={str(k): int(v) for k, v in vectorizer.vocabulary_.items()},
            idf=vectorizer.idf_.astype(np.float32),
            weights=classifier.coef_.T.astype(np.float32),
            intercepts=classifier.intercept_.astype(np.float64),
            intents=[str(c) for c in classifier.classes_],
            config=self._config,
        )
        with self._storage.write_to(self._resource) as folder:
            self._model.save(folder)
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> CharNgramIntentClassifier:
        """Load the trained classifier (an untrained one classifies nothing)."""
        full = {**cls.get_default_config(), **config}
        try:
            with model_storage.read_from(resource) as folder:
                model = _Model.load(folder, full)
        except (ValueError, FileNotFoundError):
            return cls(full, model_storage, resource)
        return cls(full, model_storage, resource, model)

    def process(self, messages: list[Message]) -> list[Message]:
        """Set `intent` and `intent_ranking` on every message."""
        if self._model is None:
            return messages
        model = self._model
        probabilities = model.probabilities([message.get(TEXT) or "" for message in messages])
        limit = int(self._config["ranking_length"]) or len(model.intents)
        for message, row in zip(messages, probabilities, strict=True):
            order = np.argsort(-row)[:limit]
            ranking = [{"name": model.intents[i], "confidence": float(row[i])} for i in order]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages


class _Model:
    """The fitted vocabulary, IDF weights and softmax regression, as plain arrays.

    Stored as JSON and NumPy files rather than a pickle, so loading a model runs no code.
    """

    def __init__(
        self,
        *,
        vocabulary: dict[str, int],
        idf: np.ndarray,
        weights: np.ndarray,
        intercepts: np.ndarray,
        intents: list[str],
        config: dict[str, Any],
    ) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.intents = intents
        self.weights = weights
        self.intercepts = intercepts
        self._vocabulary = vocabulary
        self._idf = idf
        self._vectorizer = TfidfVectorizer(
            analyzer="char",
            ngram_range=(int(config["min_ngram"]), int(config["max_ngram"])),
            sublinear_tf=True,
            lowercase=True,
            vocabulary=vocabulary,
            dtype=np.float32,
        )
        self._vectorizer.idf_ = idf

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """The probability of every intent for each text (rows sum to 1).

        One-vs-rest, as sklearn does it: each intent's own logistic probability, normalised.
        """
        features = self._vectorizer.transform([canonical(text) for text in texts])
        logits = np.asarray(features @ self.weights, dtype=np.float64) + self.intercepts
        if logits.shape[1] == 1:
            # Two intents: sklearn fits one column, the log-odds of the second.
            logits = np.hstack([-logits, logits])
        scores = 1.0 / (1.0 + np.exp(-logits))
        return scores / scores.sum(axis=1, keepdims=True)

    def save(self, folder: Any) -> None:
        """Write the arrays and the vocabulary to a folder."""
        np.savez_compressed(
            folder / _WEIGHTS_FILE, idf=self._idf, weights=self.weights, intercepts=self.intercepts
        )
        meta = {"intents": self.intents, "vocabulary": self._vocabulary}
        (folder / _VOCABULARY_FILE).write_text(json.dumps(meta, ensure_ascii=False), "utf-8")

    @classmethod
    def load(cls, folder: Any, config: dict[str, Any]) -> _Model:
        """Read what `save` wrote."""
        meta = json.loads((folder / _VOCABULARY_FILE).read_text("utf-8"))
        with np.load(folder / _WEIGHTS_FILE) as arrays:
            return cls(
                vocabulary={str(k): int(v) for k, v in meta["vocabulary"].items()},
                idf=arrays["idf"],
                weights=arrays["weights"],
                intercepts=arrays["intercepts"],
                intents=[str(i) for i in meta["intents"]],
                config=config,
            )
