"""Report messages the classifier recognised as out of scope as `nlu_fallback`.

The intent schema has one name for "not something this assistant handles": `nlu_fallback`.
Rasa's FallbackClassifier only produces it when the classifier is unsure, but a confident
classifier trained on in-scope data alone maps 今天天气怎么样 onto the nearest in-scope intent.
So the training data teaches an explicit `out_of_scope` class (weather, jokes, homework...),
and this component, placed after the classifiers, reports it under the schema's name, so
rules, stories and conversations only ever see `nlu_fallback`.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
)
from rasa.shared.nlu.training_data.message import Message


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class OutOfScopeAsFallback(GraphComponent):
    """Report the trained out-of-scope intent as `nlu_fallback`."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """The name of the out-of-scope intent in the training data."""
        return {"intent": "out_of_scope"}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> OutOfScopeAsFallback:
        """Build the component from its config."""
        return cls(config)

    def __init__(self, config: dict[str, Any]) -> None:
        self._intent = str(config["intent"])

    def process(self, messages: list[Message]) -> list[Message]:
        """Put `nlu_fallback` on top when the classifier chose the out-of-scope intent.

        Like Rasa's FallbackClassifier, the classifier's own ranking stays below it, so
        `rasa test nlu` (which undoes fallback predictions) still scores the trained class.
        """
        for message in messages:
            intent = message.data.get(INTENT) or {}
            if intent.get(INTENT_NAME_KEY) != self._intent:
                continue
            fallback = {
                INTENT_NAME_KEY: DEFAULT_NLU_FALLBACK_INTENT_NAME,
                PREDICTED_CONFIDENCE_KEY: intent.get(PREDICTED_CONFIDENCE_KEY, 1.0),
            }
            message.data[INTENT] = fallback
            ranking = message.data.get(INTENT_RANKING_KEY) or [intent]
            message.data[INTENT_RANKING_KEY] = [fallback, *ranking]
        return messages
