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

Rasa also opens a new HTTP client session, and with it a new connection, for every call of
the action server (`EndpointConfig.request`). The subclass's endpoint (`KeptSessionEndpoint`)
keeps one client session per event loop and lends it to Rasa's request code, so calls reuse
kept-alive connections; it drops idle ones after KEEPALIVE_SECONDS, before the action server
(Sanic: 5 s) closes them. The session writes the request (the tracker, a hundred events)
with ujson instead of the standard library's encoder: the same JSON values, in a third of
the time (`tracker_json`).

Rasa builds its remote actions in `rasa.core.actions.action` (and forms in
`rasa.core.actions.forms`) by the class's module name, with no setting for another class;
`install()` names the subclass there. Importing the `channels` package calls it, so every
Rasa process that loads the project's channels (credentials.yml) or its tracker store
(endpoints.yml) uses it: `rasa run`, `shell`, `test`, `interactive`, every cluster replica.
"""

from __future__ import annotations

import asyncio
import copy
import functools
from types import TracebackType
from typing import Any

import aiohttp
import jsonschema
import ujson
from jsonschema.protocols import Validator
from rasa.core.actions import action as rasa_action
from rasa.core.actions import forms as rasa_forms
from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
from rasa.utils.endpoints import EndpointConfig

# Idle connections to the action server are closed after this long, before the server's own
# keep-alive timeout (Sanic's default: 5 s) can close one under a request.
KEEPALIVE_SECONDS = 3.0


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


def tracker_json(body: Any) -> str:
    """The action server's request as JSON text: UTF-8 text as is, slashes not escaped."""
    return ujson.dumps(body, ensure_ascii=False, escape_forward_slashes=False)


class _Lent:
    """A kept client session, lent to `async with` without being closed at its end."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self._session

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        return None


class KeptSessionEndpoint(EndpointConfig):
    """Rasa's endpoint whose requests share one client session (and its connections)."""

    @classmethod
    def of(cls, endpoint: EndpointConfig) -> KeptSessionEndpoint:
        """The kept-session twin of `endpoint`, made once per endpoint object."""
        if isinstance(endpoint, KeptSessionEndpoint):
            return endpoint
        twin: KeptSessionEndpoint | None = getattr(endpoint, "_kept_session_twin", None)
        if twin is None:
            twin = cls(
                endpoint.url,
                endpoint.params,
                endpoint.headers,
                endpoint.basic_auth,
                endpoint.token,
                endpoint.token_name,
                endpoint.cafile,
                **endpoint.kwargs,
            )
            twin.type = endpoint.type
            endpoint._kept_session_twin = twin
        return twin

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def kept_session(self) -> aiohttp.ClientSession:
        """This event loop's client session, configured as Rasa configures its own."""
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            auth = None
            if self.basic_auth:
                auth = aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"])
            self._session = aiohttp.ClientSession(
                headers=self.headers,
                auth=auth,
                timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
                connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_SECONDS),
                json_serialize=tracker_json,
            )
            self._loop = loop
        return self._session

    def session(self) -> Any:
        """What Rasa's `request` opens with `async with`: the kept session, left open."""
        return _Lent(self.kept_session())

    async def close(self) -> None:
        """Close the kept session (the next request opens another)."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None


class CheckedOnceRemoteAction(rasa_action.RemoteAction):
    """Rasa's RemoteAction; its answers are validated by one validator kept per process,
    its calls share one client session."""

    def __init__(self, name: str, action_endpoint: EndpointConfig | None) -> None:
        if action_endpoint is not None:
            action_endpoint = KeptSessionEndpoint.of(action_endpoint)
        super().__init__(name, action_endpoint)

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
