"""python -m analytics todo: the trainer's to-do list from Rasa's tracker store."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

from analytics.todo import format_groups, group_messages, parse_since, read_fallbacks, to_nlu_stub

REPO_ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analytics", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    todo = commands.add_parser(
        "todo", help="the messages that fell back, grouped by similarity, most frequent first"
    )
    todo.add_argument("--since", default="30d", help="30d, 12h or a date (default 30d)")
    todo.add_argument(
        "--tracker-db-url",
        default=os.environ.get("TRACKER_DB_URL", "").strip()
        or f"sqlite:///{REPO_ROOT / 'var' / 'trackers.db'}",
        help="Rasa's SQL tracker store (default TRACKER_DB_URL or var/trackers.db)",
    )
    todo.add_argument("--yaml", type=Path, help="also write the groups as NLU stubs here")
    todo.add_argument("--limit", type=int, default=20, help="groups to print (default 20)")
    args = parser.parse_args(argv)
    try:
        since = parse_since(args.since)
    except ValueError as error:
        print(f"analytics: {error}", file=sys.stderr)
        return 2
    groups = group_messages(read_fallbacks(args.tracker_db_url, since))
    print(format_groups(groups, limit=max(args.limit, 1)))
    if args.yaml:
        args.yaml.parent.mkdir(parents=True, exist_ok=True)
        args.yaml.write_text(
            to_nlu_stub(groups, since=since, until=datetime.now(timezone.utc)), encoding="utf-8"
        )
        print(f"wrote {len(groups)} stubs to {args.yaml}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
