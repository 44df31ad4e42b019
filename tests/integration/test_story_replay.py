"""Replay every conversation test story over HTTP against the running assistant.

`rasa test` checks the model's predictions with the story's events taken as given; this sends
each turn's labelled intent and entities (as a `/intent{...}` message, so the NLU's own
mistakes, measured by `make conversations`, do not mask the rest) through the real stack
(Rasa + action server + mall service) and checks that the assistant really runs the story's
actions and that the real actions set the slots that steer the conversation as the story says.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import requests
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader

from launcher.settings import ROOT
from launcher.stack import Stack
from tests.integration.conftest import Customer

pytestmark = pytest.mark.integration

STEERING_SLOTS = ("sales_stage", "pending_question")
IGNORED_ACTIONS = {"action_listen", "action_session_start"}


def _stories() -> list[Any]:
    domain = Domain.load(str(ROOT / "domain.yml"))
    steps = []
    for path in sorted((ROOT / "tests" / "stories").glob("*.yml")):
        steps += YAMLStoryReader(domain).read_from_file(str(path), skip_validation=True)
    return steps


STORIES = _stories()


def _expected(story: Any) -> tuple[list[str], list[list[str]], list[dict[str, Any]]]:
    """The customer's messages, the actions after each, the steering slots after each."""
    messages: list[str] = []
    actions: list[list[str]] = []
    slots: list[dict[str, Any]] = []
    for event in story.events:
        if isinstance(event, UserUttered):
            entities = {entity["entity"]: entity["value"] for entity in event.entities}
            payload = json.dumps(entities, ensure_ascii=False) if entities else ""
            messages.append(f"/{event.intent_name}{payload}")
            actions.append([])
            slots.append({})
        elif isinstance(event, ActionExecuted) and event.action_name not in IGNORED_ACTIONS:
            actions[-1].append(str(event.action_name))
        elif isinstance(event, SlotSet) and event.key in STEERING_SLOTS:
            slots[-1][event.key] = event.value
    return messages, actions, slots


def _turns(tracker: dict[str, Any]) -> list[tuple[list[str], dict[str, Any]]]:
    """Per customer message: the actions the assistant ran and the steering slots after them."""
    turns: list[tuple[list[str], dict[str, Any]]] = []
    state: dict[str, Any] = dict.fromkeys(STEERING_SLOTS)
    for event in tracker["events"]:
        if event["event"] == "user":
            turns.append(([], state))
        elif event["event"] == "action" and turns and event["name"] not in IGNORED_ACTIONS:
            turns[-1][0].append(event["name"])
        elif event["event"] == "slot" and turns and event["name"] in STEERING_SLOTS:
            # A story's slot_was_set states a value; actions only send changes.
            state = {**state, event["name"]: event["value"]}
            turns[-1] = (turns[-1][0], state)
    return turns


# Stories that describe a situation the demo data never produces for a new customer.
NOT_IN_DEMO_DATA = {
    "store-wide discount asked, there is none, then a bare yes": "a store-wide coupon exists",
    "yes to the discount question but no coupon is left": "every product has a coupon",
}


# Stories whose answer depends on the topic the customer's words choose (the replay sends
# intents, not words); tests/integration/test_after_sales.py sends their words instead.
NEEDS_THE_WORDS = {
    "price protection is answered, not a coupon offer": "a topic of ask_discount",
}


@pytest.mark.parametrize("story", STORIES, ids=[story.block_name for story in STORIES])
def test_story_replays_through_the_real_stack(stack: Stack, story: Any) -> None:
    if story.block_name in NOT_IN_DEMO_DATA:
        pytest.skip(f"not reproducible with the demo data: {NOT_IN_DEMO_DATA[story.block_name]}")
    if story.block_name in NEEDS_THE_WORDS:
        pytest.skip(f"the answer follows the words: {NEEDS_THE_WORDS[story.block_name]}")
    messages, expected_actions, expected_slots = _expected(story)
    customer = Customer(stack.settings.rasa_url, sender=f"web-replay-{uuid.uuid4().hex[:10]}")
    for message in messages:
        customer.say(message)
    tracker = requests.get(
        f"{stack.settings.rasa_url}/conversations/{customer.sender}/tracker",
        params={"token": stack.settings.rasa_api_token},
        timeout=10,
    ).json()
    turns = _turns(tracker)
    assert len(turns) == len(messages)
    for index, message in enumerate(messages):
        actions, slots = turns[index]
        assert actions == expected_actions[index], f"turn {index + 1}: {message!r}"
        for name, value in expected_slots[index].items():
            assert slots.get(name) == value, f"turn {index + 1}: {message!r} ({name})"
