"""Segments by K-Means over every customer's behaviour features.

One run: read the features of all customers over the window (a handful of aggregate
queries, not one per customer), scale them (log for counts and money, then standard
scores), fit K-Means for each k in the configured range and keep the k with the best
silhouette score, then name every cluster by applying the segment rules
(`mall.services.segments`) to its centroid, the members' average features. Same data,
same result: K-Means starts from a fixed seed and the clusters are listed in a fixed
order. Each customer's segment records the run (`segment_runs`, the model version), when
it was computed and the features it saw.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import JSON, bindparam, case, func, literal_column, select, type_coerce, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from mall.models import BehaviourEvent, Coupon, Customer, Order, SegmentRun, utcnow
from mall.services.segments import (
    DEFAULT_WINDOW_DAYS,
    SEGMENTS,
    SPENDING_STATUSES,
    FeatureAccumulator,
    Features,
    name_segment,
)

logger = logging.getLogger(__name__)

# Counts and money are heavy-tailed: log1p before scaling, so one big spender does not
# make every other customer look alike.
LOG_FEATURES = frozenset(
    {"visit_days", "cart_no_order", "compares", "coupon_claims", "consults", "orders", "spend"}
)
# Below this many customers clusters mean little; each customer is named from their own
# features instead (the run says k = 0).
MIN_CUSTOMERS_TO_CLUSTER = 30
SILHOUETTE_SAMPLE = 4000
RANDOM_STATE = 0


@dataclass(frozen=True)
class Cluster:
    """One named cluster of a run."""

    name: str
    size: int
    centroid: Features


@dataclass(frozen=True)
class SegmentationResult:
    """What a run found, and the model version it was stored as."""

    run_id: int
    computed_at: datetime
    customers: int
    window_days: int
    k: int
    silhouette: float | None
    scores: dict[int, float]
    clusters: list[Cluster]
    churn_auc: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def epoch_seconds(column: Any, dialect: str) -> ColumnElement[Any]:
    """A timestamp column as seconds since the epoch, computed by the database."""
    if dialect == "postgresql":
        return func.extract("epoch", column)
    return (func.julianday(column) - literal_column("2440587.5")) * literal_column("86400.0")


def gather_features(
    *, session: Session, now: datetime, window_days: int = DEFAULT_WINDOW_DAYS
) -> tuple[list[str], list[Features]]:
    """Every customer's features (ids in a stable order), in a few aggregate queries."""
    dialect = session.get_bind().dialect.name
    start = now - timedelta(days=window_days)
    customers = session.execute(
        select(Customer.id, epoch_seconds(Customer.created_at, dialect)).order_by(Customer.id)
    ).all()
    last_seen = dict(
        session.execute(
            select(
                BehaviourEvent.customer_id,
                epoch_seconds(func.max(BehaviourEvent.occurred_at), dialect),
            ).group_by(BehaviourEvent.customer_id)
        ).all()
    )
    spend = dict(
        session.execute(
            select(Order.customer_id, func.sum(Order.total))
            .where(Order.status.in_(SPENDING_STATUSES), Order.created_at >= start)
            .group_by(Order.customer_id)
        ).all()
    )
    claims = dict(
        session.execute(
            select(Coupon.customer_id, func.count())
            .where(Coupon.issued_at >= start)
            .group_by(Coupon.customer_id)
        ).all()
    )
    # Only consults (sentiment) and orders (their products) need their details decoded.
    details = type_coerce(
        case(
            (BehaviourEvent.type.in_(("consult", "order")), BehaviourEvent.properties),
            else_=None,
        ),
        JSON,
    )
    events = session.execute(
        select(
            BehaviourEvent.customer_id,
            BehaviourEvent.type,
            BehaviourEvent.product_id,
            epoch_seconds(BehaviourEvent.occurred_at, dialect),
            details,
        )
        .where(BehaviourEvent.occurred_at >= start)
        .order_by(BehaviourEvent.customer_id, BehaviourEvent.occurred_at, BehaviourEvent.id)
    )
    stamp = now.timestamp()
    accumulators: dict[str, FeatureAccumulator] = {}
    for customer_id, kind, product, when, properties in events:
        accumulator = accumulators.get(customer_id)
        if accumulator is None:
            accumulator = accumulators[customer_id] = FeatureAccumulator(stamp)
        if properties:
            accumulator.add(
                kind, product, float(when), properties.get("sentiment"), properties.get("products")
            )
        else:
            accumulator.add(kind, product, float(when))
    ids: list[str] = []
    features: list[Features] = []
    for customer_id, created in customers:
        created = float(created)
        accumulator = accumulators.get(customer_id) or FeatureAccumulator(stamp)
        ids.append(customer_id)
        features.append(
            accumulator.features(
                now=stamp,
                window_days=window_days,
                last_seen=float(last_seen.get(customer_id) or created),
                created=created,
                spend=float(spend.get(customer_id) or 0),
                coupon_claims=int(claims.get(customer_id) or 0),
            )
        )
    return ids, features


