"""A second request in one message is found; one request, small talk and payloads are not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message

from components.second_request import SECOND_REQUEST, SecondRequestDetector, split_clauses

ROOT = Path(__file__).resolve().parents[2]


def _context() -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), "test")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> SecondRequestDetector:
    """The detector trained on the project's NLU data, as `rasa train` would."""
    storage = LocalModelStorage(tmp_path_factory.mktemp("second-request"))
    config = SecondRequestDetector.get_default_config()
    component = SecondRequestDetector.create(config, storage, Resource("second"), _context())
    component.train(load_data(str(ROOT / "data" / "nlu"), language="zh"))
    return SecondRequestDetector.load(config, storage, Resource("second"), _context())


def parsed(text: str, intent: str, topic: str | None = None) -> Message:
    """A message as the classifiers leave it: intent, and the selector's topic ranking."""
    data: dict[str, Any] = {"text": text, "intent": {"name": intent, "confidence": 0.9}}
    if topic:
        data["response_selector"] = {
            "all_retrieval_intents": ["return_refund"],
            "default": {
                "ranking": [{"intent_response_key": f"{intent}/{topic}", "confidence": 0.8}]
            },
        }
    return Message(data=data)


@pytest.mark.parametrize(
    ("text", "clauses"),
    [
        ("亲 我想退货 另外运费谁出", ["亲 我想退货", "另外运费谁出"]),
        ("我想退货，退款多久到账？", ["我想退货", "退款多久到账"]),
        ("怎么退货", ["怎么退货"]),
        ("你好，我买的耳机坏了，能换吗？", ["你好 我买的耳机坏了 能换吗"]),
        ("好的", ["好的"]),
        ("", []),
    ],
)
def test_clauses_split_at_punctuation_spaces_and_connectives(text: str, clauses: list[str]) -> None:
    assert split_clauses(text, 4) == clauses


@pytest.mark.parametrize(
    ("text", "intent", "topic", "second"),
    [
        ("我想换货 顺便问下能开发票吗", "return_refund", "exchange", "ask_payment"),
        ("这个耳机怎么连手机 另外保修多久", "ask_product_info", "usage", "ask_product_info"),
        ("退货怎么申请，退款多久到账", "return_refund", "how_to", "return_refund"),
    ],
)
def test_finds_the_second_request(
    trained: SecondRequestDetector, text: str, intent: str, topic: str, second: str
) -> None:
    message = parsed(text, intent, topic)
    trained.process([message])
    found = message.get(SECOND_REQUEST)
    assert found is not None, "no second request found"
    assert found["intent"] == second
    assert (found["intent"], found["topic"]) != (intent, topic)
    assert found["text"] in text


def test_context_without_a_request_is_not_a_second_request(
    trained: SecondRequestDetector,
) -> None:
    # "这个订单" and "我昨天买的" set the scene; they ask nothing.
    message = parsed("这个订单 我昨天买的 怎么申请退货", "return_refund", "how_to")
    trained.process([message])
    assert message.get(SECOND_REQUEST) is None


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("怎么申请退货", "return_refund"),  # one request
        ("你好 在吗 我想问一下运费多少", "ask_shipping"),  # a greeting is not a request
        ("好的 谢谢 拜拜", "thank"),  # small talk only
        ("/return_refund", "return_refund"),  # a button payload
    ],
)
def test_one_request_reports_nothing(
    trained: SecondRequestDetector, text: str, intent: str
) -> None:
    message = parsed(text, intent)
    trained.process([message])
    assert message.get(SECOND_REQUEST) is None


def test_untrained_detector_says_nothing(tmp_path: Path) -> None:
    storage = LocalModelStorage(tmp_path)
    config = SecondRequestDetector.get_default_config()
    component = SecondRequestDetector.load(config, storage, Resource("missing"), _context())
    message = parsed("我想退货 另外运费谁出", "return_refund", "how_to")
    component.process([message])
    assert message.get(SECOND_REQUEST) is None


@pytest.mark.parametrize("config", [{"threshold": 0}, {"threshold": 1.5}, {"min_chars": 0}])
def test_refuses_settings_that_cannot_work(config: dict[str, Any]) -> None:
    with pytest.raises(InvalidConfigException):
        SecondRequestDetector.validate_config(config)
