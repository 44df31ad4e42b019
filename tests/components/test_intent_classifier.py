"""The character n-gram intent classifier: learns, ranks, persists, reads placeholders by kind."""

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

from components.intent_classifier import CharNgramIntentClassifier, augmented
from components.placeholders import blank, canonical

EXAMPLES = {
    "return_refund": ["我要退货", "怎么申请退款", "退款什么时候到账", "这个能退吗", "想退掉"],
    "ask_order_status": ["快递到哪了", "怎么还没发货", "物流不动了", "什么时候能到", "单号多少"],
    "out_of_scope": ["订单号：Ⓞ", "[ORDERID_10001]", "今天天气怎么样", "讲个笑话", "哈哈哈"],
}


def _context() -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), "test")


def _training_data() -> TrainingData:
    return TrainingData(
        [
            Message(data={"text": text, "intent": intent})
            for intent, texts in EXAMPLES.items()
            for text in texts
        ]
    )


@pytest.fixture
def storage(tmp_path: Path) -> LocalModelStorage:
    return LocalModelStorage(tmp_path)


def _trained(storage: LocalModelStorage, **config: Any) -> CharNgramIntentClassifier:
    full = {**CharNgramIntentClassifier.get_default_config(), **config}
    component = CharNgramIntentClassifier.create(full, storage, Resource("intent"), _context())
    component.train(_training_data())
    return CharNgramIntentClassifier.load(full, storage, Resource("intent"), _context())


def _classify(component: CharNgramIntentClassifier, text: str) -> Message:
    message = Message(data={"text": text})
    component.process([message])
    return message


def test_classifies_unseen_wordings_after_a_reload(storage: LocalModelStorage) -> None:
    component = _trained(storage)
    assert _classify(component, "退款还没到账").get("intent")["name"] == "return_refund"
    assert _classify(component, "我的快递呢 还没到").get("intent")["name"] == "ask_order_status"


def test_ranking_is_sorted_and_sums_to_one(storage: LocalModelStorage) -> None:
    message = _classify(_trained(storage), "退货")
    ranking = message.get("intent_ranking")
    confidences = [item["confidence"] for item in ranking]
    assert confidences == sorted(confidences, reverse=True)
    assert abs(sum(confidences) - 1.0) < 1e-6
    assert message.get("intent") == ranking[0]


def test_an_order_id_in_another_shops_format_reads_the_same(storage: LocalModelStorage) -> None:
    component = _trained(storage)
    # Trained on [ORDERID_...]; a pasted 18-digit id or <order_id> is the same kind of thing.
    for text in ("123456789012345678", "<order_id>"):
        assert _classify(component, text).get("intent")["name"] == "out_of_scope", text


def test_untrained_classifier_leaves_messages_alone(storage: LocalModelStorage) -> None:
    config = CharNgramIntentClassifier.get_default_config()
    component = CharNgramIntentClassifier.load(config, storage, Resource("none"), _context())
    message = _classify(component, "退货")
    assert message.get("intent") is None


@pytest.mark.parametrize("config", [{"C": 0}, {"min_ngram": 3, "max_ngram": 2}])
def test_refuses_settings_that_cannot_work(config: dict[str, Any]) -> None:
    with pytest.raises(InvalidConfigException):
        CharNgramIntentClassifier.validate_config(config)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("订单[ORDERID_10005942]到哪了", "订单Ⓞ到哪了"),
        ("买的时候[金额x] 现在[金额x]", "买的时候Ⓜ 现在Ⓜ"),
        ("[数字x]号能到吗", "Ⓝ号能到吗"),
        ("<num>号能到吗", "Ⓝ号能到吗"),
        ("3号能到吗", "Ⓝ号能到吗"),
        ("[日期x] [时间x]下的单", "Ⓓ Ⓓ下的单"),
        ("联系人:[姓名x]", "联系人:Ⓧ"),
        ("https://item.example.com/123.html 这个", "Ⓤ 这个"),
        ("单号202611180001", "单号Ⓞ"),
    ],
)
def test_placeholders_are_read_by_kind(text: str, expected: str) -> None:
    assert canonical(text) == expected


def test_placeholders_are_blanked_for_sentiment() -> None:
    assert blank("[订单编号:[ORDERID_1]，订单金额:[金额x]]") == "[订单编号: ，订单金额: ]"


def test_augmented_copies_wrap_requests_but_not_small_talk() -> None:
    config = CharNgramIntentClassifier.get_default_config()
    pairs = [("怎么申请退货", "return_refund"), ("好的", "affirm")]
    result = augmented(pairs, {**config, "augment": 3})
    assert result[:2] == pairs
    copies = result[2:]
    assert len(copies) == 3 and all(label == "return_refund" for _, label in copies)
    assert all(any(text.startswith(o) for o in config["openers"]) for text, _ in copies)
    assert augmented(pairs, {**config, "augment": 3}) == result  # same seed, same copies
    assert augmented(pairs, {**config, "augment": 0}) == pairs
