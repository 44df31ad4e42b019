"""Choose the answer topic of a retrieval intent (`return_refund/progress`), fast.

Five intents carry topics (data/nlu: `- intent: return_refund/progress`), each answered by the
domain response `utter_<intent>/<topic>`: Rasa's retrieval intents. Rasa's ResponseSelector
chooses the topic with a DIET network; on this data it took about 50 s per epoch on 2 cores
(40 epochs: over half an hour), so this component does the same job with one logistic
regression per retrieval intent over TF-IDF character n-grams (seconds to train), and writes its
answer where Rasa puts the ResponseSelector's, in the same shape:

    parse_data["response_selector"] = {
        "all_retrieval_intents": ["return_refund", ...],
        "default": {"response": {"intent_response_key": "return_refund/progress",
                                 "utter_action": "utter_return_refund/progress",
                                 "confidence": 0.93},
                    "ranking": [{"intent_response_key": ..., "confidence": ...}, ...]}}

The ranking holds the best topics of every retrieval intent (`ranking_per_intent` each), each
with its probability given its intent, so an action can pick the best topic of the intent that
was classified. The response texts stay in the domain: the tracker keeps every parse, and
they would only make it longer.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.placeholders import canonical

RESPONSE_SELECTOR = "response_selector"
DEFAULT_SELECTOR = "default"
_WEIGHTS_FILE = "topic_selector.npz"
_META_FILE = "topic_selector.json"


def _vectorizer(config: dict[str, Any], vocabulary: dict[str, int] | None = None) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        analyzer="char",
        ngram_range=(int(config["min_ngram"]), int(config["max_ngram"])),
        sublinear_tf=True,
        lowercase=True,
        vocabulary=vocabulary,
        dtype=np.float32,
    )


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class CharNgramResponseSelector(GraphComponent):
    """One logistic regression per retrieval intent, over TF-IDF character n-grams."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """N-gram range and regularisation."""
        return {"min_ngram": 1, "max_ngram": 3, "C": 30.0, "ranking_per_intent": 3}

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        """Refuse settings that cannot work."""
        full = {**cls.get_default_config(), **config}
        if not 1 <= int(full["min_ngram"]) <= int(full["max_ngram"]) or float(full["C"]) <= 0:
            raise InvalidConfigException(
                "CharNgramResponseSelector needs 1 <= min_ngram <= max_ngram and C > 0."
            )

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> CharNgramResponseSelector:
        """Build an untrained selector."""
        cls.validate_config(config)
        return cls({**cls.get_default_config(), **config}, model_storage, resource)

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        state: dict[str, Any] | None = None,
    ) -> None:
        self._config = config
        self._storage = model_storage
        self._resource = resource
        # intent -> (topic keys, weights, intercepts), and the shared vectorizer.
        self._heads: dict[str, tuple[list[str], np.ndarray, np.ndarray]] = {}
        self._vectorizer: Any = None
        if state is not None:
            self._restore(state)

    def train(self, training_data: TrainingData) -> Resource:
        """Fit one topic model per retrieval intent on its examples."""
        from sklearn.linear_model import LogisticRegression

        examples = [
            m for m in training_data.intent_examples if m.get(TEXT) and m.get("intent_response_key")
        ]
        if not examples:
            return self._resource
        vectorizer = _vectorizer(self._config)
        features = vectorizer.fit_transform([canonical(m.get(TEXT)) for m in examples])
        intents = np.array([str(m.get(INTENT)) for m in examples])
        keys = np.array([str(m.get("intent_response_key")) for m in examples])
        arrays: dict[str, np.ndarray] = {"idf": vectorizer.idf_.astype(np.float32)}
        heads: dict[str, list[str]] = {}
        for intent in sorted(set(intents)):
            rows = np.flatnonzero(intents == intent)
            topics = sorted(set(keys[rows]))
            if len(topics) == 1:
                weights = np.zeros((features.shape[1], 1), dtype=np.float32)
                intercepts = np.zeros(1)
            else:
                model = LogisticRegression(
                    C=float(self._config["C"]), solver="liblinear", max_iter=1000
                )
                model.fit(features[rows], keys[rows])
                topics = [str(t) for t in model.classes_]
                weights = model.coef_.T.astype(np.float32)
                intercepts = model.intercept_.astype(np.float64)
            heads[intent] = topics
            arrays[f"w:{intent}"] = weights
            arrays[f"b:{intent}"] = intercepts
        meta = {
            "vocabulary": {str(k): int(v) for k, v in vectorizer.vocabulary_.items()},
            "heads": heads,
        }
        with self._storage.write_to(self._resource) as folder:
            np.savez_compressed(folder / _WEIGHTS_FILE, **arrays)
            (folder / _META_FILE).write_text(json.dumps(meta, ensure_ascii=False), "utf-8")
        self._restore({"meta": meta, "arrays": arrays})
        return self._resource

    def _restore(self, state: dict[str, Any]) -> None:
        meta, arrays = state["meta"], state["arrays"]
        self._vectorizer = _vectorizer(self._config, meta["vocabulary"])
        self._vectorizer.idf_ = arrays["idf"]
        self._heads = {
            intent: (list(topics), arrays[f"w:{intent}"], arrays[f"b:{intent}"])
            for intent, topics in meta["heads"].items()
        }

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> CharNgramResponseSelector:
        """Load the trained topic models (an untrained selector selects nothing)."""
        full = {**cls.get_default_config(), **config}
        try:
            with model_storage.read_from(resource) as folder:
                meta = json.loads((folder / _META_FILE).read_text("utf-8"))
                with np.load(folder / _WEIGHTS_FILE) as stored:
                    arrays = {name: stored[name] for name in stored.files}
        except (ValueError, FileNotFoundError):
            return cls(full, model_storage, resource)
        return cls(full, model_storage, resource, {"meta": meta, "arrays": arrays})

    def topic_ranking(self, text: str) -> list[dict[str, Any]]:
        """Every topic of every retrieval intent, with its probability given its intent."""
        row = self._vectorizer.transform([canonical(text)])
        ranking: list[dict[str, Any]] = []
        for topics, weights, intercepts in self._heads.values():
            if len(topics) == 1:
                probabilities = np.ones(1)
            else:
                logits = np.asarray(row @ weights, dtype=np.float64)[0] + intercepts
                if len(topics) == 2:
                    logits = np.array([-logits[0], logits[0]])
                # One-vs-rest (liblinear), normalised as sklearn does.
                scores = 1.0 / (1.0 + np.exp(-logits))
                probabilities = scores / scores.sum()
            best = np.argsort(-probabilities)[: int(self._config["ranking_per_intent"])]
            ranking.extend(
                {"intent_response_key": topics[i], "confidence": round(float(probabilities[i]), 4)}
                for i in best
            )
        return sorted(ranking, key=lambda item: -item["confidence"])

    def process(self, messages: list[Message]) -> list[Message]:
        """Write the topic ranking, and the chosen topic of the classified intent."""
        if self._vectorizer is None:
            return messages
        for message in messages:
            text = message.get(TEXT) or ""
            if not text or text.startswith("/"):
                continue
            ranking = self.topic_ranking(text)
            intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            chosen = next(
                (item for item in ranking if item["intent_response_key"].startswith(f"{intent}/")),
                ranking[0],
            )
            key = chosen["intent_response_key"]
            message.set(
                RESPONSE_SELECTOR,
                {
                    "all_retrieval_intents": sorted(self._heads),
                    DEFAULT_SELECTOR: {
                        "response": {
                            "intent_response_key": key,
                            "utter_action": f"utter_{key}",
                            "confidence": chosen["confidence"],
                        },
                        "ranking": ranking,
                    },
                },
                add_to_output=True,
            )
        return messages
