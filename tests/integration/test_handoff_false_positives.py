"""How often ordinary messages are handed to a person, and how often angry ones are not.

Every message of tests/sentiment/ goes, as the first message of a new conversation, through
the real assistant (the trained model with the sentiment component and the handoff policy);
a handoff is what the tracker says (`handoff_reason` set). Figures are printed.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from launcher.stack import Stack
from tests.integration.conftest import Customer, tracker

pytestmark = pytest.mark.integration

SETS = Path(__file__).resolve().parents[1] / "sentiment"


def messages(name: str) -> list[str]:
    lines = (SETS / name).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def handed_off(stack: Stack, text: str) -> bool:
    customer = Customer(stack.settings.rasa_url, sender=f"web-fp-{uuid.uuid4().hex[:10]}")
    customer.say(text)
    state = tracker(stack.settings.rasa_url, stack.settings.rasa_api_token, customer.sender)
    return state["slots"].get("handoff_reason") is not None


def test_ordinary_messages_rarely_hand_off_and_angry_ones_do(stack: Stack) -> None:
    neutral, angry = messages("neutral_messages.txt"), messages("angry_messages.txt")
    assert len(neutral) >= 100 and len(angry) >= 50
    false_alarms = [text for text in neutral if handed_off(stack, text)]
    missed = [text for text in angry if not handed_off(stack, text)]
    allowed_false, required_caught = len(neutral) * 3 // 100, len(angry) * 3 // 4
    print(
        f"\nhandoff: {len(false_alarms)}/{len(neutral)} ordinary messages handed off "
        f"(at most {allowed_false} allowed); {len(angry) - len(missed)}/{len(angry)} angry "
        f"ones (at least {required_caught} required)"
    )
    for text in false_alarms:
        print(f"  ordinary, handed off: {text}")
    for text in missed:
        print(f"  angry, not handed off: {text}")
    assert len(false_alarms) <= allowed_false
    assert len(angry) - len(missed) >= required_caught
