"""Segments by K-Means: named groups come out right and stable, runs are versioned, the
demo customers land where their behaviour says, the command prints the clusters."""

from __future__ import annotations

import hashlib
import logging
import random
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from mall.__main__ import main
from mall.db import Database, upgrade
from mall.models import Customer, SegmentRun, utcnow
from mall.population import generate_population, touch_last_visits
from mall.seeding import seed
from mall.services.clustering import cluster_customers, run_segmentation
from mall.services.segments import Features
from tests.mall.test_profiles import SEEDED_SEGMENTS

REPO = Path(__file__).resolve().parents[2]


def archetype(kind: str, rng: random.Random) -> Features:
    """Hand-made behaviour of one customer of a known group, with noise."""
    jitter = lambda value, spread: max(0.0, rng.gauss(value, spread))  # noqa: E731
    if kind == "high_value":
        return Features(
            recency_days=jitter(2, 1),
            visit_days=jitter(10, 2),
            cart_no_order=jitter(3, 0.7),
            compares=jitter(0.5, 0.5),
            orders=jitter(1, 0.5),
            spend=jitter(900, 300),
            tenure_days=55,
        )
    if kind == "churn_risk":
        return Features(
            recency_days=jitter(30, 8),
            visit_days=jitter(5, 1.5),
            orders=jitter(1.5, 0.5),
            spend=jitter(500, 150),
            negative_share=jitter(0.3, 0.2),
            tenure_days=58,
        )
    if kind == "price_sensitive":
        return Features(
            recency_days=jitter(1.5, 1),
            visit_days=jitter(7, 1.5),
            compares=jitter(8, 2),
            coupon_claims=jitter(2, 0.7),
            consults=jitter(4, 1),
            orders=jitter(0.3, 0.3),
            tenure_days=45,
        )
    if kind == "new":
        return Features(
            recency_days=jitter(1, 0.6), visit_days=jitter(2, 0.7), tenure_days=jitter(7, 3)
        )
    return Features(
        recency_days=jitter(2, 1),
        visit_days=jitter(9, 2),
        orders=jitter(3.5, 1),
        spend=jitter(700, 200),
        consults=jitter(2, 1),
        tenure_days=50,
    )


KINDS = ("high_value", "churn_risk", "price_sensitive", "new", "regular")


def synthetic(count: int, seed: int = 1) -> tuple[list[str], list[Features]]:
    rng = random.Random(seed)
    truth = [KINDS[i % len(KINDS)] for i in range(count)]
    return truth, [archetype(kind, rng) for kind in truth]


def test_kmeans_finds_and_names_the_five_groups_of_synthetic_customers() -> None:
    truth, features = synthetic(500)
    assignment, clusters, k, silhouette, scores = cluster_customers(features, k_min=4, k_max=8)
    assert 5 <= k <= 8 and silhouette is not None and silhouette > 0.3
    assert set(scores) == {4, 5, 6, 7, 8} and scores[k] == max(scores.values())
    named = [clusters[a].name for a in assignment]
    right = sum(1 for t, n in zip(truth, named, strict=True) if t == n)
    assert right / len(truth) >= 0.95, Counter(zip(truth, named, strict=True))
    assert {c.name for c in clusters} == set(KINDS)
    assert sum(c.size for c in clusters) == 500


def test_the_same_data_gives_the_same_clusters_and_names() -> None:
    _, features = synthetic(400, seed=5)
    first = cluster_customers(features, k_min=5, k_max=7)
    second = cluster_customers(list(features), k_min=5, k_max=7)
    assert first[0] == second[0]
    assert [(c.name, c.size) for c in first[1]] == [(c.name, c.size) for c in second[1]]
    # Listed in a fixed order: by segment, never by K-Means' own label numbers.
    order = [c.name for c in first[1]]
    assert order == sorted(order, key=KINDS.index) or order == sorted(
        order, key=("high_value", "churn_risk", "price_sensitive", "new", "regular").index
    )


def test_too_few_customers_are_each_named_by_the_rules() -> None:
    truth, features = synthetic(10)
    assignment, clusters, k, silhouette, _ = cluster_customers(features, k_min=5, k_max=8)
    assert (k, silhouette) == (0, None)
    assert [clusters[a].name for a in assignment] == truth


@pytest.fixture
def population(db_url: str, database: Database) -> Database:
    with database.write_session() as session:
        generate_population(session=session, customers=300, random_seed=7)
        touch_last_visits(session)
    return database


def test_the_demo_customers_land_in_the_segments_their_behaviour_describes(
    population: Database,
) -> None:
    with population.write_session() as session:
        result = run_segmentation(session=session)
    assert result.k >= 5 and result.silhouette is not None
    assert result.customers == 305
    assert {c.name for c in result.clusters} == set(KINDS)
    with population.read_session() as session:
        placed = dict(
            session.execute(
                select(Customer.id, Customer.segment).where(Customer.id.in_(SEEDED_SEGMENTS))
            ).all()
        )
    assert placed == SEEDED_SEGMENTS
    assert result.churn_auc is not None and 0.5 < result.churn_auc <= 1.0


