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
