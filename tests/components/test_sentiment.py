"""The sentiment component scores angry customers clearly below ordinary questions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.sentiment import (
    DEFAULT_CHAT_EXAMPLES,
    HELD_OUT_CHAT_EXAMPLES,
    SentimentAnalyzer,
    read_chat_examples,
    read_lines,
)
from components.sentiment_eval import (
    ANGRY_MESSAGES,
    NEUTRAL_MESSAGES,
    SHARED_REVIEWS,
    evaluate,
    not_in_training_corpus,
    read_shared_reviews,
)

ANGRY = ["怎么还没发货??? 什么垃圾客服", "我要投诉", "再不处理给差评"]
NEUTRAL = ["快递到哪了", "怎么退货"]


def _context() -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), "test")


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> LocalModelStorage:
    return LocalModelStorage(tmp_path_factory.mktemp("sentiment-model"))


@pytest.fixture(scope="module")
def trained(storage: LocalModelStorage) -> SentimentAnalyzer:
    """The component trained on its defaults, as `rasa train` would."""
    component = SentimentAnalyzer.create(
        SentimentAnalyzer.get_default_config(), storage, Resource("sentiment"), _context()
    )
    component.train(TrainingData())
    return component


def _load(storage: LocalModelStorage, **config: Any) -> SentimentAnalyzer:
    full = {**SentimentAnalyzer.get_default_config(), **config}
    return SentimentAnalyzer.load(full, storage, Resource("sentiment"), _context())


def test_angry_messages_score_clearly_below_service_questions(trained: SentimentAnalyzer) -> None:
    angry = {text: trained.score(text) for text in ANGRY}
    neutral = {text: trained.score(text) for text in NEUTRAL}
    assert all(result["label"] == "negative" for result in angry.values()), angry
    assert all(result["label"] == "neutral" for result in neutral.values()), neutral
    worst_neutral = min(result["score"] for result in neutral.values())
    assert max(result["score"] for result in angry.values()) < worst_neutral - 0.5


def test_handoff_sets_flag_few_neutral_and_nearly_all_angry(trained: SentimentAnalyzer) -> None:
    neutral = [t for t in read_lines(NEUTRAL_MESSAGES) if trained.score(t)["label"] == "negative"]
    angry = read_lines(ANGRY_MESSAGES)
    missed = [t for t in angry if trained.score(t)["label"] != "negative"]
    assert len(neutral) <= 3, neutral
    assert len(angry) - len(missed) >= 45, missed


@pytest.mark.parametrize(
    ("text", "label", "language"),
    [
        ("this is terrible 😡", "negative", "en"),
        ("worst shop ever, total scam", "negative", "en"),
        ("thanks 👍", "positive", "en"),
        ("where is my order", "neutral", "en"),
        ("😡😡", "negative", "emoji"),
        ("👍", "positive", "emoji"),
        ("谢谢 👍", "positive", "zh"),
        ("快递到哪了 😊", "neutral", "zh"),
        ("快递到哪了 😡", "negative", "zh"),
        ("东西全坏了 this is a joke 😡", "negative", "mixed"),
        ("12315", "negative", "other"),
        ("202611180001", "neutral", "other"),
        ("？？", "neutral", "other"),
    ],
)
def test_english_emoji_and_mixed_text(
    trained: SentimentAnalyzer, text: str, label: str, language: str
) -> None:
    result = trained.score(text)
    assert (result["label"], result["language"]) == (label, language), result


def test_products_named_like_insults_are_not_anger(trained: SentimentAnalyzer) -> None:
    for text in ("垃圾袋有货吗", "烟雾报警器多少钱"):
        result = trained.score(text)
        assert result["label"] != "negative", (text, result)
        assert result["alarms"] == []


def test_swearing_is_anger_and_its_innocent_neighbours_are_not(
    trained: SentimentAnalyzer,
) -> None:
    for text in ("你妈的 倒是说话啊", "Mmp", "tmd 又没发货", "卧槽 什么破东西"):
        result = trained.score(text)
        assert result["alarms"], (text, result)
        assert result["label"] == "negative", (text, result)
    for text in ("给我妈妈的生日礼物 能包装一下吗", "去死皮膏有货吗", "我靠近路由器就连上了"):
        assert trained.score(text)["alarms"] == [], text


def test_strong_chat_signals_are_reported(trained: SentimentAnalyzer) -> None:
    result = trained.score("再不退款我就去12315投诉！！！")
    assert {"12315", "投诉", "！！！"} <= set(result["alarms"])
    assert result["score"] < -0.9


def test_sentiment_lands_in_the_parse_output(trained: SentimentAnalyzer) -> None:
    message = Message(data={"text": "什么垃圾客服"})
    [processed] = trained.process([message])
    parsed = processed.as_dict(only_output_properties=True)
    assert parsed["sentiment"]["label"] == "negative"
    assert -1.0 <= parsed["sentiment"]["score"] <= 1.0
    assert parsed["sentiment"]["language"] == "zh"


def test_empty_text_is_neutral(trained: SentimentAnalyzer) -> None:
    processed = trained.process([Message(data={"text": ""}), Message(data={"text": "  "})])
    assert [message.get("sentiment")["score"] for message in processed] == [0.0, 0.0]


def test_persisted_model_scores_the_same(
    trained: SentimentAnalyzer, storage: LocalModelStorage
) -> None:
    loaded = _load(storage)
    texts = [*ANGRY, *NEUTRAL, "thanks 👍", "发错了", "亲 有优惠吗"]
    assert [loaded.score(t) for t in texts] == [trained.score(t) for t in texts]


def test_thresholds_change_labels_without_retraining(
    trained: SentimentAnalyzer, storage: LocalModelStorage
) -> None:
    strict = _load(storage, negative_threshold=-0.9999, positive_threshold=0.9999)
    assert strict.score("我要投诉")["score"] == trained.score("我要投诉")["score"]
    assert strict.score("快递到哪了")["label"] == "neutral"
    assert strict.score("thanks 👍")["label"] == "neutral"


def test_a_model_without_training_leaves_messages_alone(tmp_path: Path) -> None:
    component = _load(LocalModelStorage(tmp_path))
    [processed] = component.process([Message(data={"text": "什么垃圾客服"})])
    assert processed.get("sentiment") is None


@pytest.mark.parametrize(
    "config",
    [
        {"negative_threshold": 0.2, "positive_threshold": 0.1},
        {"negative_threshold": -1.5},
        {"min_ngram": 3, "max_ngram": 2},
        {"n_features": 10},
        {"C": 0},
        {"C": "strong"},
        {"chat_weight": -1},
        {"alarm_terms": ["投诉("]},
        {"chat_examples": "no/such/file.tsv"},
    ],
)
def test_unworkable_config_is_refused(config: dict[str, Any]) -> None:
    with pytest.raises(InvalidConfigException):
        SentimentAnalyzer.validate_config(config)


def test_chat_examples_path_is_configurable(tmp_path: Path) -> None:
    examples = tmp_path / "chat.tsv"
    lines = [f"negative\t蓝色不行{i}" for i in range(5)]
    lines += [f"positive\t红色真好{i}" for i in range(5)]
    examples.write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = {
        **SentimentAnalyzer.get_default_config(),
        "chat_examples": str(examples),
        "review_corpus": False,
        "alarm_terms": [],
    }
    (tmp_path / "model").mkdir()
    component = SentimentAnalyzer.create(
        config, LocalModelStorage(tmp_path / "model"), Resource("s"), _context()
    )
    component.train(TrainingData())
    assert component.score("蓝色")["score"] < 0 < component.score("红色")["score"]


def test_retraining_follows_the_chat_examples(tmp_path: Path) -> None:
    examples = tmp_path / "chat.tsv"
    examples.write_text("negative\t发错了\n", encoding="utf-8")
    config = {"chat_examples": str(examples)}
    before = SentimentAnalyzer.fingerprint_addon(config)
    examples.write_text("negative\t发错了\nneutral\t在吗\n", encoding="utf-8")
    assert SentimentAnalyzer.fingerprint_addon(config) != before


def test_message_sets_are_kept_apart() -> None:
    train = [text for _, text in read_chat_examples(DEFAULT_CHAT_EXAMPLES)]
    held_out = [text for _, text in read_chat_examples(HELD_OUT_CHAT_EXAMPLES)]
    neutral, angry = read_lines(NEUTRAL_MESSAGES), read_lines(ANGRY_MESSAGES)
    sets = {"train": train, "held-out": held_out, "neutral": neutral, "angry": angry}
    names = list(sets)
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            assert not set(sets[first]) & set(sets[second]), (first, second)
    labels = [label for label, _ in read_chat_examples(DEFAULT_CHAT_EXAMPLES)]
    assert labels.count("negative") >= 300
    assert len(labels) - labels.count("negative") >= 300
    assert len(set(neutral)) >= 100 and len(set(angry)) >= 50


@pytest.mark.skipif(not SHARED_REVIEWS.is_file(), reason="shared review set absent")
def test_ranks_shared_reviews_by_negativity(trained: SentimentAnalyzer) -> None:
    reviews = read_shared_reviews()
    assert reviews is not None
    model = trained._model
    assert model is not None
    unseen = not_in_training_corpus(reviews)
    assert len(unseen) > len(reviews) // 2
    assert evaluate(model, "shared reviews", unseen).auc >= 0.92


def test_one_message_is_hashed_as_sklearn_hashes_it(trained: SentimentAnalyzer) -> None:
    model = trained._model
    assert model is not None
    texts = read_lines(NEUTRAL_MESSAGES) + read_lines(ANGRY_MESSAGES)
    texts += [
        "",
        " ",
        "a",
        "OK",
        "好",
        "退款  \t 到哪了\n\n？？",
        "WTF!!! 😡😡",
        "Ｔｅｓｔ全角ＡＢＣ",
    ]
    for text in texts:
        row = model._vectorizer.transform([text])
        columns, values = model._hashed(text)
        assert columns.tolist() == row.indices.tolist(), text
        assert np.allclose(values, row.data, rtol=0, atol=1e-12), text
