"""Rasa's remote (custom) action, checking the action server's answers with one validator.

Rasa validates every answer of the action server against its JSON schema with
`jsonschema.validate`, which first validates the schema itself against the JSON Schema
meta-schema: Rasa's event schema is large, so that check costs about as much as the rest of
a turn (tens to a hundred milliseconds on a busy machine, for a schema that never changes).
`CheckedOnceRemoteAction` is Rasa's `RemoteAction` with the schema checked once per process
and one validator kept for it; the answer is validated against the same schema with the same
error, so an invalid answer is refused as before.

Each event of an answer is one of the schema's 23 event kinds (`oneOf`, each kind fixed by
its `event` name), and jsonschema tries every kind for every event, building an error for
each kind that does not match: about a millisecond per answer. `FastAnswerCheck` validates
the answer without that `oneOf` and each event against the one kind its name picks, which
accepts exactly what the schema accepts because the kinds' names are distinct; any answer it
does not accept goes through the whole schema, which says why.

Rasa builds its remote actions in `rasa.core.actions.action` (and forms in
`rasa.core.actions.forms`) by the class's module name, with no setting for another class;
`install()` names the subclass there. Importing the `channels` package calls it, so every
Rasa process that loads the project's channels (credentials.yml) or its tracker store
(endpoints.yml) uses it: `rasa run`, `shell`, `test`, `interactive`, every cluster replica.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

import jsonschema
from jsonschema.protocols import Validator
from rasa.core.actions import action as rasa_action
from rasa.core.actions import forms as rasa_forms


@functools.lru_cache(maxsize=1)
def response_validator() -> Validator:
    """A validator for Rasa's action-server answer schema, the schema checked once."""
    schema = rasa_action.RemoteAction.action_response_format_spec()
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator: Validator = cls(schema)
    return validator


class FastAnswerCheck:
    """Rasa's answer schema checked with each event against the one kind its name picks."""

    def __init__(self, schema: dict[str, Any]) -> None:
        items = schema["properties"]["events"]["items"]
        kinds = items["oneOf"]
        names = [kind["properties"]["event"]["const"] for kind in kinds]
        if len(set(names)) != len(names):
            raise ValueError("event kinds must have distinct names to be picked by name")
        cls = jsonschema.validators.validator_for(schema)
        without_kinds = copy.deepcopy(schema)
        del without_kinds["properties"]["events"]["items"]["oneOf"]
        self._answer = cls(without_kinds)
        self._kinds = {name: cls(kind) for name, kind in zip(names, kinds, strict=True)}

    def accepts(self, result: Any) -> bool:
        """True when the schema accepts `result` (False: let the whole schema say why)."""
        if not self._answer.is_valid(result):
            return False
        for event in result.get("events") or ():
            kind = self._kinds.get(event.get("event"))
            if kind is None or not kind.is_valid(event):
                return False
        return True


@functools.lru_cache(maxsize=1)
def fast_answer_check() -> FastAnswerCheck:
    """The quick check of Rasa's action-server answer schema, built once per process."""
    return FastAnswerCheck(rasa_action.RemoteAction.action_response_format_spec())


class CheckedOnceRemoteAction(rasa_action.RemoteAction):
    """Rasa's RemoteAction; its answers are validated by one validator kept per process."""

    def _validate_action_result(self, result: dict[str, Any]) -> bool:
        if fast_answer_check().accepts(result):
            return True
        # As jsonschema.validate reports it: the most relevant error of the answer.
        error = jsonschema.exceptions.best_match(response_validator().iter_errors(result))
        if error is None:
            return True
        error.message += (
            ". Failed to validate Action server response from API, make sure your response "
            "from the Action endpoint is valid. For more information about the format visit "
            f"{rasa_action.DOCS_BASE_URL}/custom-actions"
        )
        raise error


def install() -> None:
    """Make Rasa build its remote actions (and forms' validation actions) from the subclass."""
    rasa_action.RemoteAction = CheckedOnceRemoteAction
    rasa_forms.RemoteAction = CheckedOnceRemoteAction
