"""Rasa's remote actions check the action server's answers with one validator per process."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from aiohttp import web
from rasa.core.actions import action as rasa_action
from rasa.core.actions import forms as rasa_forms
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

import channels  # noqa: F401  (installs the subclass, as Rasa loading a channel does)
from channels import remote_action
from channels.remote_action import (
    CheckedOnceRemoteAction,
    KeptSessionEndpoint,
    response_validator,
)

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


class ActionServer:
    """An action server on loopback answering ANSWER, noting each caller's connection."""

    def __init__(self) -> None:
        self.peers: list[tuple[str, int]] = []
        self.bodies: list[dict[str, Any]] = []
        self.runner: web.AppRunner | None = None
        self.port = 0

    async def start(self, port: int = 0) -> None:
        async def webhook(request: web.Request) -> web.Response:
            self.peers.append(request.transport.get_extra_info("peername"))
            self.bodies.append(await request.json())
            return web.json_response(ANSWER)

        app = web.Application()
        app.router.add_post("/webhook", webhook)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", port)
        await site.start()
        self.port = self.runner.addresses[0][1]

    async def stop(self) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


async def _call(endpoint: EndpointConfig, sender: str) -> list[Any]:
    domain = Domain.from_dict({"actions": ["action_quote_price"], "slots": {}})
    built = rasa_action.action_for_name_or_text("action_quote_price", domain, endpoint)
    tracker = DialogueStateTracker(sender, [])
    return await built.run(
        CollectingOutputChannel(), TemplatedNaturalLanguageGenerator({}), tracker, domain
    )


def test_calls_share_one_connection_and_answer_as_before() -> None:
    async def scenario() -> None:
        server = ActionServer()
        await server.start()
        endpoint = EndpointConfig(f"http://127.0.0.1:{server.port}/webhook")
        try:
            results = [await _call(endpoint, f"kept-{n}") for n in range(5)]
            # The same client port: one connection, kept alive between the calls.
            assert len(server.peers) == 5
            assert len(set(server.peers)) == 1
            assert [body["sender_id"] for body in server.bodies] == [f"kept-{n}" for n in range(5)]
            for events in results:
                assert any(
                    isinstance(e, SlotSet) and e.key == "product_id" and e.value == "P1001"
                    for e in events
                )
        finally:
            await KeptSessionEndpoint.of(endpoint).close()
            await server.stop()

    asyncio.run(scenario())


def test_an_idle_connection_is_dropped_and_a_restarted_server_is_reached_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(remote_action, "KEEPALIVE_SECONDS", 0.2)

    async def scenario() -> None:
        server = ActionServer()
        await server.start()
        endpoint = EndpointConfig(f"http://127.0.0.1:{server.port}/webhook")
        try:
            await _call(endpoint, "idle-1")
            await asyncio.sleep(0.6)
            await _call(endpoint, "idle-2")
            assert len(set(server.peers)) == 2  # the idle connection was not reused
            # The action server restarts on the same port: the kept connection is dead.
            port = server.port
            await server.stop()
            server = ActionServer()
            await server.start(port)
            await _call(endpoint, "restarted")
            assert [body["sender_id"] for body in server.bodies] == ["restarted"]
        finally:
            await KeptSessionEndpoint.of(endpoint).close()
            await server.stop()

    asyncio.run(scenario())


def test_a_session_of_an_earlier_event_loop_is_not_reused() -> None:
    endpoints: list[EndpointConfig] = []

    async def once() -> None:
        server = ActionServer()
        await server.start(int(endpoints[0].url.split(":")[2].split("/")[0]) if endpoints else 0)
        if not endpoints:
            endpoints.append(EndpointConfig(f"http://127.0.0.1:{server.port}/webhook"))
        try:
            await _call(endpoints[0], "loops")
            assert len(server.bodies) == 1
        finally:
            await server.stop()

    asyncio.run(once())
    first = KeptSessionEndpoint.of(endpoints[0])._session
    asyncio.run(once())  # a new loop: the first loop's session cannot serve it
    assert KeptSessionEndpoint.of(endpoints[0])._session is not first
    asyncio.run(KeptSessionEndpoint.of(endpoints[0]).close())


def test_the_request_is_the_same_json_as_the_standard_encoders() -> None:
    domain = Domain.load(str(Path(__file__).resolve().parents[2] / "domain.yml"))
    tracker = DialogueStateTracker.from_events(
        "json-1",
        [
            ActionExecuted("action_listen"),
            UserUttered(
                "声悦Pro降噪蓝牙耳机多少钱？/ 网址 https://shop.example/p/1",
                intent={"name": "ask_price", "confidence": 0.1 + 0.2},
                entities=[{"entity": "product", "value": "声悦Pro降噪蓝牙耳机", "start": 0}],
                parse_data={"sentiment": {"score": -1e-7, "label": "neutral"}, "n": 10**17},
            ),
            SlotSet("product", "声悦Pro降噪蓝牙耳机"),
            SlotSet("cart", {"1": [1.5, None, True, '\u2028 \\ " \n']}),
            BotUttered("😀 好的", {"buttons": [{"title": "是", "payload": "/affirm"}]}),
            ActionExecuted("action_quote_price", policy="RulePolicy", confidence=1.0),
        ],
        domain.slots,
    )
    body = CheckedOnceRemoteAction("action_quote_price", None)._action_call_format(tracker, domain)
    text = remote_action.tracker_json(body)
    assert json.loads(text) == json.loads(json.dumps(body))
    assert "声悦" in text and "\\/" not in text
