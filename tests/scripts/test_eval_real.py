"""The real-chat evaluation: its figures on hand-made sets, and a clean skip without data."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts import eval_real
from scripts.eval_real import Example, Prediction, half, roc_auc, score


def _pred(intent: str, sentiment: float = 0.0) -> Prediction:
    return Prediction(intent=intent, confidence=0.9, sentiment_score=sentiment, seconds=0.01)


def test_roc_auc_matches_hand_computed_values() -> None:
    assert roc_auc([True, False], [0.9, 0.1]) == 1.0
    assert roc_auc([True, False], [0.1, 0.9]) == 0.0
    # One tie between a positive and a negative counts half: (1 + 0.5) / 2.
    assert roc_auc([True, True, False], [0.9, 0.5, 0.5]) == pytest.approx(0.75)
    assert roc_auc([True, True], [0.1, 0.2]) != roc_auc([True, True], [0.1, 0.2])  # NaN


def test_scores_of_a_small_set() -> None:
    examples = [
        Example("1", "退货", "return_refund", sentiment="neu"),
        Example("2", "快递呢", "ask_order_status", sentiment="neg"),
        Example("3", "坏了", "complaint", sentiment="neg", escalate=True),
        Example("4", "[ORDERID_1]", "other"),
        Example("5", "嗯", "affirm", clear=False),
    ]
    predictions = [
        _pred("return_refund", 0.0),
        _pred("nlu_fallback", -0.4),
        _pred("complaint", -0.9),
        _pred("nlu_fallback", 0.0),
        _pred("deny", 0.0),
    ]
    result = score("set", examples, predictions)
    assert result.in_scope == 3 and result.other == 1  # the unsure row is not scored
    assert result.accuracy == pytest.approx(2 / 3)
    assert result.in_scope_fallback == pytest.approx(1 / 3)
    assert result.other_fallback == 1.0
    assert result.per_intent["ask_order_status"]["recall"] == 0.0
    assert result.macro_f1 == pytest.approx((1 + 1 + 0) / 3)
    assert result.confusions == [("ask_order_status", "nlu_fallback", 1)]
    # Sentiment: both negative rows score below every other row.
    assert result.neg_auc == 1.0 and result.escalate_auc == 1.0


def test_the_split_is_stable_and_roughly_even() -> None:
    ids = [f"d{i:04d}" for i in range(2000)]
    halves = [half(i) for i in ids]
    assert halves == [half(i) for i in ids]
    assert 0.45 < halves.count("tune") / len(ids) < 0.55


def test_without_the_shared_set_it_skips_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert eval_real.main(["--dev-set", str(tmp_path / "absent.csv")]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("eval-real: skipped")


def test_own_test_set_reads_out_of_scope_as_other() -> None:
    own = eval_real.read_own_test_set()
    assert len(own) > 300
    assert {e.intent for e in own} - set(eval_real.SCHEMA_INTENTS) == {"other"}


def test_a_threshold_turns_unsure_predictions_into_fallbacks() -> None:
    unsure = Prediction(
        "ask_price", 0.2, 0.0, 0.01, classified="ask_price", classified_confidence=0.2
    )
    sure = Prediction("greet", 0.9, 0.0, 0.01, classified="greet", classified_confidence=0.9)
    below, above = eval_real.with_threshold([unsure, sure], 0.3)
    assert (below.intent, above.intent) == ("nlu_fallback", "greet")
    # A lower threshold gives the classifier's own answer back, even after a fallback.
    fallen = Prediction(
        "nlu_fallback", 0.3, 0.0, 0.01, classified="ask_price", classified_confidence=0.2
    )
    assert eval_real.with_threshold([fallen], 0.1)[0].intent == "ask_price"
