"""The consumer over a simulated week: Rasa's SQL broker in, facts and KPIs out, counted by hand."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY
from sqlalchemy.orm import Session

from analytics import store as tables
from analytics.consumer import MallProfiles, SqlBrokerSource, ingest, recover
from analytics.kpis import facts_report
from analytics.store import AnalyticsStore
from mall.__main__ import main as mall_main
from tests.analytics.week import SINCE, UNTIL, write_mall, write_week


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def week(tmp_path: Path) -> dict[str, str]:
    tracker_url, broker_url = write_week(tmp_path)
    return {
        "tracker": tracker_url,
        "broker": broker_url,
        "mall": write_mall(tmp_path),
        "facts": f"sqlite:///{tmp_path / 'analytics.db'}",
    }


def consume_all(store: AnalyticsStore, week: dict[str, str]) -> None:
    source = SqlBrokerSource(week["broker"], batch=7)  # several batches
    profiles = MallProfiles(week["mall"])
    while source.poll_once(store, profiles).read:
        pass
    source.dispose()
    profiles.dispose()


def report(store: AnalyticsStore, mall_url: str) -> tuple[dict, dict, dict]:
    engine = sa.create_engine(mall_url)
    with Session(engine) as session:
        result = facts_report(store, session, SINCE, UNTIL, ["channel", "distributor", "variant"])
    engine.dispose()
    groups = {name: dict(rows) for name, rows in result.groups.items()}
    return result.totals, result.sentiment, groups


def test_the_week_through_the_consumer_matches_the_hand_count(week: dict[str, str]) -> None:
    store = AnalyticsStore(week["facts"])
    consume_all(store, week)
    totals, sentiment, groups = report(store, week["mall"])
    assert totals["conversations"] == 6
    assert totals["first_response_rate"] == pytest.approx(4 / 6)  # 1, 3, 4, 5
    assert totals["handoff_rate"] == pytest.approx(1 / 6)
    assert totals["ai_resolution_rate"] == pytest.approx(5 / 6)
    assert totals["fallback_rate"] == pytest.approx(2 / 9)  # 9 customer messages
    assert totals["conversion_rate"] == pytest.approx(1 / 4)  # A; C ordered 10 days later
    assert [totals[f"funnel_{s}"] for s in ("welcome", "price", "offer", "coupon", "order")] == [
        3,
        2,
        1,
        1,
        1,
    ]
    assert sentiment == {"negative": 1, "neutral": 1, "positive": 2, "unknown": 5}
    web, wechat = groups["channel"]["web"], groups["channel"]["wechat"]
    assert (web["conversations"], web["first_response_rate"]) == (3, 1.0)
    assert web["handoff_rate"] == pytest.approx(1 / 3) and web["conversion_rate"] == 0.5
    assert wechat["first_response_rate"] == pytest.approx(1 / 3)
    assert wechat["conversion_rate"] == 0.0
    assert {k: v["conversations"] for k, v in groups["distributor"].items()} == {
        "card-li": 3,
        "card-wang": 2,
        "none": 1,
    }
    assert groups["distributor"]["card-li"]["conversion_rate"] == 0.5
    variants = groups["variant"]
    assert {k: v["conversations"] for k, v in variants.items()} == {
        "pitch/plain": 3,
        "pitch/warm": 1,
        "none": 2,
    }
    assert variants["pitch/plain"]["funnel_coupon"] == 1
    # The handoff's facts, and the to-do list's text masked.
    with store.engine.connect() as connection:
        handoff = connection.execute(
            sa.select(tables.conversations).where(tables.conversations.c.handed_off.is_(True))
        ).one()
        texts = connection.execute(
            sa.select(tables.events.c.text).where(tables.events.c.text.is_not(None))
        ).scalars()
        assert sorted(texts) == ["啥", "那个 138****5678"]
    assert (handoff.handoff_reason, handoff.handoff_wait_seconds) == ("angry", 120.0)
    assert handoff.handoff_resolution == "handed_back" and handoff.segment == "price_sensitive"
    store.dispose()


def test_replaying_every_event_twice_counts_each_once(week: dict[str, str]) -> None:
    store = AnalyticsStore(week["facts"])
    consume_all(store, week)
    first = report(store, week["mall"])
    stored = store.counts()
    duplicates_before = metric("analytics_events_duplicate_total", source="sql")
    # The broker delivers everything again (a consumer that lost its position) ...
    with store.begin() as connection:
        store.save_position(connection, "sql", 0, None)
    consume_all(store, week)
    # ... and the tracker store is read back: every event is there already.
    recovered = recover(store, week["tracker"], since=SINCE.timestamp() - 7 * 86400)
    assert recovered.stored == 0 and recovered.duplicates >= stored["analytics_events"]
    assert report(store, week["mall"]) == first
    assert store.counts() == stored
    skipped = metric("analytics_events_duplicate_total", source="sql") - duplicates_before
    engine = sa.create_engine(week["broker"])
    with engine.connect() as connection:
        published = connection.execute(sa.text("SELECT count(*) FROM events")).scalar()
    engine.dispose()
    # Every row of the second pass was skipped; Rasa published a few events twice already.
    assert skipped == published and published >= stored["analytics_events"]
    store.dispose()


def test_what_the_broker_missed_is_recovered_and_counted(week: dict[str, str]) -> None:
    store = AnalyticsStore(week["facts"])
    engine = sa.create_engine(week["broker"])
    with engine.begin() as connection:  # the broker lost C's and D's events
        connection.execute(
            sa.text("DELETE FROM events WHERE sender_id IN ('web-week-C', 'wx-week-D')")
        )
    engine.dispose()
    consume_all(store, week)
    assert report(store, week["mall"])[0]["conversations"] == 3
    before = metric("analytics_events_recovered_total")
    recovered = recover(
        store,
        week["tracker"],
        since=SINCE.timestamp() - 7 * 86400,
        profiles=MallProfiles(week["mall"]),
    )
    assert recovered.stored > 0
    assert metric("analytics_events_recovered_total") - before == recovered.stored
    assert report(store, week["mall"])[0]["handoff_rate"] == pytest.approx(1 / 6)
    store.dispose()


def test_bad_messages_are_dropped_and_counted(tmp_path: Path) -> None:
    store = AnalyticsStore(f"sqlite:///{tmp_path / 'a.db'}")
    before = metric("analytics_consumer_failures_total", source="sql", kind="bad_event")
    result = ingest(
        store,
        [b"not json", "[]", {"event": "user"}, {"sender_id": "x", "event": "user", "timestamp": 1}],
        source="sql",
    )
    assert (result.bad, result.stored) == (3, 1)
    assert metric("analytics_consumer_failures_total", source="sql", kind="bad_event") - before == 3
    store.dispose()


def test_mall_kpis_prints_the_breakdowns_and_writes_csv(
    week: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = AnalyticsStore(week["facts"])
    consume_all(store, week)
    store.dispose()
    monkeypatch.setenv("MALL_DATABASE_URL", week["mall"])
    monkeypatch.setenv("ANALYTICS_DATABASE_URL", week["facts"])
    out = tmp_path / "kpis.csv"
    status = mall_main(
        ["kpis", "--since", SINCE.date().isoformat(), "--by", "channel", "--csv", str(out)]
    )
    assert status == 0
    printed = capsys.readouterr().out
    for name in ("first_response_rate", "conversion_rate", "retention_7d", "handoff_rate"):
        assert name in printed
    assert "by channel" in printed and "wechat" in printed
    text = out.read_text(encoding="utf-8")
    assert "all,,first_response_rate," in text and "channel,web,conversations,3.0" in text
    with pytest.raises(SystemExit):
        mall_main(["kpis", "--by", "colour"])


def test_the_todo_list_reads_the_facts_store(
    week: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from analytics.__main__ import main

    store = AnalyticsStore(week["facts"])
    consume_all(store, week)
    store.dispose()
    monkeypatch.setenv("ANALYTICS_DATABASE_URL", week["facts"])
    assert main(["todo", "--since", "2026-11-01"]) == 0
    printed = capsys.readouterr().out
    assert "啥" in printed and "那个 138****5678" in printed and "13812345678" not in printed


def test_the_consumer_refuses_to_start_without_its_token_or_with_a_bad_broker(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from analytics.__main__ import main

    monkeypatch.setenv("ANALYTICS_DATABASE_URL", f"sqlite:///{tmp_path / 'a.db'}")
    monkeypatch.delenv("ANALYTICS_API_TOKEN", raising=False)
    assert main(["consume"]) == 2
    monkeypatch.setenv("ANALYTICS_API_TOKEN", "analytics-token-0123456789")
    monkeypatch.setenv("ANALYTICS_BROKER", "carrier-pigeon")
    assert main(["consume"]) == 2
