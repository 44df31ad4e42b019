"""The latest segment run and the win-back list (for the desk and the scheduler)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import or_, select

from mall import schemas
from mall.errors import NotFound
from mall.models import Customer, SegmentRun
from mall.routes.deps import DatabaseDep
from mall.services.card import segment_reason
from mall.services.churn import WIN_BACK_THRESHOLD

router = APIRouter(tags=["segments"])


@router.get(
    "/segments/latest",
    response_model=schemas.SegmentRunOut,
    responses={404: {"model": schemas.ErrorOut}},
)
def latest_run(database: DatabaseDep) -> dict[str, Any]:
    """The latest clustering run: k, silhouette, the named clusters, the churn model's AUC."""
    with database.read_session() as session:
        run = session.scalars(select(SegmentRun).order_by(SegmentRun.id.desc())).first()
        if run is None:
            raise NotFound("还没有计算过分群：运行 python -m mall segments")
        return {
            "version": run.id,
            "computed_at": run.computed_at,
            "window_days": run.window_days,
            "customers": run.customers,
            "k": run.k,
            "silhouette": run.silhouette,
            "clusters": run.clusters,
            "churn_auc": run.churn_auc,
        }


@router.get("/win-back", response_model=schemas.WinBackOut)
def win_back(
    database: DatabaseDep, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> dict[str, Any]:
    """Customers likeliest to be lost: churn probability at or above the threshold, or in
    the churn-risk segment; likeliest first. Customers who opted out of marketing are not on
    it."""
    with database.read_session() as session:
        found = session.scalars(
            select(Customer)
            .where(
                or_(
                    Customer.churn_probability >= WIN_BACK_THRESHOLD,
                    Customer.segment == "churn_risk",
                )
            )
            .order_by(Customer.churn_probability.desc().nulls_last(), Customer.id)
            .limit(limit * 2)
        ).all()
        items = [
            {
                "customer_id": customer.id,
                "display_name": customer.display_name,
                "segment": customer.segment,
                "churn_probability": customer.churn_probability,
                "reason": segment_reason(customer),
                "last_visit_at": customer.last_visit_at,
            }
            for customer in found
            if "marketing" not in (customer.opt_outs or [])
        ][:limit]
    return {"threshold": WIN_BACK_THRESHOLD, "items": items}
