"""The alert rules, the scrape config and the dashboard: well-formed, and about real metrics."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

import mall.metrics  # noqa: F401  (registers the handoff queue collector)
import monitoring.event_broker
import monitoring.metrics  # noqa: F401

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
RULES = DEPLOY / "prometheus" / "alerts.yml"
DURATION = re.compile(r"^\d+[smhd]$")
# Metric names in a PromQL expression: identifiers followed by a selector, a range or a
# comparison; function names and label names are told apart below.
IDENTIFIER = re.compile(r"\b([a-z_][a-z0-9_]*)\b(?=\s*(\{|\[|\)|\s*[<>=!/*+-]|$))")
PROMQL_WORDS = {"by", "without", "on", "ignoring", "le", "bool", "and", "or", "unless"}


def exported_names() -> set[str]:
    """Every sample name the processes can export (and Prometheus' own `up`)."""
    names = {"up"}
    for collector in list(REGISTRY._collector_to_names):
        names |= set(REGISTRY._collector_to_names[collector])
    # The mall's database collectors yield nothing until the mall has a database, the event
    # broker's until Rasa has connected one.
    names |= {"mall_handoffs_waiting", "mall_handoff_oldest_wait_seconds"}
    names |= {"mall_outreach_jobs_due", "mall_outreach_oldest_due_seconds"}
    names |= {"assistant_event_broker_unpublished", "assistant_event_queue_messages"}
    return names


def metric_names(expr: str) -> set[str]:
    """The metric names an expression reads."""
    without_strings = re.sub(r'"[^"]*"', '""', expr)
    without_labels = re.sub(r"\{[^}]*\}", "{}", without_strings)
    without_ranges = re.sub(r"\[[^\]]*\]", "[]", without_labels)
    found = {name for name, _ in IDENTIFIER.findall(without_ranges)}
    # `by (le, channel)` lists labels, not metrics.
    labels = set(re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", without_ranges))
    label_names = {part.strip() for group in labels for part in group.split(",")}
    return {name for name in found if name not in PROMQL_WORDS | label_names}


def rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_every_rule_is_complete_and_reads_metrics_the_processes_export() -> None:
    exported = exported_names()
    document = yaml.safe_load(RULES.read_text())
    assert {"groups"} == set(document)
    for group in document["groups"]:
        assert group["name"] and group["rules"]
    for rule in rules():
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
        assert re.match(r"^[A-Z][A-Za-z]+$", rule["alert"])
        assert DURATION.match(rule["for"]), rule["alert"]
        assert rule["labels"]["severity"] in {"page", "ticket"}
        assert rule["annotations"]["summary"]
        names = metric_names(rule["expr"])
        assert names, rule["alert"]
        unknown = names - exported
        assert not unknown, f"{rule['alert']} reads metrics nobody exports: {unknown}"


def test_the_alerts_the_operators_asked_for_are_there() -> None:
    by_name = {rule["alert"]: rule for rule in rules()}
    slow = by_name["AssistantSlowResponses"]
    assert "assistant_turn_seconds_sum" in slow["expr"] and slow["expr"].endswith("> 2")
    assert slow["for"] == "5m"
    errors = by_name["AssistantErrorRate"]
    assert errors["expr"].endswith("> 0.01") and errors["for"] == "5m"
    assert "actions_mall_breaker_open" in by_name["MallCircuitBreakerOpen"]["expr"]
    assert by_name["HandoffWaitTooLong"]["expr"].endswith("> 300")
    assert (
        by_name["ReplicaDown"]["expr"].startswith("up{")
        and "rasa" in by_name["ReplicaDown"]["expr"]
    )
    assert "mall_outreach_oldest_due_seconds" in by_name["OutreachBacklog"]["expr"]
    assert "assistant_event_broker_unpublished" in by_name["EventBrokerUnreachable"]["expr"]
    assert "assistant_event_queue_messages" in by_name["EventQueueBacklog"]["expr"]
    lag = by_name["AnalyticsBrokerLag"]
    assert "analytics_broker_lag_seconds" in lag["expr"] and lag["expr"].endswith("> 300")
    assert "analytics_events_recovered_total" in by_name["AnalyticsEventsLost"]["expr"]
    saturated = by_name["RasaReplicaSaturated"]
    assert "assistant_turns_waiting" in saturated["expr"] and saturated["for"] == "10m"


def test_the_metric_name_check_can_tell_a_typo() -> None:
    assert metric_names("sum(rate(assistant_turn_secnds_sum[5m])) > 2") == {
        "assistant_turn_secnds_sum"
    }
    assert "assistant_turn_secnds_sum" not in exported_names()
    assert metric_names(
        'histogram_quantile(0.95, sum by (le, job) (rate(x_bucket{job="a"}[5m])))'
    ) == {"x_bucket"}


def test_the_scrape_config_loads_the_rules_and_scrapes_every_process() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    assert config["rule_files"] == ["alerts.yml"]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"rasa", "actions", "mall", "desk", "analytics"}
    assert jobs["rasa"]["metrics_path"] == "/webhooks/metrics/"
    assert len(jobs["rasa"]["static_configs"][0]["targets"]) == 2
    for job in jobs.values():  # the token comes from a file, never inline
        assert set(job["authorization"]) == {"credentials_file"}


def test_the_dashboard_is_valid_json_about_exported_metrics() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "dashboard.json").read_text())
    assert dashboard["uid"] and dashboard["panels"]
    exported = exported_names()
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            unknown = metric_names(target["expr"]) - exported
            assert not unknown, f"{panel['title']}: {unknown}"


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
def test_promtool_accepts_the_rules() -> None:
    result = subprocess.run(
        ["promtool", "check", "rules", str(RULES)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules())} rules found" in result.stdout


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
def test_promtool_accepts_the_scrape_config(tmp_path: Path) -> None:
    token = tmp_path / "metrics-token"
    token.write_text("a-token-for-the-check-only")
    config = (DEPLOY / "prometheus" / "prometheus.yml").read_text()
    (tmp_path / "prometheus.yml").write_text(
        config.replace("/run/secrets/metrics-token", str(token))
    )
    shutil.copy(RULES, tmp_path / "alerts.yml")
    result = subprocess.run(
        ["promtool", "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
