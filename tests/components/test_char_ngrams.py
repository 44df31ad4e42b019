"""The shared character n-gram model: sklearn's probabilities, kept across a save and load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from components.char_ngrams import CharNgramModel
from components.placeholders import canonical

TEXTS = ["我要退货", "怎么退款", "快递到哪了", "还没发货", "能开发票吗", "发票抬头", "[ORDERID_1]"]
LABELS = ["refund", "refund", "status", "status", "invoice", "invoice", "other"]


def test_probabilities_are_sklearns() -> None:
    model = CharNgramModel.fit(TEXTS, LABELS, C=10.0)
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
    features = vectorizer.fit_transform([canonical(t) for t in TEXTS])
    reference = LogisticRegression(C=10.0, solver="liblinear", random_state=42)
    reference.fit(features, LABELS)
    probe = ["退款多久到", "发票呢", "单号[ORDERID_999]"]
    expected = reference.predict_proba(vectorizer.transform([canonical(t) for t in probe]))
    assert model.labels == list(reference.classes_)
    assert np.allclose(model.probabilities(probe), expected, atol=1e-5)


def test_two_labels_read_like_sklearn() -> None:
    model = CharNgramModel.fit(TEXTS[:4], LABELS[:4], C=10.0)
    row = model.probabilities(["退款"])[0]
    assert row.sum() == pytest.approx(1.0)
    assert model.ranking("退款")[0][0] == "refund"


def test_save_and_load_keep_the_answers(tmp_path: Path) -> None:
    model = CharNgramModel.fit(TEXTS, LABELS, C=10.0)
    model.save(tmp_path, "m")
    loaded = CharNgramModel.load(tmp_path, "m")
    probe = ["退货", "物流", "发票"]
    assert np.allclose(loaded.probabilities(probe), model.probabilities(probe))
    assert not list(tmp_path.glob("*.pkl"))


def test_one_label_is_refused() -> None:
    with pytest.raises(ValueError):
        CharNgramModel.fit(["a", "b"], ["x", "x"], C=1.0)


@pytest.mark.parametrize(
    "text",
    [
        "退款多久到",
        "发票呢  发票   呢\t\n抬头",  # whitespace runs, as sklearn folds them
        "单号[ORDERID_999] 退款 [金额x] <num>",
        "HELLO 发票 Invoice",  # upper case
        "",
        "   ",
        "👍👍",
        "纯粹没见过的字",  # no known n-gram
        "退" * 5000,
    ],
)
def test_one_message_reads_as_the_batch_does(text: str) -> None:
    # A message alone takes the direct path; a batch goes through sklearn's transform.
    texts = [*TEXTS, "invoice please", "发票 抬头 公司", "hello 退款 多久"]
    model = CharNgramModel.fit(texts, [*LABELS, "invoice", "invoice", "refund"], C=10.0)
    alone = model.probabilities([text])[0]
    batch = model.probabilities([text, "退货"])[0]
    assert np.allclose(alone, batch, atol=1e-5), (alone, batch)
    assert alone.sum() == pytest.approx(1.0)
