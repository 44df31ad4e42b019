"""The A/B tests of sales lines for the team: the same figures `python -m mall experiments`
prints (agents only; partner accounts are refused like on every console page)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from desk.console import PREFIX, _csrf, current_agent
from desk.pages import render, services

router = APIRouter(prefix=f"{PREFIX}/experiments", include_in_schema=False)

METRIC_NAMES = {"coupon_claim": "领券率", "order_7d": "7天内下单率", "reply": "回复率"}


@router.get("", response_class=HTMLResponse)
def experiments_page(request: Request) -> HTMLResponse:
    """Each experiment: variants, exposures, conversions, rate, 95 % interval, p-value."""
    agent, token = current_agent(request)
    return render(
        request,
        "console/experiments.html",
        agent=agent,
        csrf=_csrf(token),
        prefix=PREFIX,
        experiments=services(request).mall.experiments(),
        metric_names=METRIC_NAMES,
    )
