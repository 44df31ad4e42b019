"""Rasa's remote (custom) action, checking the action server's answers with one validator.

Rasa validates every answer of the action server against its JSON schema with
`jsonschema.validate`, which first validates the schema itself against the JSON Schema
meta-schema: Rasa's event schema is large, so that check costs about as much as the rest of
a turn (tens to a hundred milliseconds on a busy machine, for a schema that never changes).
`CheckedOnceRemoteAction` is Rasa's `RemoteAction` with the schema checked once per process
and one validator kept for it; the answer is validated against the same schema with the same
error, so an invalid answer is refused as before.

Rasa builds its remote actions in `rasa.core.actions.action` (and forms in
`rasa.core.actions.forms`) by the class's module name, with no setting for another class;
`install()` names the subclass there. Importing the `channels` package calls it, so every
Rasa process that loads the project's channels (credentials.yml) or its tracker store
(endpoints.yml) uses it: `rasa run`, `shell`, `test`, `interactive`, every cluster replica.
"""

from __future__ import annotations

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


class CheckedOnceRemoteAction(rasa_action.RemoteAction):
    """Rasa's RemoteAction; its answers are validated by one validator kept per process."""

    def _validate_action_result(self, result: dict[str, Any]) -> bool:
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
