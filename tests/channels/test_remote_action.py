"""Rasa's remote actions check the action server's answers with one validator per process."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from rasa.core.actions import action as rasa_action
from rasa.core.actions import forms as rasa_forms
from rasa.shared.core.domain import Domain
from rasa.utils.endpoints import EndpointConfig

import channels  # noqa: F401  (installs the subclass, as Rasa loading a channel does)
from channels.remote_action import CheckedOnceRemoteAction, response_validator

ANSWER: dict[str, Any] = {
    "events": [
        {"event": "slot", "name": "product_id", "value": "P1001", "timestamp": None},
        {"event": "followup", "name": "action_handoff"},
    ],
    "responses": [{"response": "utter_quote_price", "product": "耳机", "buttons": []}],
}


def test_rasa_builds_remote_actions_and_form_validations_from_the_subclass() -> None:
    domain = Domain.from_dict({"actions": ["action_quote_price"]})
    endpoint = EndpointConfig("http://127.0.0.1:1/webhook")
    built = rasa_action.action_for_name_or_text("action_quote_price", domain, endpoint)
    assert type(built) is CheckedOnceRemoteAction
    assert isinstance(built, rasa_action.Action)
    assert rasa_forms.RemoteAction is CheckedOnceRemoteAction


def test_valid_answers_pass_and_invalid_ones_are_refused_as_rasa_refuses_them() -> None:
    action = CheckedOnceRemoteAction("action_quote_price", None)
    assert action._validate_action_result(ANSWER) is True
    bad = {"events": [{"event": "slot", "name": 5}], "responses": []}
    with pytest.raises(jsonschema.ValidationError) as ours:
        action._validate_action_result(bad)
    with pytest.raises(jsonschema.ValidationError) as rasas:
        jsonschema.validate(bad, rasa_action.RemoteAction.action_response_format_spec())
    assert ours.value.message.startswith(rasas.value.message)
    assert "Failed to validate Action server response" in ours.value.message
    with pytest.raises(jsonschema.ValidationError):
        action._validate_action_result({"responses": "not a list"})


def test_the_schema_is_checked_once_not_per_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    response_validator()
    checked: list[object] = []
    cls = type(response_validator())
    monkeypatch.setattr(cls, "check_schema", classmethod(lambda _cls, s: checked.append(s)))
    action = CheckedOnceRemoteAction("action_quote_price", None)
    for _ in range(20):
        action._validate_action_result(ANSWER)
    assert checked == []
    # Rasa's own path checks the schema for every answer.
    rasa_action.RemoteAction.__mro__[1]._validate_action_result(action, ANSWER)
    assert len(checked) == 1


def _answers() -> list[Any]:
    """Valid and invalid answers, every event kind of the schema among them."""
    schema = rasa_action.RemoteAction.action_response_format_spec()
    names = [
        k["properties"]["event"]["const"] for k in schema["properties"]["events"]["items"]["oneOf"]
    ]
    answers: list[Any] = [ANSWER, {"events": [], "responses": []}, {}, {"events": None}]
    answers += [{"events": [{"event": name}]} for name in names]
    answers += [{"events": [{"event": name, "timestamp": "yesterday"}]} for name in names]
    answers += [
        {"events": [{"event": "slot", "name": "x", "value": {"deep": [1, 2]}}]},
        {"events": [{"event": "slot", "name": 5}]},
        {"events": [{"event": "no_such_event"}]},
        {"events": [{"name": "no event key"}]},
        {"events": ["not an object"]},
        {"events": "not a list"},
        {"responses": "not a list"},
        {"responses": [{"text": "好的", "buttons": [{"title": "要", "payload": "/affirm"}]}]},
        {
            "events": [
                {"event": "user", "text": "你好", "parse_data": {"intent": {"name": "greet"}}}
            ]
        },
        {"events": [{"event": "user", "parse_data": {"intent_ranking": "wrong"}}]},
        {"events": [{"event": "followup", "name": "action_handoff"}, {"event": "restart"}]},
        {"events": [{"event": "action", "name": "action_listen", "policy": None}]},
        {"events": [{"event": "active_loop", "name": None}, {"event": "pause"}]},
    ]
    return answers


def test_the_quick_check_accepts_exactly_what_the_whole_schema_accepts() -> None:
    from channels.remote_action import fast_answer_check

    schema = rasa_action.RemoteAction.action_response_format_spec()
    whole = jsonschema.validators.validator_for(schema)(schema)
    answers = _answers()
    verdicts = [(fast_answer_check().accepts(a), whole.is_valid(a)) for a in answers]
    assert [quick for quick, _ in verdicts] == [full for _, full in verdicts]
    # Both kinds of answer are among them, for every event kind.
    assert any(full for _, full in verdicts) and not all(full for _, full in verdicts)


def test_event_kinds_that_share_a_name_are_refused() -> None:
    from channels.remote_action import FastAnswerCheck

    schema = rasa_action.RemoteAction.action_response_format_spec()
    doubled = {**schema, "properties": {**schema["properties"]}}
    kinds = schema["properties"]["events"]["items"]["oneOf"]
    doubled["properties"]["events"] = {
        **schema["properties"]["events"],
        "items": {**schema["properties"]["events"]["items"], "oneOf": [*kinds, kinds[0]]},
    }
    with pytest.raises(ValueError, match="distinct names"):
        FastAnswerCheck(doubled)
