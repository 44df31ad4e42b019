"""The customer's say over proactive messages, and which A/B variant of a line they see."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from mall.db import Database
from mall.experiments import ExperimentBook, parse_experiments
from mall.models import ExperimentExposure

LINE = "utter_proactive_coupon"


def test_opting_out_and_back_in_is_stored_and_idempotent(client: TestClient) -> None:
    for _ in range(2):
        answer = client.put("/customers/web-optout-1/opt-outs/marketing")
        assert answer.status_code == 200
        assert answer.json() == {"customer_id": "web-optout-1", "opt_outs": ["marketing"]}
    assert client.get("/customers/web-optout-1/profile").json()["opt_outs"] == ["marketing"]
    for _ in range(2):
        answer = client.delete("/customers/web-optout-1/opt-outs/marketing")
        assert answer.json()["opt_outs"] == []
    assert client.get("/customers/web-optout-1/profile").json()["opt_outs"] == []


def test_an_unknown_opt_out_kind_or_customer_id_is_refused(client: TestClient) -> None:
    assert client.put("/customers/web-optout-2/opt-outs/everything").status_code == 422
    assert client.put("/customers/bad id!/opt-outs/marketing").status_code in (404, 422)


def _book(tmp_path: Path, *, stopped: bool = False) -> ExperimentBook:
    path = tmp_path / "experiments.yml"
    flag = "true" if stopped else "false"
    path.write_text(
        "experiments:\n"
        f"  - id: line_test\n    line: {LINE}\n    metric: coupon_claim\n    variants:\n"
        "      - {id: saving, weight: 1}\n"
        f"      - {{id: price_after, weight: 1, stopped: {flag}}}\n",
        encoding="utf-8",
    )
    return ExperimentBook(path)


def test_exposure_is_the_hashed_variant_recorded_once(
    client: TestClient, database: Database, tmp_path: Path
) -> None:
    book = _book(tmp_path)
    client.app.state.experiments = book  # type: ignore[attr-defined]
    (experiment,) = book.current()
    for n in range(6):
        customer = f"web-ab-{n}"
        expected = experiment.assign(customer)
        assert expected is not None
        for _ in range(2):
            body = client.post(f"/customers/{customer}/exposures", json={"line": LINE}).json()
            assert body == {
                "experiment": "line_test",
                "variant": expected.id,
                "show": expected.id,
                "control": "saving",
            }
    with database.read_session() as session:
        rows = session.scalars(
            select(ExperimentExposure).where(ExperimentExposure.experiment_id == "line_test")
        ).all()
    assert len(rows) == 6  # once per customer, however often shown


def test_a_line_without_an_experiment_is_shown_as_it_is(client: TestClient) -> None:
    body = client.post("/customers/web-ab-x/exposures", json={"line": "utter_greet"}).json()
    assert body == {"experiment": None, "variant": None, "show": None, "control": None}
    bad = client.post("/customers/web-ab-x/exposures", json={"line": "no spaces <b>"})
    assert bad.status_code == 422


def test_stopping_a_variant_in_the_file_takes_effect_without_a_restart(
    client: TestClient, tmp_path: Path
) -> None:
    book = _book(tmp_path)
    client.app.state.experiments = book  # type: ignore[attr-defined]
    (experiment,) = book.current()
    customer = next(
        f"web-stop-{n}"
        for n in range(100)
        if (variant := experiment.assign(f"web-stop-{n}")) and variant.id == "price_after"
    )
    first = client.post(f"/customers/{customer}/exposures", json={"line": LINE}).json()
    assert first["show"] == "price_after"
    time.sleep(0.01)
    _book(tmp_path, stopped=True)  # the operator edits the file on the server
    os.utime(tmp_path / "experiments.yml")
    again = client.post(f"/customers/{customer}/exposures", json={"line": LINE}).json()
    # Still counted where first exposed, shown the control from now on.
    assert again["variant"] == "price_after" and again["show"] == "saving"
    newcomer = client.post("/customers/web-stop-new/exposures", json={"line": LINE}).json()
    assert newcomer["variant"] == "saving"


def test_a_broken_edit_keeps_the_last_good_experiments(tmp_path: Path) -> None:
    book = _book(tmp_path)
    assert [e.id for e in book.current()] == ["line_test"]
    (tmp_path / "experiments.yml").write_text("experiments: [ {id: 3", encoding="utf-8")
    assert [e.id for e in book.current()] == ["line_test"]


def test_the_shipped_experiments_name_responses_the_domain_has() -> None:
    import yaml

    from mall.experiments import load_experiments

    root = Path(__file__).resolve().parents[2]
    responses = yaml.safe_load((root / "domain.yml").read_text(encoding="utf-8"))["responses"]
    experiments = load_experiments()
    assert experiments, "mall/experiments.yml ships an experiment"
    for experiment in experiments:
        assert experiment.line in responses
        for variant in experiment.variants[1:]:
            assert f"{experiment.line}_{variant.id}" in responses, variant.id


def test_parse_refuses_a_variant_list_of_one() -> None:
    from mall.experiments import ExperimentConfigError

    with pytest.raises(ExperimentConfigError, match="at least two"):
        parse_experiments(
            {
                "experiments": [
                    {"id": "x", "line": LINE, "metric": "reply", "variants": [{"id": "a"}]}
                ]
            }
        )


def test_the_demo_population_gets_exposures_once(database: Database) -> None:
    from mall.experiments import load_experiments
    from mall.population import generate_population, simulate_exposures

    experiments = load_experiments()
    with database.write_session() as session:
        generate_population(session=session, customers=200, random_seed=3)
        first = simulate_exposures(session=session, experiments=experiments, random_seed=3)
    with database.write_session() as session:
        again = simulate_exposures(session=session, experiments=experiments, random_seed=3)
    (experiment,) = experiments
    assert first[f"{experiment.id}:saving"] > 0 and first[f"{experiment.id}:price_after"] > 0
    assert sum(again.values()) == 0
    with database.read_session() as session:
        rows = session.scalars(select(ExperimentExposure)).all()
    assert len(rows) == first[f"{experiment.id}:saving"] + first[f"{experiment.id}:price_after"]
    assert all(experiment.assign(row.customer_id).id == row.variant_id for row in rows)  # type: ignore[union-attr]
