"""Decide when a person should take over the conversation, from sentiment and dialogue state.

This module is where every decision to hand a conversation to a person is made. Recording
the handoff is the mall's (`POST /handoffs`, `mall/services/handoffs.py`, called by
`actions/handoff.py`); serving it to agents is the desk's (`desk/console.py`, which speaks in
the conversation through `channels/handoff.py`).

A dialogue policy with a priority above the rules: on a customer message it predicts
`action_handoff` (with the reason in the `handoff_reason` slot) when any configured trigger
fires, and otherwise predicts nothing, so rules and memoization decide as usual. Every
trigger reads what the tracker already keeps: the sentiment each message's parse data carries
(components/sentiment.py), the intent, and the actions that ran.

Triggers (each can be switched off in config.yml):
- `angry_score`: one message scored at or below it;
- `negative_streak` messages in a row at or below `negative_score`;
- a `complaint` at or below `complaint_score`;
- `request_human` (the customer asks for a person);
- `fallbacks_in_a_row` misunderstood messages in a row.

Only messages since the last hand-back count, so a resumed conversation starts fresh.
While the assistant is taking a message for an offline team (slot `handoff_status` is
`leave_message`), the next message goes to `action_leave_message`.

Two triggers cannot be a prediction of this policy because the assistant itself is failing;
both hand over with the reason `service_failure`:
- the mall keeps failing: the action server's circuit breaker is open (`actions/base.py`
  follows up with `action_handoff`);
- the assistant fell silent: `silence_calls_for_a_person` below, which the channels' safety
  net (`channels/safety.py`) asks when a message got no reply at all.
"""

from __future__ import annotations

from typing import Any

from rasa.core.policies.policy import PolicyPrediction
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    ConversationResumed,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import InvalidConfigException

from components.configured_policy import ConfiguredPolicy

# Why a conversation went to a person (the mall and the desk show these codes).
REASONS = (
    "customer_asked",
    "angry",
    "angry_complaint",
    "persistent_negativity",
    "not_understood",
    "service_failure",
)
SERVICE_FAILURE = "service_failure"
# Messages in a row without any reply before a person takes over (the first gets an apology).
SILENT_TURNS_BEFORE_HANDOFF = 2

ACTION_HANDOFF = "action_handoff"
ACTION_LEAVE_MESSAGE = "action_leave_message"
REASON_SLOT = "handoff_reason"
STATUS_SLOT = "handoff_status"
LEAVE_MESSAGE = "leave_message"

# Events after which earlier messages no longer count towards a handoff.
_FRESH_START = (ConversationResumed, Restarted, SessionStarted)


def sentiment_score(message: UserUttered) -> float | None:
    """The sentiment score the NLU pipeline put into the message's parse data, if any."""
    sentiment = (message.parse_data or {}).get("sentiment")
    if isinstance(sentiment, dict):
        score = sentiment.get("score")
        if isinstance(score, int | float):
            return float(score)
    return None


def silent_turns(events: list[Any]) -> int:
    """How many of the customer's latest messages in a row got no reply at all."""
    count = 0
    for event in reversed(events):
        if isinstance(event, BotUttered):
            break
        if isinstance(event, UserUttered):
            count += 1
    return count


def silence_calls_for_a_person(events: list[Any]) -> bool:
    """Whether the assistant has now failed to answer often enough that a person must."""
    return silent_turns(events) >= SILENT_TURNS_BEFORE_HANDOFF


