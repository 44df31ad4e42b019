"""The customer's language (`language` slot: zh or en), kept up to date inside Rasa.

Domain responses pick their English variation by a condition on the `language` slot, so the
slot has to follow the customer before the turn's first response. `LanguagePolicy` sets it
on the first prediction after each customer message, as one of the events a policy may ask
for (Rasa applies them whichever policy wins), from the message itself (components/language.py:
the script the sentiment component reports; a message without words takes the page's
`metadata.language` or keeps the slot). Deciding it here costs no call to the action server.
"""

from __future__ import annotations

from typing import Any

from rasa.core.policies.policy import PolicyPrediction
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from components.configured_policy import ConfiguredPolicy
from components.language import SLOT, parse_language


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT], is_trainable=True
)
class LanguagePolicy(ConfiguredPolicy):
    """Sets the `language` slot from each customer message; never predicts an action."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """The lowest priority: it never competes for the next action."""
        return {"priority": 0}

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        """No action; on a new customer message, the slot change when it has one."""
        probabilities = self._default_predictions(domain)
        events = self.language_events(tracker, domain)
        return self._prediction(probabilities, events=events)

    @staticmethod
    def language_events(tracker: DialogueStateTracker, domain: Domain) -> list[SlotSet]:
        """`SlotSet(language)` when the latest message changes it, else nothing."""
        message = tracker.latest_message
        if tracker.latest_action_name != ACTION_LISTEN_NAME or not isinstance(message, UserUttered):
            return []
        if SLOT not in {slot.name for slot in domain.slots}:
            return []
        language = parse_language(message.parse_data, message.metadata)
        if language is None or language == tracker.get_slot(SLOT):
            return []
        return [SlotSet(SLOT, language)]
