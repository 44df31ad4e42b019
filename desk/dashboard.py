"""The KPI dashboard: tiles with targets, the sales funnel, daily trends, per-distributor and
per-variant tables and the trainer's to-do list, for supervisors only.

A supervisor is a console agent named in CONSOLE_SUPERVISORS; a partner account (distributor,
supplier) and any other agent get 403. The figures come from the analytics process's read
API (its token); the desk holds no database credentials. Charts are SVG drawn here.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from desk.charts import funnel, stacked, trend
from desk.console import PREFIX, _csrf, current_account
from desk.errors import AnalyticsUnavailable
from desk.pages import render, services

logger = logging.getLogger(__name__)

router = APIRouter(prefix=PREFIX, include_in_schema=False)

MAX_DAYS = 366
TILES = (
    ("first_response_rate", "首次响应率", "60 秒内回复的会话"),
    ("conversion_rate", "转化率", "咨询后 7 天内下单的顾客"),
    ("retention_7d", "7 日留存", "7 天内再次到访"),
    ("ai_resolution_rate", "AI 解决率", "无需转人工的会话"),
    ("handoff_rate", "转人工率", "由客服接手的会话"),
    ("coupon_redemption_rate", "券核销率", "已使用的发券"),
    ("fallback_rate", "未理解率", "没听懂的顾客消息"),
)
FUNNEL_NAMES = (
    ("funnel_welcome", "欢迎"),
    ("funnel_price", "询价"),
    ("funnel_offer", "推荐优惠"),
    ("funnel_coupon", "领券"),
    ("funnel_order", "下单"),
)
SENTIMENT_NAMES = {"negative": "负面", "neutral": "中性", "positive": "正面", "unknown": "未评分"}


class NotSupervisor(Exception):
    """A signed-in account that may not see the dashboard."""


def _supervisor(request: Request) -> tuple[dict[str, Any], str]:
    account, token = current_account(request)
    if account.get("role", "agent") != "agent":
        raise NotSupervisor
    if str(account.get("username") or "") not in services(request).settings.supervisors:
        raise NotSupervisor
    return account, token


def _range(since: str, until: str) -> tuple[date, date, str]:
    """The requested whole days (default: the last 30), and a problem to show, if any."""
    today = datetime.now(timezone.utc).date()
    try:
        last = date.fromisoformat(until) if until else today
        first = date.fromisoformat(since) if since else last - timedelta(days=29)
    except ValueError:
        return today - timedelta(days=29), today, "日期格式应为 2026-11-01"
    if first > last:
        return today - timedelta(days=29), today, "开始日期晚于结束日期"
    if (last - first).days >= MAX_DAYS:
        return today - timedelta(days=29), today, f"一次最多查看 {MAX_DAYS} 天"
    return first, last, ""


def _percent(value: Any) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _tiles(totals: dict[str, Any], targets: dict[str, float]) -> list[dict[str, Any]]:
    tiles = []
    for name, title, hint in TILES:
        value = totals.get(name)
        target = targets.get(name)
        tiles.append(
            {
                "name": name,
                "title": title,
                "hint": hint,
                "value": _percent(value),
                "target": None if target is None else f"≥ {target * 100:.0f}%",
                "below": target is not None and value is not None and value < target,
                "met": target is not None and value is not None and value >= target,
            }
        )
    return tiles


def _table(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "key": row["key"],
            "conversations": int(row.get("conversations") or 0),
            "first_response_rate": _percent(row.get("first_response_rate")),
            "handoff_rate": _percent(row.get("handoff_rate")),
            "conversion_rate": _percent(row.get("conversion_rate")),
            "coupons": int(row.get("funnel_coupon") or 0),
        }
        for row in rows
    ]


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, since: str = "", until: str = "") -> HTMLResponse:
    """The dashboard for whole UTC days [since, until] (default: the last 30 days)."""
    agent, token = _supervisor(request)
    first, last, problem = _range(since[:10], until[:10])
    context: dict[str, Any] = {
        "agent": agent,
        "csrf": _csrf(token),
        "prefix": PREFIX,
        "since": first.isoformat(),
        "until": last.isoformat(),
        "problem": problem,
        "report": None,
    }
    analytics = services(request).analytics
    assert analytics is not None
    try:
        report = analytics.kpis(
            first.isoformat(), last.isoformat(), ["day", "distributor", "variant"]
        )
        todo = analytics.todo(first.isoformat(), last.isoformat())
    except AnalyticsUnavailable as error:
        logger.error("dashboard figures unavailable: %s", error)
        context["problem"] = "暂时读取不到统计数据（分析服务不可用），请稍后刷新。"
        return render(request, "console/dashboard.html", status_code=503, **context)
    totals = report.get("totals") or {}
    groups = report.get("groups") or {}
    days = {row["key"]: row for row in groups.get("day") or []}
    day_rows = []
    for offset in range((last - first).days + 1):
        key = (first + timedelta(days=offset)).isoformat()
        row = days.get(key) or {}
        day_rows.append(
            (key[5:], float(row.get("conversations") or 0), row.get("first_response_rate"))
        )
    sentiment = report.get("sentiment") or {}
    context.update(
        report=report,
        conversations=int(totals.get("conversations") or 0),
        tiles=_tiles(totals, report.get("targets") or {}),
        funnel=funnel([(label, float(totals.get(key) or 0)) for key, label in FUNNEL_NAMES]),
        trend=trend(day_rows),
        sentiment=stacked([(SENTIMENT_NAMES.get(k, k), float(v)) for k, v in sentiment.items()]),
        sentiment_counts=[(SENTIMENT_NAMES.get(k, k), v) for k, v in sentiment.items()],
        distributors=_table(groups.get("distributor") or []),
        variants=_table(groups.get("variant") or []),
        todo=todo,
    )
    return render(request, "console/dashboard.html", **context)


async def _not_supervisor(request: Request, _exc: Exception) -> HTMLResponse:
    return render(
        request,
        "problem.html",
        status_code=403,
        title="无权查看",
        message="数据看板只对主管账号开放。",
        back=PREFIX,
    )


def install_handlers(app: Any) -> None:
    """The 403 page for accounts that are not supervisors."""
    app.add_exception_handler(NotSupervisor, _not_supervisor)
