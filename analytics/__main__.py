"""python -m analytics consume | recover | todo: the facts store and the trainer's to-do list."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

from analytics.todo import format_groups, group_messages, parse_since, read_fallbacks, to_nlu_stub

REPO_ROOT = Path(__file__).resolve().parent.parent
logger = logging.getLogger("analytics")


def _consume() -> int:
    import uvicorn

    from analytics.service import create_app
    from analytics.settings import AnalyticsSettings, SettingsError
    from security.tokens import SecretError

    try:
        settings = AnalyticsSettings.from_env()
        settings.check()
    except (SettingsError, SecretError) as error:
        logger.error("%s", error)
        return 2
    logger.info(
        "analytics consumer: broker %s, facts in %s",
        settings.broker,
        settings.database_url.split("@")[-1],
    )
    import sqlalchemy as sa

    try:
        app = create_app(settings)
    except sa.exc.SQLAlchemyError as error:
        logger.error(
            "the analytics database at %s cannot be used: %s",
            settings.database_url.split("@")[-1],
            type(error).__name__,
        )
        return 1
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        access_log=False,
        log_level="info",
    )
    return 0


def _recover(since_text: str) -> int:
    from analytics.consumer import MallProfiles, recover
    from analytics.settings import AnalyticsSettings, SettingsError
    from analytics.store import AnalyticsStore

    try:
        settings = AnalyticsSettings.from_env()
        since = parse_since(since_text)
    except (SettingsError, ValueError) as error:
        logger.error("%s", error)
        return 2
    store = AnalyticsStore(settings.database_url)
    try:
        result = recover(
            store,
            settings.tracker_db_url,
            since=since.timestamp(),
            profiles=MallProfiles(settings.mall_database_url),
        )
    finally:
        store.dispose()
    print(f"{result.stored} events recovered, {result.duplicates} already there")
    return 0


def _todo(args: argparse.Namespace) -> int:
    try:
        since = parse_since(args.since)
    except ValueError as error:
        print(f"analytics: {error}", file=sys.stderr)
        return 2
    until = datetime.now(timezone.utc)
    if args.tracker_db_url:
        texts = read_fallbacks(args.tracker_db_url, since)
    else:
        from analytics.service import fallback_texts
        from analytics.settings import AnalyticsSettings, SettingsError
        from analytics.store import AnalyticsStore

        try:
            store = AnalyticsStore(AnalyticsSettings.from_env().database_url)
        except SettingsError as error:
            print(f"analytics: {error}", file=sys.stderr)
            return 2
        try:
            texts = fallback_texts(store, since, until)
        finally:
            store.dispose()
    groups = group_messages(texts)
    print(format_groups(groups, limit=max(args.limit, 1)))
    if args.yaml:
        args.yaml.parent.mkdir(parents=True, exist_ok=True)
        args.yaml.write_text(to_nlu_stub(groups, since=since, until=until), encoding="utf-8")
        print(f"wrote {len(groups)} stubs to {args.yaml}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run one command; return the process exit status."""
    from security.dotenv import load_dotenv

    load_dotenv()
    parser = argparse.ArgumentParser(prog="python -m analytics", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "consume",
        help="read Rasa's event broker (ANALYTICS_BROKER: sql, pika, kafka) into the facts "
        "store, and serve /health, /metrics and the dashboard's read API",
    )
    recovering = commands.add_parser(
        "recover", help="store what no broker delivered, read back from Rasa's tracker store"
    )
    recovering.add_argument("--since", default="7d", help="30d, 12h or a date (default 7d)")
    todo = commands.add_parser(
        "todo", help="the messages that fell back, grouped by similarity, most frequent first"
    )
    todo.add_argument("--since", default="30d", help="30d, 12h or a date (default 30d)")
    todo.add_argument(
        "--tracker-db-url",
        default="",
        help="read Rasa's SQL tracker store instead of the facts store (ANALYTICS_DATABASE_URL)",
    )
    todo.add_argument("--yaml", type=Path, help="also write the groups as NLU stubs here")
    todo.add_argument("--limit", type=int, default=20, help="groups to print (default 20)")
    args = parser.parse_args(argv)
    if args.command == "todo":
        return _todo(args)
    from security.logs import install_log_masking

    install_log_masking()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.command == "recover":
        return _recover(args.since)
    return _consume()


if __name__ == "__main__":
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    sys.exit(main())
