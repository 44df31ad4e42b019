"""The desk (shop and agent console), as a browser on another site or an attacker sees it."""

from __future__ import annotations

import uuid
from html.parser import HTMLParser
from typing import Any

import pytest
import requests

from tests.outsider.conftest import Target, csrf_of, signed_in_agent

pytestmark = pytest.mark.integration

PAGES = ["/shop", "/shop?lang=en", "/console/login", "/no-such-page"]


class Scripts(HTMLParser):
    """Collects <script> tags and inline event handlers of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.inline: list[str] = []
        self.files: list[str] = []
        self.handlers: list[str] = []
        self._in_inline = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.handlers += [name for name, _ in attrs if name.startswith("on")]
        if tag == "script":
            if values.get("src"):
                self.files.append(str(values["src"]))
            else:
                self._in_inline = True

    def handle_data(self, data: str) -> None:
        if self._in_inline and data.strip():
            self.inline.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_inline = False


@pytest.mark.parametrize("path", PAGES)
def test_every_page_has_security_headers_and_no_inline_script(target: Target, path: str) -> None:
    page = requests.get(f"{target.desk}{path}", timeout=10, allow_redirects=False)
    assert page.headers["Content-Type"].startswith("text/html"), path
    policy = page.headers["Content-Security-Policy"]
    directives = {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'unsafe-eval'" not in directives["script-src"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "same-origin"
    assert page.headers["X-Frame-Options"] == "DENY"
    scripts = Scripts()
    scripts.feed(page.text)
    assert scripts.inline == [] and scripts.handlers == []


@pytest.mark.parametrize(
    "path",
    [
        "/static/../app.py",
        "/static/%2e%2e/app.py",
        "/static/%2e%2e%2f%2e%2e%2fcredentials.yml",
        "/static/..%2f..%2fvar%2fsecrets%2fMALL_API_TOKEN",
        "/static//etc/passwd",
        "/static/%00",
        "/static/console.js/..%5c..%5capp.py",
    ],
)
def test_static_files_never_leave_their_folder(target: Target, path: str) -> None:
    answer = requests.get(f"{target.desk}{path}", timeout=10)
    assert answer.status_code in (400, 404), path
    assert target.secret("MALL_API_TOKEN") not in answer.text
    assert "root:" not in answer.text and "import " not in answer.text


def test_the_console_needs_a_session_and_forged_ones_get_nowhere(
    target: Target, unchanged: Any
) -> None:
    with unchanged():
        for cookies in ({}, {"console_session": "forged"}, {"console_session": "a" * 5000}):
            for page in ("/console", "/console/experiments"):
                queue = requests.get(
                    f"{target.desk}{page}", cookies=cookies, timeout=10, allow_redirects=False
                )
                assert queue.status_code == 303 and queue.headers["Location"] == "/console/login"
            claim = requests.post(
                f"{target.desk}/console/handoffs/1/claim",
                data={"csrf": "0" * 64},
                cookies=cookies,
                timeout=10,
                allow_redirects=False,
            )
            assert claim.status_code == 401


def test_another_site_cannot_post_for_a_signed_in_agent(target: Target, unchanged: Any) -> None:
    # A customer waits for a person (opened the way the assistant does, with the mall's token).
    auth = {"Authorization": f"Bearer {target.secret('MALL_API_TOKEN')}"}
    sender = f"web-csrf-{uuid.uuid4().hex[:8]}"
    opened = requests.post(
        f"{target.mall}/handoffs",
        json={"sender_id": sender, "channel": "web", "reason": "angry"},
        headers=auth,
        timeout=10,
    )
    handoff_id = opened.json()["handoff"]["id"]
    agent = signed_in_agent(target)
    token = csrf_of(agent.get(f"{target.desk}/console", timeout=10).text)
    claim_url = f"{target.desk}/console/handoffs/{handoff_id}/claim"
    with unchanged():
        no_token = agent.post(claim_url, data={}, timeout=10, allow_redirects=False)
        wrong_token = agent.post(
            claim_url, data={"csrf": "f" * 64}, timeout=10, allow_redirects=False
        )
        cross_site = agent.post(
            claim_url,
            data={"csrf": token},
            headers={"Origin": "https://evil.example"},
            timeout=10,
            allow_redirects=False,
        )
        reveal = agent.post(
            f"{target.desk}/console/handoffs/{handoff_id}/reveal",
            data={"csrf": token, "target": "line:1"},
            headers={"Origin": "https://evil.example"},
            timeout=10,
            allow_redirects=False,
        )
        assert [a.status_code for a in (no_token, wrong_token, cross_site, reveal)] == [403] * 4
    handoff = requests.get(f"{target.mall}/handoffs/{handoff_id}", headers=auth, timeout=10).json()
    assert handoff["status"] == "waiting" and handoff["reveals"] == []


def test_the_desk_refuses_oversized_and_odd_requests(target: Target, unchanged: Any) -> None:
    with unchanged():
        huge = requests.post(
            f"{target.desk}/console/login",
            data={"username": "demo", "password": "x" * 200_000},
            timeout=10,
        )
        assert huge.status_code == 413
        # Demo sign-in is off by default: nobody can make the shop speak as a customer.
        chosen = requests.post(
            f"{target.desk}/shop/demo-customer", data={"customer_id": "wx-o7Xh2-vip"}, timeout=10
        )
        assert chosen.status_code == 404
        forged_cookie = requests.get(
            f"{target.desk}/shop", cookies={"shop_demo_customer": "wx-o7Xh2-vip.00"}, timeout=10
        )
        assert "data-token" not in forged_cookie.text
        assert requests.get(f"{target.desk}/docs", timeout=10).status_code == 404
        assert requests.get(f"{target.desk}/openapi.json", timeout=10).status_code == 404
