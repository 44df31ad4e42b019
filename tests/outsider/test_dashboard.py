"""The KPI dashboard and the analytics process's read API, probed from outside."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
import requests

from launcher.settings import ROOT
from tests.outsider.conftest import Target, csrf_of, listening_addresses, signed_in_agent
from tests.outsider.test_desk import Scripts

pytestmark = pytest.mark.integration


def test_the_dashboard_needs_a_session_and_forged_ones_get_nowhere(
    target: Target, unchanged: Any
) -> None:
    with unchanged():
        for cookies in ({}, {"console_session": "forged"}, {"console_session": "a" * 5000}):
            answer = requests.get(
                f"{target.desk}/console/dashboard",
                params={"since": "2026-01-01"},
                cookies=cookies,
                timeout=10,
                allow_redirects=False,
            )
            assert answer.status_code == 303 and answer.headers["Location"] == "/console/login"


def test_a_supervisor_gets_a_page_without_script_and_nothing_to_post(
    target: Target, unchanged: Any
) -> None:
    agent = signed_in_agent(target)  # `make run` names the demo agent a supervisor
    with unchanged():
        page = agent.get(
            f"{target.desk}/console/dashboard",
            params={"since": "<script>alert(1)</script>", "until": "2026-13-45"},
            timeout=30,
        )
        assert page.status_code == 200, page.text
        assert "<script>alert(1)</script>" not in page.text and 'id="problem"' in page.text
        scripts = Scripts()
        scripts.feed(page.text)
        assert scripts.inline == [] and scripts.handlers == [] and scripts.files == []
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]
        token = csrf_of(page.text)
        for headers, data in (
            ({}, {"csrf": "f" * 64}),
            ({"Origin": "https://evil.example"}, {"csrf": token}),
        ):
            posted = agent.post(
                f"{target.desk}/console/dashboard",
                data=data,
                headers=headers,
                timeout=10,
                allow_redirects=False,
            )
            assert posted.status_code in (403, 405)


def test_a_partner_account_gets_403(target: Target) -> None:
    env = {
        **target.settings.service_env("mall", target.settings.child_env()),
        "CONSOLE_AGENT_PASSWORD": "outsider-partner-pass",
    }
    created = subprocess.run(
        [sys.executable, "-m", "mall", "add-agent", "probe-shop", "--role", "distributor",
         "--scope", "card-li-digital"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    partner = requests.Session()
    login = partner.post(
        f"{target.desk}/console/login",
        data={"username": "probe-shop", "password": "outsider-partner-pass"},
        timeout=10,
        allow_redirects=False,
    )
    assert login.status_code == 303
    answer = partner.get(f"{target.desk}/console/dashboard", timeout=10, allow_redirects=False)
    assert answer.status_code == 403
    assert "card-li" not in answer.text and "first_response" not in answer.text


def test_the_analytics_api_is_private_and_wants_its_token(target: Target) -> None:
    port = target.settings.analytics_port
    assert listening_addresses(port) == {"127.0.0.1"}
    base = target.settings.analytics_url
    token = target.secret("ANALYTICS_API_TOKEN")
    for path in ("/kpis", "/todo"):
        for headers, params in (
            ({}, {}),
            ({"Authorization": "Bearer guessed-token-0123456789"}, {}),
            ({"Authorization": f"Basic {token}"}, {}),
            ({"Authorization": "Bearer "}, {}),
            ({}, {"token": token, "access_token": token}),
        ):
            answer = requests.get(f"{base}{path}", headers=headers, params=params, timeout=10)
            assert answer.status_code == 401, (path, headers)
            assert "conversations" not in answer.text
    good = {"Authorization": f"Bearer {token}"}
    for params in ({"since": "x" * 5000}, {"by": "../../etc"}, {"since": "2020-01-01"}):
        answer = requests.get(f"{base}/kpis", headers=good, params=params, timeout=30)
        assert answer.status_code == 400 and "Traceback" not in answer.text
    assert requests.get(f"{base}/no-such-route", timeout=10).status_code == 404
    assert requests.get(f"{base}/health", timeout=10).json()["status"] == "ok"
