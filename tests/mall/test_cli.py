"""The `python -m mall` command line, run as a real process."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from mall.__main__ import main
from tests.mall.fixtures import AUTH, TOKEN

REPO = Path(__file__).resolve().parents[2]


def mall_main(
    *args: str, url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> tuple[int, str]:
    """Run the command line in this process; return its exit status and what it logged."""
    monkeypatch.setenv("MALL_DATABASE_URL", url)
    caplog.clear()
    with caplog.at_level(logging.INFO):
        status = main(list(args))
    return status, caplog.text


def test_init_db_seeds_once_and_seed_is_idempotent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    status, log = mall_main("init-db", "--seed", url=url, monkeypatch=monkeypatch, caplog=caplog)
    assert status == 0
    assert "'products': 43" in log
    status, log = mall_main("init-db", "--seed", url=url, monkeypatch=monkeypatch, caplog=caplog)
    assert status == 0
    assert "not seeding" in log
    status, log = mall_main("seed", url=url, monkeypatch=monkeypatch, caplog=caplog)
    assert status == 0
    assert "nothing new" in log


@pytest.mark.parametrize("command", ["seed", "serve"])
def test_commands_refuse_a_database_without_schema(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    command: str,
) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    status, log = mall_main(command, url=url, monkeypatch=monkeypatch, caplog=caplog)
    assert status == 1
    assert "init-db" in log


def test_serve_without_a_token_says_so_and_stops(
    db_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("MALL_API_TOKEN", raising=False)
    status, log = mall_main("serve", url=db_url, monkeypatch=monkeypatch, caplog=caplog)
    assert status == 2 and "MALL_API_TOKEN is not set" in log


def test_bad_port_setting_is_reported_without_a_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "MALL_PORT": "http", "MALL_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    result = subprocess.run(
        [sys.executable, "-m", "mall", "serve"], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "MALL_PORT" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.integration
def test_serve_answers_on_the_requested_port(db_url: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "mall", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO,
        env={**os.environ, "MALL_DATABASE_URL": db_url, "MALL_API_TOKEN": TOKEN},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(
                    f"http://127.0.0.1:{port}/products/P1001", headers=AUTH, timeout=2
                )
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert response.json()["name"] == "声悦Pro降噪蓝牙耳机"
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=15)
    assert "mall service ready" in output
    assert "GET /products" not in output  # no access log


def test_add_agent_creates_a_console_login(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mall.db import Database
    from mall.models import Agent
    from mall.services.agents import verify_password

    url = f"sqlite:///{tmp_path / 'mall.db'}"
    monkeypatch.setenv("MALL_DATABASE_URL", url)
    monkeypatch.setenv("CONSOLE_AGENT_PASSWORD", "long-enough-secret")
    assert main(["add-agent", "li", "--name", "小李"]) == 1  # no schema yet: says so
    assert main(["init-db"]) == 0
    assert main(["add-agent", "li", "--name", "小李"]) == 0
    monkeypatch.setenv("CONSOLE_AGENT_PASSWORD", "short")
    assert main(["add-agent", "wang"]) == 2  # refused, with a reason
    database = Database(url)
    with database.read_session() as session:
        agents = session.query(Agent).all()
        assert [(a.username, a.display_name) for a in agents] == [("li", "小李")]
        assert verify_password("long-enough-secret", agents[0].password_hash)
    database.dispose()


def test_experiments_prints_each_variant_against_the_control(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from decimal import Decimal

    from mall.db import Database
    from mall.experiments import parse_experiments
    from mall.models import Order, utcnow
    from mall.services.outreach import record_exposure

    url = f"sqlite:///{tmp_path / 'ab.db'}"
    assert mall_main("init-db", "--seed", url=url, monkeypatch=monkeypatch, caplog=caplog)[0] == 0
    spec = tmp_path / "experiments.yml"
    spec.write_text(
        "experiments:\n"
        "  - id: price_line\n"
        "    line: utter_price_quote\n"
        "    metric: order_7d\n"
        "    planned_per_variant: 2\n"
        "    variants: [{id: battery}, {id: award}]\n",
        encoding="utf-8",
    )
    [experiment] = parse_experiments(
        {
            "experiments": [
                {
                    "id": "price_line",
                    "line": "utter_price_quote",
                    "metric": "order_7d",
                    "variants": [{"id": "battery"}, {"id": "award"}],
                }
            ]
        }
    )
    database = Database(url)
    shown = utcnow()  # after every seeded order: only the one below counts
    with database.write_session() as session:
        from mall.models import Customer

        customers = [c.id for c in session.query(Customer).order_by(Customer.id)]
        variants = {
            c: record_exposure(session, experiment=experiment, customer_id=c, now=shown)
            for c in customers
        }
        buyer = customers[0]
        session.add(
            Order(
                id="ORD-AB-1",
                customer_id=buyer,
                status="paid",
                created_at=utcnow(),
                goods_amount=Decimal("10"),
                total=Decimal("10"),
                recipient_name="测试",
                recipient_phone="13800000000",
                region="上海",
                address_detail="测试路1号",
            )
        )
    database.dispose()
    capsys.readouterr()
    status, _ = mall_main(
        "experiments", "--file", str(spec), url=url, monkeypatch=monkeypatch, caplog=caplog
    )
    printed = capsys.readouterr().out
    assert status == 0
    assert "price_line: utter_price_quote, metric order_7d" in printed
    exposed = sum(1 for v in variants.values() if v == "battery")
    battery_row = next(line for line in printed.splitlines() if line.strip().startswith("battery"))
    assert battery_row.split()[1] == str(exposed)
    assert "control" in battery_row
    award_row = next(line for line in printed.splitlines() if line.strip().startswith("award"))
    # One order in all, by the first customer, inside the window.
    converted = [row.split()[2] for row in (battery_row, award_row)]
    assert sorted(converted) == ["0", "1"]
    assert converted[["battery", "award"].index(variants[buyer] or "")] == "1"


def test_experiments_refuses_a_bad_file_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    spec = tmp_path / "experiments.yml"
    spec.write_text("experiments:\n  - id: x\n    line: l\n    metric: clicks\n", encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'ab.db'}"
    status, log = mall_main(
        "experiments", "--file", str(spec), url=url, monkeypatch=monkeypatch, caplog=caplog
    )
    assert status == 2
    assert "experiment 'x'" in log and "`metric` must be one of" in log


def test_outreach_needs_rasas_token_and_runs_a_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'out.db'}"
    assert mall_main("init-db", "--seed", url=url, monkeypatch=monkeypatch, caplog=caplog)[0] == 0
    monkeypatch.delenv("RASA_API_TOKEN", raising=False)
    status, log = mall_main("outreach", "--once", url=url, monkeypatch=monkeypatch, caplog=caplog)
    assert status == 2 and "RASA_API_TOKEN" in log
    # Nobody listens on this port: every due job is postponed with the reason, none is lost.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("RASA_API_TOKEN", "test-token")
    status, log = mall_main(
        "outreach",
        "--once",
        "--rasa-url",
        f"http://127.0.0.1:{port}",
        url=url,
        monkeypatch=monkeypatch,
        caplog=caplog,
    )
    assert status == 0
    from mall.db import Database
    from mall.models import OutreachJob

    database = Database(url)
    with database.read_session() as session:
        jobs = session.query(OutreachJob).all()
        assert jobs, "the seeded behaviour makes at least one job due"
        # Postponed, never dropped: Rasa is down (or, at night in Shanghai, quiet hours).
        assert {job.status for job in jobs} == {"pending"}
        assert all(
            (job.reason or "").startswith("Rasa unreachable") or job.reason == "quiet hours"
            for job in jobs
        ), [(job.rule_id, job.reason) for job in jobs]
    database.dispose()