def recent_messages(tracker: DialogueStateTracker) -> list[UserUttered]:
    """The customer's messages since the last handoff or hand-back, oldest first."""
    messages: list[UserUttered] = []
    for event in reversed(tracker.events):
        if isinstance(event, _FRESH_START):
            break
        if isinstance(event, ActionExecuted) and event.action_name == ACTION_HANDOFF:
            break
        if isinstance(event, UserUttered):
            messages.append(event)
    messages.reverse()
    return messages


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT], is_trainable=True
)
class HandoffPolicy(ConfiguredPolicy):
    """Hand the conversation to a person when the customer is angry, stuck or asks for one."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Thresholds on the sentiment score (-1 very negative .. 1 very positive)."""
        return {
            # Above the RulePolicy (4): a trigger overrides whatever the rules would say.
            "priority": 5,
            "angry_score": -0.7,
            "negative_score": -0.5,
            "negative_streak": 3,
            "complaint_intent": "complaint",
            "complaint_score": -0.65,
            "request_human_intent": "request_human",
            "fallbacks_in_a_row": 2,
        }

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        featurizer: Any = None,
    ) -> None:
        super().__init__(config, model_storage, resource, execution_context, featurizer)
        self._check_config(config)

    @staticmethod
    def _check_config(config: dict[str, Any]) -> None:
        for key in ("angry_score", "negative_score", "complaint_score"):
            value = config.get(key)
            if value is not None and not -1.0 <= float(value) <= 1.0:
                raise InvalidConfigException(f"HandoffPolicy: {key} must be in [-1, 1]")
        for key in ("negative_streak", "fallbacks_in_a_row"):
            value = config.get(key)
            if value is not None and (not isinstance(value, int) or value < 0):
                raise InvalidConfigException(
                    f"HandoffPolicy: {key} must be a whole number >= 0 (0 switches it off)"
                )

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        """`action_handoff` when a trigger fires on the customer's latest message."""
        probabilities = self._default_predictions(domain)
        latest_action = tracker.latest_action_name
        if latest_action in (ACTION_HANDOFF, ACTION_LEAVE_MESSAGE):
            # Our own actions end the assistant's turn.
            return self._predict(probabilities, domain, ACTION_LISTEN_NAME)
        if latest_action != ACTION_LISTEN_NAME or not isinstance(
            tracker.latest_message, UserUttered
        ):
            return self._prediction(probabilities)
        if tracker.get_slot(STATUS_SLOT) == LEAVE_MESSAGE:
            return self._predict(probabilities, domain, ACTION_LEAVE_MESSAGE)
        reason = self.handoff_reason(tracker)
        if reason is None:
            return self._prediction(probabilities)
        return self._predict(
            probabilities, domain, ACTION_HANDOFF, events=[SlotSet(REASON_SLOT, reason)]
        )

    def _predict(
        self,
        probabilities: list[float],
        domain: Domain,
        action: str,
        events: list[Any] | None = None,
    ) -> PolicyPrediction:
        if action not in domain.action_names_or_texts:
            # A domain without the handoff actions: stay out of the way.
            return self._prediction(probabilities)
        probabilities[domain.index_for_action(action)] = 1.0
        return self._prediction(probabilities, optional_events=events)

    def handoff_reason(self, tracker: DialogueStateTracker) -> str | None:
        """Why the latest message should go to a person, or None."""
        messages = recent_messages(tracker)
        if not messages:
            return None
        latest = messages[-1]
        intent = (latest.intent or {}).get("name")
        score = sentiment_score(latest)
        config = self.config
        if config.get("request_human_intent") and intent == config["request_human_intent"]:
            return "customer_asked"
        angry = config.get("angry_score")
        if angry is not None and score is not None and score <= float(angry):
            return "angry"
        if (
            config.get("complaint_intent")
            and intent == config["complaint_intent"]
            and config.get("complaint_score") is not None
            and score is not None
            and score <= float(config["complaint_score"])
        ):
            return "angry_complaint"
        streak = int(config.get("negative_streak") or 0)
        if streak and config.get("negative_score") is not None and len(messages) >= streak:
            scores = [sentiment_score(message) for message in messages[-streak:]]
            limit = float(config["negative_score"])
            if all(value is not None and value <= limit for value in scores):
                return "persistent_negativity"
        fallbacks = int(config.get("fallbacks_in_a_row") or 0)
        if fallbacks and len(messages) >= fallbacks:
            names = [(message.intent or {}).get("name") for message in messages[-fallbacks:]]
            if all(name == DEFAULT_NLU_FALLBACK_INTENT_NAME for name in names):
                return "not_understood"
        return None
