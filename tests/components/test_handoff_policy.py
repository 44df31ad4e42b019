"""When the handoff policy gives the conversation to a person, and when it stays out of the way."""

from __future__ import annotations

from typing import Any

import pytest
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ConversationResumed,
    Event,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import InvalidConfigException

from components.handoff_policy import HandoffPolicy

DOMAIN = Domain.load("domain.yml")


def make_policy(tmp_path: Any, **config: Any) -> HandoffPolicy:
    full = {**HandoffPolicy.get_default_config(), **config}
    return HandoffPolicy(
        full,
        LocalModelStorage(tmp_path),
        Resource("handoff"),
        ExecutionContext(graph_schema=None, model_id="test"),  # type: ignore[arg-type]
    )


def said(text: str, intent: str, score: float | None) -> list[Event]:
    parse: dict[str, Any] = {"intent": {"name": intent, "confidence": 0.9}, "entities": []}
    if score is not None:
        parse["sentiment"] = {"score": score, "label": "x", "language": "zh"}
    return [UserUttered(text, intent=parse["intent"], parse_data=parse)]


def answered(action: str = "action_order_status") -> list[Event]:
    return [ActionExecuted(action), ActionExecuted("action_listen")]


def predicted(policy: HandoffPolicy, *turns: list[Event]) -> tuple[str | None, list[Event]]:
    events: list[Event] = [ActionExecuted("action_listen")]
    for turn in turns:
        events.extend(turn)
    tracker = DialogueStateTracker.from_events("c1", events, DOMAIN.slots)
    prediction = policy.predict_action_probabilities(tracker, DOMAIN)
    if max(prediction.probabilities) == 0:
        return None, []
    action = DOMAIN.action_names_or_texts[prediction.max_confidence_index]
    return action, prediction.optional_events


def test_one_angry_message_hands_off_with_the_reason(tmp_path: Any) -> None:
    action, events = predicted(make_policy(tmp_path), said("什么垃圾客服", "complaint", -0.9))
    assert action == "action_handoff"
    assert events == [SlotSet("handoff_reason", "angry")]


def test_a_neutral_question_is_left_to_the_rules(tmp_path: Any) -> None:
    assert predicted(make_policy(tmp_path), said("快递到哪了", "ask_order_status", 0.0))[0] is None


def test_a_mild_complaint_is_left_to_the_rules(tmp_path: Any) -> None:
    policy = make_policy(tmp_path)
    assert predicted(policy, said("线头有点多", "complaint", -0.1))[0] is None
    # A calm defect report reads "negative" (about -0.6): the after-sales answer, no person.
    assert predicted(policy, said("收到就是坏的", "complaint", -0.62))[0] is None
    action, events = predicted(policy, said("质量太差了 太失望了", "complaint", -0.68))
    assert action == "action_handoff" and events == [SlotSet("handoff_reason", "angry_complaint")]


def test_negativity_that_persists_hands_off(tmp_path: Any) -> None:
    policy = make_policy(tmp_path)
    two = [
        said("说好今天到的 又没到", "ask_order_status", -0.55),
        answered(),
        said("都几天了 一点消息没有", "ask_order_status", -0.6),
        answered(),
    ]
    assert predicted(policy, *two, said("怎么这么慢", "ask_order_status", -0.3))[0] is None
    action, events = predicted(policy, *two, said("等了五天了 还是没有", "ask_order_status", -0.52))
    assert action == "action_handoff"
    assert events == [SlotSet("handoff_reason", "persistent_negativity")]


def test_request_human_and_repeated_misunderstanding(tmp_path: Any) -> None:
    policy = make_policy(tmp_path)
    _, events = predicted(policy, said("转人工", "request_human", None))
    assert events == [SlotSet("handoff_reason", "customer_asked")]
    first = said("asdf", "nlu_fallback", None)
    assert predicted(policy, first)[0] is None
    action, events = predicted(
        policy, first, answered("action_fallback"), said("qq", "nlu_fallback", None)
    )
    assert action == "action_handoff" and events == [SlotSet("handoff_reason", "not_understood")]


def test_a_resumed_conversation_starts_fresh(tmp_path: Any) -> None:
    policy = make_policy(tmp_path)
    before = [said("垃圾", "complaint", -0.9), [ActionExecuted("action_handoff")]]
    after = [[ConversationResumed(), ActionExecuted("action_listen")]]
    # Two negative messages before the hand-back and one after do not make a streak.
    action, _ = predicted(
        policy,
        said("烦死了", "complaint", -0.45),
        *before,
        said("还是不行", "ask_order_status", -0.45),
        *after,
        said("好吧 订单到哪了", "ask_order_status", -0.45),
    )
    assert action is None


def test_leave_message_state_records_the_next_message(tmp_path: Any) -> None:
    policy = make_policy(tmp_path)
    action, _ = predicted(
        policy,
        [SlotSet("handoff_status", "leave_message")],
        said("电话13812345678", "nlu_fallback", 0.0),
    )
    assert action == "action_leave_message"


def test_after_its_own_actions_it_listens(tmp_path: Any) -> None:
    policy = make_policy(tmp_path)
    action, _ = predicted(
        policy, said("人工", "request_human", None), [ActionExecuted("action_handoff")]
    )
    assert action == "action_listen"


def test_triggers_can_be_switched_off(tmp_path: Any) -> None:
    policy = make_policy(
        tmp_path,
        angry_score=None,
        complaint_score=None,
        request_human_intent=None,
        fallbacks_in_a_row=0,
        negative_streak=0,
    )
    assert predicted(policy, said("垃圾", "complaint", -1.0))[0] is None
    assert predicted(policy, said("人工", "request_human", None))[0] is None


def test_bad_config_is_refused(tmp_path: Any) -> None:
    with pytest.raises(InvalidConfigException):
        make_policy(tmp_path, angry_score=-3)
    with pytest.raises(InvalidConfigException):
        make_policy(tmp_path, negative_streak=-1)
