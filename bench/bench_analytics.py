"""The analytics consumer's throughput: Rasa's SQL broker table in, facts out, then a replay.

    python bench/bench_analytics.py [--conversations 2000] [--database sqlite|postgresql]

Writes `--conversations` sales conversations of 4 turns (about 20 events each) into a fresh
Rasa SQL event broker table (Rasa's own ORM class, the rows Rasa would write), consumes them
with the real consumer in batches of 500, replays every event (the position reset), and
computes the KPI report over the facts. Prints events/s for both passes and the report time.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics.consumer import SqlBrokerSource
from analytics.kpis import facts_report
from analytics.store import AnalyticsStore


def conversation(sender: str, start: float) -> list[dict]:
    events: list[dict] = [{"event": "session_started", "timestamp": start}]
    events.append({"event": "action", "name": "action_welcome", "timestamp": start + 0.1})
    turns = [
        ("多少钱", "ask_price", "price_quoted"),
        ("有优惠吗", "ask_discount", "coupon_offered"),
    ]
    t = start + 1
    for text, intent, stage in turns + [("好的", "affirm", None), ("谢谢", "thank", None)]:
        events.append(
            {
                "event": "user",
                "timestamp": t,
                "text": text,
                "input_channel": "web",
                "parse_data": {
                    "intent": {"name": intent, "confidence": 0.93},
                    "sentiment": {"score": 0.1, "label": "neutral"},
                },
            }
        )
        events.append({"event": "action", "name": "action_listen", "timestamp": t + 0.2})
        if stage:
            events.append(
                {"event": "slot", "name": "sales_stage", "value": stage, "timestamp": t + 0.3}
            )
        events.append({"event": "bot", "text": "好的", "timestamp": t + 0.5, "metadata": {}})
        t += 20
    events.append({"event": "slot", "name": "issued_coupon", "value": "CP1", "timestamp": t})
    return [{"sender_id": sender, **event} for event in events]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=2000)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    from rasa.core.brokers.sql import SQLEventBroker

    folder = Path(tempfile.mkdtemp(prefix="bench-analytics-"))
    broker = SQLEventBroker(db=str(folder / "events.db"))
    start = datetime.now(timezone.utc) - timedelta(days=3)
    rows = []
    for n in range(args.conversations):
        sender = f"web-bench-{n:06d}"
        for event in conversation(sender, start.timestamp() + n * 60):
            rows.append({"sender_id": sender, "data": json.dumps(event)})
    with broker.engine.begin() as connection:
        connection.execute(SQLEventBroker.SQLBrokerEvent.__table__.insert(), rows)
    broker.engine.dispose()
    if args.database == "postgresql":
        import psycopg2

        name = f"bench_analytics_{uuid.uuid4().hex[:8]}"
        admin = psycopg2.connect("postgresql://postgres@127.0.0.1:5432/postgres")
        admin.autocommit = True
        admin.cursor().execute(f'CREATE DATABASE "{name}"')
        url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    else:
        url = f"sqlite:///{folder / 'analytics.db'}"
    store = AnalyticsStore(url)
    source = SqlBrokerSource(f"sqlite:///{folder / 'events.db'}")
    for label in ("first pass", "replay"):
        began = time.perf_counter()
        read = stored = 0
        while True:
            result = source.poll_once(store)
            if not result.read:
                break
            read, stored = read + result.read, stored + result.stored
        seconds = time.perf_counter() - began
        print(
            f"{label}: {read} events read, {stored} stored in {seconds:.1f} s "
            f"({read / seconds:,.0f} events/s)"
        )
        with store.begin() as connection:
            store.save_position(connection, "sql", 0, None)
    began = time.perf_counter()
    report = facts_report(
        store, None, start - timedelta(days=1), datetime.now(timezone.utc), ["day", "channel"]
    )
    print(
        f"KPI report over {report.totals['conversations']:.0f} conversations: "
        f"{time.perf_counter() - began:.2f} s; facts {store.counts()}"
    )
    store.dispose()
    source.dispose()
    if args.database == "postgresql":
        admin.cursor().execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
