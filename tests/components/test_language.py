"""The `language` slot follows what the customer writes; short Latin words do not switch it."""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from actions.language import speaks_english
from components.language_policy import LanguagePolicy
from tests.actions.trackers import make_tracker

DOMAIN = Domain.load("domain.yml")


def make_policy(tmp_path: Any) -> LanguagePolicy:
    return LanguagePolicy(
        LanguagePolicy.get_default_config(),
        LocalModelStorage(tmp_path),
        Resource("language"),
        ExecutionContext(graph_schema=None, model_id="test"),  # type: ignore[arg-type]
    )


def message(text: str, written: str | None, **metadata: Any) -> UserUttered:
    parse: dict[str, Any] = {"intent": {"name": "greet", "confidence": 0.9}, "entities": []}
    if written:
        parse["sentiment"] = {"score": 0.0, "label": "neutral", "language": written}
    return UserUttered(text, intent=parse["intent"], parse_data=parse, metadata=metadata)


def language_after(
    tmp_path: Any, text: str, written: str | None, slot: str = "zh", **metadata: Any
) -> str:
    events: list[Event] = [ActionExecuted("action_listen"), SlotSet("language", slot)]
    events.append(message(text, written, **metadata))
    tracker = DialogueStateTracker.from_events("c1", events, DOMAIN.slots)
    prediction = make_policy(tmp_path).predict_action_probabilities(tracker, DOMAIN)
    assert max(prediction.probabilities) == 0, "the policy never predicts an action"
    tracker.update_with_events(prediction.events, DOMAIN)
    return str(tracker.get_slot("language"))


def test_english_words_switch_to_english_and_chinese_back(tmp_path: Any) -> None:
    assert language_after(tmp_path, "how much is it", "en") == "en"
    assert language_after(tmp_path, "多少钱", "zh", slot="en") == "zh"
    assert language_after(tmp_path, "iPhone 有货吗", "mixed", slot="en") == "zh"


def test_a_word_or_a_number_keeps_the_language(tmp_path: Any) -> None:
    assert language_after(tmp_path, "ok", "en") == "zh"
    assert language_after(tmp_path, "202611180001", "other", slot="en") == "en"
    assert language_after(tmp_path, "👍", "emoji", slot="en") == "en"


def test_the_page_decides_a_message_without_words(tmp_path: Any) -> None:
    assert language_after(tmp_path, "/greet", None, language="en") == "en"
    assert language_after(tmp_path, "/greet", None, language="fr") == "zh"
    tracker = make_tracker(text="/greet", metadata={"language": "en"})
    assert speaks_english(tracker)


def test_the_slot_is_set_once_per_message_and_only_when_it_changes(tmp_path: Any) -> None:
    policy = make_policy(tmp_path)
    said = [ActionExecuted("action_listen"), message("how much is it", "en")]
    tracker = DialogueStateTracker.from_events("c1", said, DOMAIN.slots)
    assert policy.predict_action_probabilities(tracker, DOMAIN).events == [
        SlotSet("language", "en")
    ]
    # Later predictions of the same turn, and a message that keeps the language, add nothing.
    tracker.update(SlotSet("language", "en"))
    assert policy.predict_action_probabilities(tracker, DOMAIN).events == []
    tracker.update(ActionExecuted("utter_greet"))
    assert policy.predict_action_probabilities(tracker, DOMAIN).events == []


def test_the_actions_read_the_latest_message_before_the_slot() -> None:
    tracker = make_tracker(text="how much is it")
    tracker.latest_message["sentiment"] = {"language": "en"}
    tracker.slots["language"] = "zh"
    assert speaks_english(tracker)
    tracker = make_tracker(text="多少钱")
    tracker.latest_message["sentiment"] = {"language": "zh"}
    tracker.slots["language"] = "en"
    assert not speaks_english(tracker)


def test_the_action_server_reads_the_language_without_loading_rasa() -> None:
    # Rasa (and TensorFlow with it) would add hundreds of MB to the action server.
    import subprocess
    import sys

    probe = "import sys, actions.language; print('rasa' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
