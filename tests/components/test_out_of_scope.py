"""The out-of-scope intent is reported under the schema's name, nlu_fallback."""

from __future__ import annotations

from rasa.shared.nlu.training_data.message import Message

from components.out_of_scope import OutOfScopeAsFallback


def _parsed(intent: str, confidence: float, ranking: list[tuple[str, float]]) -> Message:
    return Message(
        data={
            "text": "今天天气怎么样",
            "intent": {"name": intent, "confidence": confidence},
            "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking],
        }
    )


def test_out_of_scope_becomes_nlu_fallback_with_its_confidence() -> None:
    component = OutOfScopeAsFallback({"intent": "out_of_scope"})
    message = _parsed("out_of_scope", 0.93, [("out_of_scope", 0.93), ("ask_price", 0.04)])
    [result] = component.process([message])
    assert result.data["intent"] == {"name": "nlu_fallback", "confidence": 0.93}
    names = [entry["name"] for entry in result.data["intent_ranking"]]
    # The classifier's ranking stays below, as with Rasa's FallbackClassifier.
    assert names == ["nlu_fallback", "out_of_scope", "ask_price"]


def test_in_scope_intents_are_left_alone() -> None:
    component = OutOfScopeAsFallback({"intent": "out_of_scope"})
    message = _parsed("ask_price", 0.88, [("ask_price", 0.88), ("out_of_scope", 0.1)])
    [result] = component.process([message])
    assert result.data["intent"] == {"name": "ask_price", "confidence": 0.88}
    assert result.data["intent_ranking"][0]["name"] == "ask_price"


def test_a_fallback_already_decided_stays() -> None:
    component = OutOfScopeAsFallback(OutOfScopeAsFallback.get_default_config())
    message = _parsed("nlu_fallback", 0.45, [("nlu_fallback", 0.45), ("greet", 0.3)])
    [result] = component.process([message])
    assert result.data["intent"]["name"] == "nlu_fallback"
