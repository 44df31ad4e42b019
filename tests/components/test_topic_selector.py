"""The topic selector picks the answer topic of the classified retrieval intent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.topic_selector import CharNgramResponseSelector

EXAMPLES = {
    "return_refund/progress": [
        "退款什么时候到账",
        "钱怎么还没退回来",
        "退款进度怎么查",
        "退的钱到哪了",
    ],
    "return_refund/how_to": ["怎么申请退货", "退货在哪里申请", "我要退货怎么操作", "售后怎么申请"],
    "ask_payment/invoice": ["怎么开发票", "发票抬头写错了", "电子发票在哪下载", "能开专票吗"],
    "ask_payment/methods": ["能用微信付吗", "支持支付宝吗", "可以货到付款吗", "能刷信用卡吗"],
}


def _context() -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), "test")


def _training_data() -> TrainingData:
    messages = []
    for key, texts in EXAMPLES.items():
        intent = key.split("/")[0]
        for text in texts:
            messages.append(
                Message(data={"text": text, "intent": intent, "intent_response_key": key})
            )
    messages.append(Message(data={"text": "你好", "intent": "greet"}))
    return TrainingData(messages)


@pytest.fixture
def selector(tmp_path: Path) -> CharNgramResponseSelector:
    storage = LocalModelStorage(tmp_path)
    config = CharNgramResponseSelector.get_default_config()
    component = CharNgramResponseSelector.create(config, storage, Resource("topics"), _context())
    component.train(_training_data())
    return CharNgramResponseSelector.load(config, storage, Resource("topics"), _context())


def _select(selector: CharNgramResponseSelector, text: str, intent: str) -> dict[str, Any]:
    message = Message(data={"text": text, "intent": {"name": intent, "confidence": 0.9}})
    selector.process([message])
    return message.get("response_selector")


def test_chooses_the_topic_of_the_classified_intent(selector: CharNgramResponseSelector) -> None:
    result = _select(selector, "退款到账了吗", "return_refund")
    response = result["default"]["response"]
    assert response["intent_response_key"] == "return_refund/progress"
    assert response["utter_action"] == "utter_return_refund/progress"
    assert sorted(result["all_retrieval_intents"]) == ["ask_payment", "return_refund"]


def test_ranking_covers_every_retrieval_intent(selector: CharNgramResponseSelector) -> None:
    ranking = _select(selector, "发票开错了", "ask_payment")["default"]["ranking"]
    keys = {item["intent_response_key"] for item in ranking}
    assert {"ask_payment/invoice", "return_refund/progress"} <= keys
    best_payment = max(
        (item for item in ranking if item["intent_response_key"].startswith("ask_payment/")),
        key=lambda item: item["confidence"],
    )
    assert best_payment["intent_response_key"] == "ask_payment/invoice"


def test_button_payloads_get_no_topic(selector: CharNgramResponseSelector) -> None:
    assert _select(selector, "/return_refund", "return_refund") is None


def test_untrained_selector_selects_nothing(tmp_path: Path) -> None:
    config = CharNgramResponseSelector.get_default_config()
    component = CharNgramResponseSelector.load(
        config, LocalModelStorage(tmp_path), Resource("none"), _context()
    )
    assert _select(component, "退款", "return_refund") is None


def test_refuses_settings_that_cannot_work() -> None:
    with pytest.raises(InvalidConfigException):
        CharNgramResponseSelector.validate_config({"C": -1})
