"""Churn probability per customer: a logistic model on how the customer talks and when.

Features: dialogue length (average turns of a consultation), question frequency
(questions per consultation day), sentiment (average score of consultations) and recency
(days since the last interaction). Trained on the history itself: the features as they
were two weeks ago, labelled by whether the customer came back since. A stable fifth of
the customers (by a hash of the id) is held out, and the model's ROC AUC on them is what
`python -m mall segments` prints. Then every customer is scored on today's features.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mall.models import BehaviourEvent

HORIZON = timedelta(days=14)
MAX_RECENCY_DAYS = 90.0
FEATURES = ("dialogue_turns", "questions_per_day", "sentiment", "recency_days")
# Above this probability a customer is on the win-back list.
WIN_BACK_THRESHOLD = 0.5


def held_out(customer_id: str) -> bool:
    """A stable fifth of the customers, never used for fitting."""
    return hashlib.sha256(customer_id.encode()).digest()[0] < 52


def _epoch(column: object, dialect: str) -> object:
    from mall.services.clustering import epoch_seconds

    return epoch_seconds(column, dialect)


class _Talk:
    __slots__ = ("days", "questions", "sentiments", "turns")

    def __init__(self) -> None:
        self.turns: list[float] = []
        self.questions = 0.0
        self.days: set[int] = set()
        self.sentiments: list[float] = []


def _talk_until(
    consults: Sequence[tuple[str, float, dict | None]], until: float
) -> dict[str, _Talk]:
    talks: dict[str, _Talk] = {}
    for customer_id, when, properties in consults:
        if when >= until:
            continue
        talk = talks.setdefault(customer_id, _Talk())
        details = properties or {}
        talk.turns.append(float(details.get("turns") or 1))
        talk.questions += float(details.get("questions") or 1)
        talk.days.add(int(when // 86400))
        sentiment = details.get("sentiment")
        if isinstance(sentiment, int | float):
            talk.sentiments.append(float(sentiment))
    return talks


def _row(talk: _Talk | None, last: float | None, at: float) -> list[float]:
    recency = MAX_RECENCY_DAYS if last is None else min((at - last) / 86400, MAX_RECENCY_DAYS)
    if talk is None:
        return [0.0, 0.0, 0.0, recency]
    return [
        float(np.mean(talk.turns)),
        talk.questions / max(len(talk.days), 1),
        float(np.mean(talk.sentiments)) if talk.sentiments else 0.0,
        recency,
    ]


def score_churn(
    *, session: Session, now: datetime, ids: Sequence[str]
) -> tuple[float | None, list[float | None]]:
    """(held-out ROC AUC, churn probability per id); (None, Nones) without enough history."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.preprocessing import StandardScaler

    dialect = session.get_bind().dialect.name
    cutoff = (now - HORIZON).timestamp()
    stamp = now.timestamp()
    epoch = _epoch(BehaviourEvent.occurred_at, dialect)
    last_before = dict(
        session.execute(
            select(BehaviourEvent.customer_id, func.max(epoch))
            .where(BehaviourEvent.occurred_at < now - HORIZON)
            .group_by(BehaviourEvent.customer_id)
        ).all()
    )
    came_back = set(
        session.scalars(
            select(BehaviourEvent.customer_id)
            .where(BehaviourEvent.occurred_at >= now - HORIZON)
            .distinct()
        )
    )
    last_now = dict(
        session.execute(
            select(BehaviourEvent.customer_id, func.max(epoch)).group_by(BehaviourEvent.customer_id)
        ).all()
    )
    consults = [
        (cid, float(when), props)
        for cid, when, props in session.execute(
            select(BehaviourEvent.customer_id, epoch, BehaviourEvent.properties).where(
                BehaviourEvent.type == "consult"
            )
        )
    ]
    past = _talk_until(consults, cutoff)
    present = _talk_until(consults, stamp + 1)
    labelled = sorted(last_before)
    x = np.array([_row(past.get(c), float(last_before[c]), cutoff) for c in labelled])
    y = np.array([0 if c in came_back else 1 for c in labelled])
    test = np.array([held_out(c) for c in labelled], dtype=bool)
    nothing: list[float | None] = [None] * len(ids)
    if len(labelled) < 40 or len(set(y[~test].tolist())) < 2 or len(set(y[test].tolist())) < 2:
        return None, nothing
    scaler = StandardScaler().fit(x[~test])
    model = LogisticRegression(max_iter=500).fit(scaler.transform(x[~test]), y[~test])
    auc = float(roc_auc_score(y[test], model.predict_proba(scaler.transform(x[test]))[:, 1]))
    current = np.array(
        [_row(present.get(c), float(last_now[c]) if c in last_now else None, stamp) for c in ids]
    )
    probabilities = model.predict_proba(scaler.transform(current))[:, 1]
    return round(auc, 4), [round(float(p), 4) for p in probabilities]
