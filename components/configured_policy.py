"""A dialogue policy decided by its configuration alone: nothing learned, an empty resource.

The handoff policy (components/handoff_policy.py) and the language policy
(components/language_policy.py) read the tracker and their settings; Rasa still trains and
loads every policy of the pipeline, so this base gives them the training that stores nothing.
"""

from __future__ import annotations

from typing import Any

from rasa.core.policies.policy import Policy, SupportedData
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.generator import TrackerWithCachedStates


class ConfiguredPolicy(Policy):
    """A `Policy` with nothing to learn from stories or rules."""

    @staticmethod
    def supported_data() -> SupportedData:
        """Nothing is learned from stories or rules."""
        return SupportedData.ML_AND_RULE_DATA

    def train(
        self, training_trackers: list[TrackerWithCachedStates], domain: Domain, **kwargs: Any
    ) -> Resource:
        """Nothing to learn: the behaviour is configuration."""
        self.persist()
        return self._resource

    def persist(self) -> None:
        """Write an empty resource so that loading finds one."""
        with self._model_storage.write_to(self._resource):
            pass
