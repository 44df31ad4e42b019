"""The A/B tests' report: each experiment's variants, conversions, intervals and p-values."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from mall import schemas
from mall.experiments import ExperimentBook, report
from mall.routes.deps import DatabaseDep
from mall.services.outreach import experiment_counts

router = APIRouter(tags=["experiments"])


@router.get("/experiments", response_model=schemas.ExperimentsOut)
def experiments_report(request: Request, database: DatabaseDep) -> dict[str, Any]:
    """What `python -m mall experiments` prints, for the desk: every experiment in force.

    Conversions are joined from coupons (`coupon_claim`) and orders (`order_7d`) within 7 days
    of a customer's first exposure; `reply` is counted from conversations, not here.
    """
    book: ExperimentBook = request.app.state.experiments
    items = []
    with database.read_session() as session:
        for experiment in book.current():
            counted = experiment.metric != "reply"
            counts = experiment_counts(session, experiment) if counted else {}
            results, reached = report(experiment, counts)
            items.append(
                {
                    "id": experiment.id,
                    "line": experiment.line,
                    "metric": experiment.metric,
                    "counted_here": counted,
                    "planned_per_variant": experiment.planned_per_variant,
                    "reached": reached,
                    "control": experiment.control.id,
                    "variants": [
                        {
                            "variant": r.variant,
                            "exposures": r.exposures,
                            "conversions": r.conversions,
                            "rate": r.rate,
                            "low": r.interval.low,
                            "high": r.interval.high,
                            "p_value": r.p_value,
                            "stopped": r.stopped,
                        }
                        for r in results
                    ],
                }
            )
    return {"items": items}