def test_each_run_is_a_new_version_and_customers_record_it(population: Database) -> None:
    now = utcnow()
    with population.write_session() as session:
        first = run_segmentation(session=session, now=now)
    with population.write_session() as session:
        second = run_segmentation(session=session, now=now + timedelta(seconds=1))
    assert second.run_id == first.run_id + 1
    assert [(c.name, c.size) for c in first.clusters] == [(c.name, c.size) for c in second.clusters]
    with population.read_session() as session:
        vip = session.get(Customer, "wx-o7Xh2-vip")
        assert vip.segment_run_id == second.run_id
        assert vip.segment_computed_at == now + timedelta(seconds=1)
        assert vip.segment_features["cart_no_order"] == 2.0
        assert 0.0 <= vip.churn_probability <= 1.0
        runs = session.scalars(select(SegmentRun).order_by(SegmentRun.id)).all()
        assert [r.id for r in runs] == [first.run_id, second.run_id]
        assert runs[-1].clusters[0]["centroid"]["visit_days"] > 0
        unplaced = session.scalar(
            select(func.count()).select_from(Customer).where(Customer.segment_run_id.is_(None))
        )
        assert unplaced == 0


def test_the_generator_is_deterministic(tmp_path: Path) -> None:
    now = utcnow()

    def build(name: str, random_seed: int = 3) -> str:
        url = f"sqlite:///{tmp_path / name}"
        upgrade(url)
        database = Database(url)
        with database.write_session() as session:
            seed(session=session, now=now)
            counts = generate_population(
                session=session, customers=120, random_seed=random_seed, now=now
            )
        assert counts["customers"] == 120
        with database.engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT customer_id, type, product_id, occurred_at, source, event_id "
                    "FROM behaviour_events ORDER BY customer_id, event_id, id"
                )
            ).all()
        database.dispose()
        return hashlib.sha256(repr(rows).encode()).hexdigest()

    assert build("a.db") == build("b.db")
    assert build("c.db", random_seed=4) != build("a2.db")


def test_generating_again_adds_nobody_twice(population: Database) -> None:
    with population.write_session() as session:
        again = generate_population(session=session, customers=300, random_seed=7)
        assert again["customers"] == 0
        more = generate_population(session=session, customers=320, random_seed=7)
        assert more["customers"] == 20


def test_segments_command_prints_k_silhouette_and_the_named_clusters(db_url: str) -> None:
    env = {"MALL_DATABASE_URL": db_url, "PATH": "/usr/bin:/bin"}
    seeded = subprocess.run(
        [sys.executable, "-m", "mall", "seed", "--customers", "300"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert seeded.returncode == 0, seeded.stderr
    done = subprocess.run(
        [sys.executable, "-m", "mall", "segments"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "305 customers" in out and "k = " in out and "silhouette" in out
    for name in KINDS:
        assert name in out
    assert "recency_days" in out and "cart_no_order" in out
    assert "ROC AUC" in out
    # `seed --customers` placed everyone already: the run before this one.
    assert "segments run 2" in out and "segments run 1" in seeded.stdout


def test_segments_without_a_schema_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("MALL_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    with caplog.at_level(logging.ERROR):
        assert main(["segments"]) == 1
    assert "init-db" in caplog.text


@pytest.mark.postgres
def test_segments_on_postgresql(postgres_url: str) -> None:
    database = Database(postgres_url)
    try:
        with database.write_session() as session:
            seed(session=session)
            generate_population(session=session, customers=300, random_seed=7)
            touch_last_visits(session)
        with database.write_session() as session:
            result = run_segmentation(session=session)
        assert result.k >= 5
        with database.read_session() as session:
            placed = dict(
                session.execute(
                    select(Customer.id, Customer.segment).where(Customer.id.in_(SEEDED_SEGMENTS))
                ).all()
            )
        assert placed == SEEDED_SEGMENTS
    finally:
        database.dispose()


def test_the_latest_run_and_the_win_back_list_through_the_api(
    population: Database, client: Any
) -> None:
    assert client.get("/segments/latest").status_code == 404
    with population.write_session() as session:
        result = run_segmentation(session=session)
    latest = client.get("/segments/latest").json()
    assert (latest["version"], latest["k"]) == (result.run_id, result.k)
    assert [c["name"] for c in latest["clusters"]] == [c.name for c in result.clusters]
    items = client.get("/win-back", params={"limit": 500}).json()["items"]
    ids = [item["customer_id"] for item in items]
    assert "wx-o7Xh2-churn" in ids and "wx-o7Xh2-vip" not in ids
    probabilities = [item["churn_probability"] for item in items if item["churn_probability"]]
    assert probabilities == sorted(probabilities, reverse=True)
    assert all(
        item["segment"] == "churn_risk" or item["churn_probability"] >= 0.5 for item in items
    )
    churn = next(item for item in items if item["customer_id"] == "wx-o7Xh2-churn")
    assert churn["reason"] == "60天未互动"
