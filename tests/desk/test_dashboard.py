"""The KPI dashboard: supervisors only, figures from the real analytics API, SVG charts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from analytics.consumer import MallProfiles, SqlBrokerSource
from analytics.service import create_app as create_analytics
from analytics.settings import AnalyticsSettings
from analytics.store import AnalyticsStore
from mall.db import Database
from mall.services.agents import save_agent
from tests.analytics.week import write_mall, write_week
from tests.desk.conftest import PASSWORD, logged_in, with_settings
from tests.mall.live_server import live_server

TOKEN = "analytics-token-0123456789"
WEEK = {"since": "2026-11-23", "until": "2026-11-29"}


@pytest.fixture
def analytics_url(tmp_path: Path) -> Iterator[str]:
    """The analytics read API on loopback over the simulated week, consumed for real."""
    _, broker = write_week(tmp_path)
    mall = write_mall(tmp_path)
    store = AnalyticsStore(f"sqlite:///{tmp_path / 'analytics.db'}")
    source, profiles = SqlBrokerSource(broker), MallProfiles(mall)
    while source.poll_once(store, profiles).read:
        pass
    settings = AnalyticsSettings(database_url=store.url, mall_database_url=mall, api_token=TOKEN)
    with live_server(create_analytics(settings, store=store, consume=False)) as url:
        yield url
    store.dispose()


@pytest.fixture
def board(desk: Any, analytics_url: str) -> Any:
    """The desk pointed at the analytics API, with `li` a supervisor and `wang` not."""
    from desk.analytics import AnalyticsApi

    with_settings(
        desk, analytics_api_url=analytics_url, analytics_api_token=TOKEN, supervisors={"li"}
    )
    desk.state.desk.analytics = AnalyticsApi(desk.state.desk.settings)
    return desk


def kpi(page: str, name: str) -> str:
    match = re.search(rf'data-kpi="{name}">([^<]*)<', page)
    assert match, name
    return match.group(1)


def test_a_supervisor_sees_the_figures_counted_by_hand(board: Any) -> None:
    page = logged_in(board, "li").get("/console/dashboard", params=WEEK)
    assert page.status_code == 200, page.text
    html = page.text
    assert kpi(html, "conversations") == "6"
    assert kpi(html, "first_response_rate") == "66.7%"  # 4 of 6, below the 90 % target
    assert kpi(html, "conversion_rate") == "25.0%"  # 1 of 4 customers, above 15 %
    assert kpi(html, "handoff_rate") == "16.7%"
    assert 'class="tile below" id="tile-first_response_rate"' in html
    assert 'class="tile met" id="tile-conversion_rate"' in html
    for step, shown in (("欢迎", "3（100%）"), ("询价", "2（67%）"), ("领券", "1（33%）")):
        assert f'data-step="{step}">{shown}<' in html
    assert re.search(r'<tr data-key="card-li"><td>card-li</td><td>3</td><td>66.7%</td>', html)
    assert re.search(r'<tr data-key="pitch/warm"><td>pitch/warm</td><td>1</td>', html)
    assert 'data-day="11-25" data-conversations="2"' in html
    assert "那个 138****5678" in html and "13812345678" not in html
    assert "负面 1" in html and "正面 2" in html
    # No script of any kind on the page, and the desk's CSP.
    assert "<script" not in html
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_everyone_else_is_refused(board: Any, database: Database) -> None:
    with database.write_session() as session:
        save_agent(
            session=session,
            username="li-shop",
            display_name="李店长",
            password=PASSWORD,
            role="distributor",
            scope_id="card-li-digital",
        )
    for username in ("wang", "li-shop"):  # an agent who is no supervisor, a partner
        answer = logged_in(board, username).get("/console/dashboard", follow_redirects=False)
        assert answer.status_code == 403, username
        assert "主管" in answer.text
    from fastapi.testclient import TestClient

    anonymous = TestClient(board).get("/console/dashboard", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/console/login"


def test_bad_dates_are_said_clearly(board: Any) -> None:
    agent = logged_in(board, "li")
    for params in ({"since": "yesterday"}, {"since": "2026-11-29", "until": "2026-11-01"}):
        answer = agent.get("/console/dashboard", params=params)
        assert answer.status_code == 200 and 'id="problem"' in answer.text


def test_an_unreachable_analytics_process_gives_a_clear_page(desk: Any) -> None:
    from desk.analytics import AnalyticsApi

    with_settings(
        desk,
        analytics_api_url="http://127.0.0.1:9",
        analytics_api_token=TOKEN,
        supervisors={"li"},
    )
    desk.state.desk.analytics = AnalyticsApi(desk.state.desk.settings)
    answer = logged_in(desk, "li").get("/console/dashboard")
    assert answer.status_code == 503 and "分析服务不可用" in answer.text


def test_the_read_api_wants_its_token(analytics_url: str) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer wrong-token-0123456789"},
        {"Authorization": TOKEN},
    ):
        answer = requests.get(f"{analytics_url}/kpis", headers=headers, timeout=5)
        assert answer.status_code == 401
        assert "Traceback" not in answer.text
    good = {"Authorization": f"Bearer {TOKEN}"}
    bad = requests.get(f"{analytics_url}/kpis", params={"since": "x"}, headers=good, timeout=5)
    assert bad.status_code == 400 and "2026-11-01" in bad.json()["message"]
    wrong_by = requests.get(f"{analytics_url}/kpis", params={"by": "x"}, headers=good, timeout=5)
    assert wrong_by.status_code == 400
    answer = requests.get(f"{analytics_url}/kpis", params=WEEK, headers=good, timeout=5)
    assert answer.json()["totals"]["conversations"] == 6