def scaled_matrix(features: Sequence[Features]) -> np.ndarray:
    """The feature matrix, log-transformed where heavy-tailed, then standard scores."""
    names = Features.names()
    matrix = np.array([f.as_row() for f in features], dtype=float)
    for column, name in enumerate(names):
        if name in LOG_FEATURES:
            matrix[:, column] = np.log1p(np.clip(matrix[:, column], 0, None))
    mean = matrix.mean(axis=0)
    spread = matrix.std(axis=0)
    spread[spread == 0] = 1.0
    return (matrix - mean) / spread


def choose_k(
    matrix: np.ndarray, k_min: int, k_max: int
) -> tuple[int, np.ndarray, dict[int, float]]:
    """Fit K-Means for each k and keep the best silhouette: (k, labels, score per k)."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    n = len(matrix)
    scores: dict[int, float] = {}
    best: tuple[float, int, np.ndarray] | None = None
    for k in range(k_min, min(k_max, n - 1) + 1):
        model = KMeans(n_clusters=k, n_init=4, random_state=RANDOM_STATE)
        labels = model.fit_predict(matrix)
        if len(set(labels.tolist())) < 2:
            continue
        score = float(
            silhouette_score(
                matrix,
                labels,
                sample_size=min(n, SILHOUETTE_SAMPLE),
                random_state=RANDOM_STATE,
            )
        )
        scores[k] = round(score, 4)
        if best is None or score > best[0] + 1e-9:
            best = (score, k, labels)
    if best is None:
        raise ValueError("K-Means found no two clusters in this data")
    return best[1], best[2], scores


def _centroid(members: Sequence[Features]) -> Features:
    rows = np.array([f.as_row() for f in members], dtype=float)
    return Features(**dict(zip(Features.names(), rows.mean(axis=0).tolist(), strict=True)))


def cluster_customers(
    features: Sequence[Features], *, k_min: int, k_max: int
) -> tuple[list[int], list[Cluster], int, float | None, dict[int, float]]:
    """Cluster and name: (cluster index per customer, clusters, k, silhouette, scores)."""
    if len(features) < max(MIN_CUSTOMERS_TO_CLUSTER, k_min + 1):
        names = [name_segment(f) for f in features]
        clusters = []
        for segment in SEGMENTS:
            members = [f for f, n in zip(features, names, strict=True) if n == segment]
            if members:
                clusters.append(Cluster(segment, len(members), _centroid(members)))
        order = {c.name: i for i, c in enumerate(clusters)}
        return [order[n] for n in names], clusters, 0, None, {}
    k, labels, scores = choose_k(scaled_matrix(features), k_min, k_max)
    raw: list[Cluster] = []
    for label in range(k):
        members = [f for f, own in zip(features, labels.tolist(), strict=True) if own == label]
        if members:
            centroid = _centroid(members)
            raw.append(Cluster(name_segment(centroid), len(members), centroid))
    # A fixed order: by segment, then by centroid (recency, visits) - never by K-Means' labels.
    rank = {segment: i for i, segment in enumerate(SEGMENTS)}
    ordered = sorted(
        range(len(raw)),
        key=lambda i: (rank[raw[i].name], tuple(round(v, 6) for v in raw[i].centroid.as_row())),
    )
    labels_in_use = sorted(set(labels.tolist()))
    position = {labels_in_use[i]: ordered.index(i) for i in range(len(raw))}
    return (
        [position[label] for label in labels.tolist()],
        [raw[i] for i in ordered],
        k,
        scores[k],
        scores,
    )


def run_segmentation(
    *,
    session: Session,
    now: datetime | None = None,
    window_days: int = DEFAULT_WINDOW_DAYS,
    k_min: int = 5,
    k_max: int = 8,
    churn: bool = True,
) -> SegmentationResult:
    """Recompute every customer's segment and store it as a new model version."""
    now = now or utcnow()
    ids, features = gather_features(session=session, now=now, window_days=window_days)
    if not ids:
        raise ValueError("there are no customers to segment")
    assignment, clusters, k, silhouette, scores = cluster_customers(
        features, k_min=k_min, k_max=k_max
    )
    churn_auc = None
    churn_scores: list[float | None] = [None] * len(ids)
    if churn:
        from mall.services.churn import score_churn

        churn_auc, churn_scores = score_churn(session=session, now=now, ids=ids)
    run = SegmentRun(
        computed_at=now,
        window_days=window_days,
        customers=len(ids),
        k=k,
        silhouette=silhouette,
        clusters=[
            {"name": c.name, "size": c.size, "centroid": c.centroid.as_dict()} for c in clusters
        ],
        churn_auc=churn_auc,
    )
    session.add(run)
    session.flush()
    table = Customer.__table__
    statement = (
        update(table)
        .where(table.c.id == bindparam("cid"))
        .values(
            segment=bindparam("name"),
            segment_run_id=run.id,
            segment_computed_at=bindparam("at"),
            segment_features=bindparam("features"),
            churn_probability=bindparam("churn"),
        )
    )
    rows = [
        {
            "cid": customer_id,
            "name": clusters[assignment[i]].name,
            "at": now,
            "features": features[i].as_dict(),
            "churn": churn_scores[i],
        }
        for i, customer_id in enumerate(ids)
    ]
    for start in range(0, len(rows), 5000):
        session.execute(statement, rows[start : start + 5000])
    logger.info("segments run %d: %d customers, k=%d", run.id, len(ids), k)
    return SegmentationResult(
        run_id=int(run.id),
        computed_at=now,
        customers=len(ids),
        window_days=window_days,
        k=k,
        silhouette=silhouette,
        scores=scores,
        clusters=clusters,
        churn_auc=churn_auc,
    )


def report(result: SegmentationResult) -> str:
    """The run as the command line prints it."""
    lines = [
        f"segments run {result.run_id}: {result.customers} customers, "
        f"window {result.window_days} days",
    ]
    if result.k == 0:
        lines.append(
            f"too few customers to cluster (< {MIN_CUSTOMERS_TO_CLUSTER}): "
            "each named by the segment rules"
        )
    else:
        tried = ", ".join(f"k={k}: {score:.3f}" for k, score in sorted(result.scores.items()))
        lines.append(f"k = {result.k}, silhouette {result.silhouette:.3f} (tried {tried})")
    names = Features.names()
    header = f"{'cluster':<8}{'name':<17}{'size':>6}  " + "  ".join(
        f"{n:>{max(len(n), 6)}}" for n in names
    )
    lines.append(header)
    for index, cluster in enumerate(result.clusters):
        values = cluster.centroid.as_dict(1)
        lines.append(
            f"{index:<8}{cluster.name:<17}{cluster.size:>6}  "
            + "  ".join(f"{values[n]:>{max(len(n), 6)}.1f}" for n in names)
        )
    if result.churn_auc is not None:
        lines.append(f"churn model: ROC AUC {result.churn_auc:.3f} on the held-out customers")
    return "\n".join(lines)
