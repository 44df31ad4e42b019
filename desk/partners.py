"""Distributor and supplier pages: a partner signs in like an agent and sees their own
figures only (the mall checks the account owns the card or the supplier it asks about)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from desk.console import PREFIX, SEGMENT_NAMES, _csrf, current_account
from desk.errors import MallRefused
from desk.pages import render, services

router = APIRouter(prefix=f"{PREFIX}/partner", include_in_schema=False)

COMPLAINT_NAMES = {"defect": "质量缺陷", "damage": "破损", "wrong_item": "发错货", "other": "其他"}


@router.get("", response_class=HTMLResponse)
def partner_page(request: Request) -> Response:
    """The signed-in distributor's or supplier's page."""
    account, token = current_account(request)
    role = account.get("role", "agent")
    scope = str(account.get("scope_id") or "")
    mall = services(request).mall
    try:
        if role == "distributor":
            stats = mall.distributor_stats(scope, token)
            return render(
                request,
                "partner/distributor.html",
                agent=account,
                csrf=_csrf(token),
                prefix=PREFIX,
                stats=stats,
                segment_names=SEGMENT_NAMES,
            )
        if role == "supplier":
            backflow = mall.supplier_backflow(scope, token)
            return render(
                request,
                "partner/supplier.html",
                agent=account,
                csrf=_csrf(token),
                prefix=PREFIX,
                backflow=backflow,
                complaint_names=COMPLAINT_NAMES,
            )
    except MallRefused as refused:
        return render(
            request,
            "problem.html",
            status_code=refused.status if refused.status in (403, 404) else 502,
            title="无法查看",
            message=refused.message or "无法读取数据",
            back=PREFIX + "/login",
        )
    return RedirectResponse(PREFIX, status_code=303)
