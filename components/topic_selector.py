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

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.char_ngrams import CharNgramModel
from components.intent_classifier import check_ngram_config

RESPONSE_SELECTOR = "response_selector"
DEFAULT_SELECTOR = "default"
_META_FILE = "topic_selector.json"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class CharNgramResponseSelector(GraphComponent):
    """One logistic regression per retrieval intent, over TF-IDF character n-grams."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """N-gram range, regularisation, and how many topics per intent to rank."""
        return {"min_ngram": 1, "max_ngram": 3, "C": 30.0, "ranking_per_intent": 3}

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        """Refuse settings that cannot work."""
        check_ngram_config(cls.__name__, {**cls.get_default_config(), **config})

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
        heads: dict[str, CharNgramModel | str] | None = None,
    ) -> None:
        self._config = config
        self._storage = model_storage
        self._resource = resource
        # Retrieval intent -> its topic model, or its only topic.
        self._heads = heads or {}

    def train(self, training_data: TrainingData) -> Resource:
        """Fit one topic model per retrieval intent on its examples."""
        by_intent: dict[str, list[tuple[str, str]]] = {}
        for message in training_data.intent_examples:
            key = message.get("intent_response_key")
            if message.get(TEXT) and key:
                by_intent.setdefault(str(message.get(INTENT)), []).append((message.get(TEXT), key))
        heads: dict[str, CharNgramModel | str] = {}
        for intent, pairs in sorted(by_intent.items()):
            topics = {key for _, key in pairs}
            if len(topics) == 1:
                heads[intent] = next(iter(topics))
                continue
            heads[intent] = CharNgramModel.fit(
                [text for text, _ in pairs],
                [key for _, key in pairs],
                C=float(self._config["C"]),
                ngrams=(int(self._config["min_ngram"]), int(self._config["max_ngram"])),
            )
        self._heads = heads
        if heads:
            with self._storage.write_to(self._resource) as folder:
                single = {i: h for i, h in heads.items() if isinstance(h, str)}
                models = sorted(i for i, h in heads.items() if isinstance(h, CharNgramModel))
                for index, intent in enumerate(models):
                    head = heads[intent]
                    assert isinstance(head, CharNgramModel)
                    head.save(folder, f"topics_{index}")
                meta = {"models": models, "single": single}
                (folder / _META_FILE).write_text(json.dumps(meta, ensure_ascii=False), "utf-8")
        return self._resource

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
                heads: dict[str, CharNgramModel | str] = dict(meta["single"])
                for index, intent in enumerate(meta["models"]):
                    heads[intent] = CharNgramModel.load(folder, f"topics_{index}")
        except (ValueError, FileNotFoundError):
            return cls(full, model_storage, resource)
        return cls(full, model_storage, resource, heads)

    def topic_ranking(self, text: str) -> list[dict[str, Any]]:
        """The best topics of every retrieval intent, each with its probability given its
        intent, most likely first."""
        limit = int(self._config["ranking_per_intent"])
        ranking: list[dict[str, Any]] = []
        for head in self._heads.values():
            pairs = [(head, 1.0)] if isinstance(head, str) else head.ranking(text, limit)
            ranking.extend(
                {"intent_response_key": key, "confidence": round(confidence, 4)}
                for key, confidence in pairs
            )
        return sorted(ranking, key=lambda item: -item["confidence"])

    def process(self, messages: list[Message]) -> list[Message]:
        """Write the topic ranking, and the chosen topic of the classified intent."""
        if not self._heads:
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
