"""A/B tests: the experiments file, stable assignment and the report's statistics."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from mall.experiments import (
    ExperimentConfigError,
    format_report,
    load_experiments,
    parse_experiments,
    report,
    sample_size_per_variant,
    two_proportion_p_value,
    wilson_interval,
)

DOCUMENT = {
    "experiments": [
        {
            "id": "price_line",
            "line": "utter_price_quote",
            "metric": "coupon_claim",
            "planned_per_variant": 400,
            "variants": [
                {"id": "battery", "weight": 1},
                {"id": "award", "weight": 3},
            ],
        }
    ]
}


def test_assignment_is_stable_and_follows_the_weights() -> None:
    [experiment] = parse_experiments(DOCUMENT)
    customers = [f"wx-{n}" for n in range(8000)]
    first = [experiment.assign(c) for c in customers]
    assert first == [experiment.assign(c) for c in customers]  # same answer every time
    shares = Counter(v.id for v in first if v)
    assert shares["award"] / len(customers) == pytest.approx(0.75, abs=0.02)


def test_a_stopped_variant_gets_no_new_customers_and_the_rest_keep_theirs() -> None:
    [before] = parse_experiments(DOCUMENT)
    document = {"experiments": [dict(DOCUMENT["experiments"][0])]}
    document["experiments"][0]["variants"] = [
        {"id": "battery", "weight": 1, "stopped": True},
        {"id": "award", "weight": 3},
    ]
    [after] = parse_experiments(document)
    customers = [f"c{n}" for n in range(500)]
    assert {after.assign(c).id for c in customers} == {"award"}  # type: ignore[union-attr]
    kept = [c for c in customers if before.assign(c).id == "award"]  # type: ignore[union-attr]
    assert kept and all(after.assign(c).id == "award" for c in kept)  # type: ignore[union-attr]


def test_experiments_hash_independently() -> None:
    other = {"experiments": [dict(DOCUMENT["experiments"][0], id="welcome_line")]}
    [a] = parse_experiments(DOCUMENT)
    [b] = parse_experiments(other)
    customers = [f"c{n}" for n in range(4000)]
    same = sum(a.assign(c).id == b.assign(c).id for c in customers)  # type: ignore[union-attr]
    # Independent 25/75 splits agree on 0.25² + 0.75² = 62.5 % of customers.
    assert same / len(customers) == pytest.approx(0.625, abs=0.03)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"metric": "clicks"}, "`metric` must be one of"),
        ({"variants": [{"id": "only"}]}, "at least two"),
        ({"variants": [{"id": "a"}, {"id": "a"}]}, "must differ"),
        ({"variants": [{"id": "a", "weight": -1}, {"id": "b"}]}, "weight >= 0"),
        ({"line": ""}, "`line`"),
        ({"planned_per_variant": "many"}, "whole number"),
    ],
)
def test_a_bad_experiment_is_refused_with_its_name_and_field(
    change: dict[str, object], message: str
) -> None:
    document = {"experiments": [dict(DOCUMENT["experiments"][0], **change)]}
    with pytest.raises(ExperimentConfigError, match="'price_line'") as error:
        parse_experiments(document)
    assert message in str(error.value)


def test_duplicate_ids_and_malformed_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ExperimentConfigError, match="used twice"):
        parse_experiments({"experiments": DOCUMENT["experiments"] * 2})
    broken = tmp_path / "experiments.yml"
    broken.write_text("experiments: [\n", encoding="utf-8")
    with pytest.raises(ExperimentConfigError, match="not valid YAML"):
        load_experiments(broken)
    assert load_experiments(tmp_path / "absent.yml") == ()


def test_statistics_match_a_hand_computed_example() -> None:
    # 40 of 400 against 60 of 400: pooled rate 0.125, z = -0.05 / sqrt(0.125 * 0.875 * 2/400)
    # = -2.138, two-sided p = 0.0325. Wilson 95 % for 40/400: 0.0744 to 0.1333.
    assert two_proportion_p_value(40, 400, 60, 400) == pytest.approx(0.0325, abs=0.0005)
    interval = wilson_interval(40, 400)
    assert (interval.low, interval.high) == (
        pytest.approx(0.0744, abs=0.0005),
        pytest.approx(0.1333, abs=0.0005),
    )
    # 10 % -> 15 % at alpha 0.05 and power 0.8 needs 686 customers per variant.
    assert sample_size_per_variant(0.10, 0.05) == 686


def test_edge_counts_are_defined_and_bad_counts_refused() -> None:
    assert two_proportion_p_value(0, 0, 3, 10) is None
    assert two_proportion_p_value(0, 10, 0, 10) == 1.0
    assert wilson_interval(0, 0).high == 1.0
    assert wilson_interval(0, 20).low == 0.0
    with pytest.raises(ValueError):
        wilson_interval(5, 3)
    with pytest.raises(ValueError):
        sample_size_per_variant(0.0, 0.1)


def test_the_report_compares_with_the_control_and_knows_when_the_plan_is_reached() -> None:
    [experiment] = parse_experiments(DOCUMENT)
    results, reached = report(experiment, {"battery": (400, 40), "award": (420, 63)})
    control, variant = results
    assert control.p_value is None and control.rate == pytest.approx(0.10)
    assert variant.rate == pytest.approx(0.15)
    assert variant.p_value is not None and variant.p_value < 0.05
    assert reached
    _, reached = report(experiment, {"battery": (400, 40), "award": (120, 20)})
    assert not reached
    text = format_report(experiment, results, True)
    assert "price_line" in text and "control" in text and "(reached)" in text
