"""Segmentation at scale: 100,000 generated customers segmented by K-Means, timed.

Builds a fresh SQLite database (migrated, the demo seed, then `--customers` generated
customers with 60 days of behaviour; not timed), then times one `run_segmentation` as
`python -m mall segments` runs it: reading every customer's features, scaling, K-Means for
each k in the range with the silhouette, naming, the churn model, and storing every
customer's segment.

    python bench/bench_segments.py [--customers 100000] [--limit 60]
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mall.db import Database, upgrade  # noqa: E402
from mall.population import generate_population, touch_last_visits  # noqa: E402
from mall.seeding import seed  # noqa: E402
from mall.services import clustering  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--limit", type=float, default=60.0, help="seconds allowed")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/segments.db"
        upgrade(url)
        database = Database(url)
        started = time.perf_counter()
        with database.write_session() as session:
            seed(session=session)
            generated = generate_population(session=session, customers=args.customers)
            touch_last_visits(session)
        with database.engine.connect() as connection:
            events = connection.exec_driver_sql("SELECT count(*) FROM behaviour_events").scalar()
        print(
            f"segmentation: {generated['customers'] + 5} customers, {events} events "
            f"(generated in {time.perf_counter() - started:.0f} s, not timed)"
        )
        timings: dict[str, float] = {}
        original_gather = clustering.gather_features
        original_choose = clustering.choose_k

        def timed_gather(**kwargs: object) -> object:
            began = time.perf_counter()
            result = original_gather(**kwargs)  # type: ignore[arg-type]
            timings["features"] = time.perf_counter() - began
            return result

        def timed_choose(*args: object) -> object:
            began = time.perf_counter()
            result = original_choose(*args)  # type: ignore[arg-type]
            timings["k-means + silhouette"] = time.perf_counter() - began
            return result

        clustering.gather_features = timed_gather  # type: ignore[assignment]
        clustering.choose_k = timed_choose  # type: ignore[assignment]
        began = time.perf_counter()
        with database.write_session() as session:
            result = clustering.run_segmentation(session=session)
        total = time.perf_counter() - began
        database.dispose()
    print(clustering.report(result))
    other = total - sum(timings.values())
    parts = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in timings.items())
    print(f"timed: {total:.1f} s in all ({parts}, churn model and storing {other:.1f} s)")
    sizes = Counter({cluster.name: 0 for cluster in result.clusters})
    for cluster in result.clusters:
        sizes[cluster.name] += cluster.size
    print("segments: " + ", ".join(f"{name} {count}" for name, count in sizes.items()))
    good = total <= args.limit
    print(f"{'meets' if good else 'MISSES'} the limit of {args.limit:.0f} s")
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
