"""Command line: `python -m mall init-db [--seed] | seed [--customers N] | segments | serve |
add-agent USERNAME | erase-customer CUSTOMER_ID`."""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from mall.settings import Settings, SettingsError
from security.logs import install_log_masking
from security.tokens import SecretError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

logger = logging.getLogger("mall")


def _init_db(settings: Settings, *, with_seed: bool) -> int:
    from mall.db import Database, upgrade
    from mall.seeding import is_empty, seed

    upgrade(settings.database_url)
    logger.info("database migrated to the latest schema")
    if with_seed:
        database = Database(settings.database_url)
        try:
            with database.write_session() as session:
                if is_empty(session):
                    seed(session=session)
                else:
                    logger.info("database already has a catalogue; not seeding")
                _demo_agent(session, settings.demo_password)
        finally:
            database.dispose()
    return 0


def _demo_agent(session: Session, password: str) -> None:
    """The console's demo agent `demo`, when CONSOLE_DEMO_PASSWORD is set (`make run` sets it)."""
    from mall.services.agents import save_agent

    if password:
        save_agent(session=session, username="demo", display_name="小美", password=password)
        logger.info("console agent 'demo' ready")


def _in_migrated_database(settings: Settings, work: Callable[[Session], object]) -> int:
    """Run `work` in one write transaction; exit status 1 when there is no schema yet."""
    from mall.db import Database, is_migrated

    database = Database(settings.database_url)
    try:
        if not is_migrated(database.engine):
            logger.error("the database has no schema yet: run `python -m mall init-db` first")
            return 1
        with database.write_session() as session:
            work(session)
    finally:
        database.dispose()
    return 0


def _add_agent(
    settings: Settings, username: str, display_name: str, role: str, scope: str | None
) -> int:
    from mall.errors import MallError
    from mall.services.agents import save_agent

    password = settings.agent_password
    if not password:
        try:
            password = getpass.getpass("Password: ")
        except (EOFError, KeyboardInterrupt):
            logger.error("no password: type one, or set CONSOLE_AGENT_PASSWORD")
            return 2
    try:
        status = _in_migrated_database(
            settings,
            lambda session: save_agent(
                session=session,
                username=username,
                display_name=display_name,
                password=password,
                role=role,
                scope_id=scope,
            ),
        )
    except MallError as error:
        logger.error("%s", error.message)
        return 2
    if status == 0:
        logger.info("agent %s saved", username)
    return status


def _erase_customer(
    settings: Settings, customer_id: str, tracker_db_url: str, *, confirmed: bool
) -> int:
    from mall.erasure import Erased, erase_conversations, erase_customer
    from mall.routes.deps import CUSTOMER_ID_PATTERN

    if not re.match(CUSTOMER_ID_PATTERN, customer_id):
        logger.error("not a customer id: %r", customer_id)
        return 2
    if not confirmed:
        if not sys.stdin.isatty():
            logger.error("erasing cannot be undone: add --yes to confirm")
            return 2
        answer = input(f"Erase {customer_id}'s profile, events and conversations? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            logger.info("nothing erased")
            return 1
    erased: list[Erased] = []
    status = _in_migrated_database(
        settings,
        lambda session: erased.append(erase_customer(session=session, customer_id=customer_id)),
    )
    if status != 0:
        return status
    try:
        conversation = erase_conversations(tracker_db_url, customer_id)
    except Exception as exc:  # the mall part is done: say clearly what is left
        logger.error("the tracker store at %s could not be cleaned: %s", tracker_db_url, exc)
        return 1
    report = erased[0]
    logger.info(
        "erased %s: profile %s, %d behaviour events, %d unused coupons, %d handoffs with %d "
        "notes, %d conversation events; %d orders kept",
        customer_id,
        report.profile,
        report.events,
        report.coupons,
        report.handoffs,
        report.notes,
        conversation,
        report.orders_kept,
    )
    return 0


def _seed(settings: Settings, customers: int, random_seed: int) -> int:
    from mall.seeding import seed

    def work(session: Session) -> None:
        seed(session=session)
        if customers:
            from mall.experiments import load_experiments
            from mall.population import (
                generate_population,
                simulate_exposures,
                touch_last_visits,
            )

            generate_population(session=session, customers=customers, random_seed=random_seed)
            touch_last_visits(session)
            # The shipped A/B tests get generated exposures and claims (a made-up effect).
            simulate_exposures(
                session=session, experiments=load_experiments(), random_seed=random_seed
            )

    status = _in_migrated_database(settings, work)
    if status == 0 and customers:
        # The generated customers arrive unsegmented: place everyone.
        return _segments(settings)
    return status


def _segments(settings: Settings) -> int:
    from mall.services.clustering import report, run_segmentation

    insight = settings.insight
    printed: list[str] = []

    def work(session: Session) -> None:
        result = run_segmentation(
            session=session,
            window_days=insight.segment_window_days,
            k_min=insight.segment_k_min,
            k_max=insight.segment_k_max,
        )
        printed.append(report(result))

    try:
        status = _in_migrated_database(settings, work)
    except ValueError as error:
        logger.error("%s", error)
        return 1
    for text in printed:
        print(text)
    return status


def _experiments(settings: Settings, path: Path | None) -> int:
    from mall.experiments import (
        DEFAULT_FILE,
        ExperimentConfigError,
        format_report,
        load_experiments,
    )
    from mall.experiments import report as experiment_report
    from mall.services.outreach import experiment_counts

    try:
        experiments = load_experiments(path or DEFAULT_FILE)
    except ExperimentConfigError as error:
        logger.error("%s", error)
        return 2
    if not experiments:
        print(f"no experiments in {path or DEFAULT_FILE}")
        return 0
    printed: list[str] = []

    def work(session: Session) -> None:
        for experiment in experiments:
            results, reached = experiment_report(experiment, experiment_counts(session, experiment))
            printed.append(format_report(experiment, results, reached))

    status = _in_migrated_database(settings, work)
    print("\n\n".join(printed))
    return status


def _outreach(settings: Settings, *, once: bool, interval: float, rasa_url: str) -> int:
    import socket
    import time

    from mall.db import Database, is_migrated
    from mall.outreach import OutreachConfigError, load_rules
    from mall.scheduler import RasaDeliverer, run_once

    token = settings.rasa_api_token
    if not token:
        logger.error("RASA_API_TOKEN is not set: the scheduler delivers through Rasa's HTTP API")
        return 2
    try:
        rules = load_rules()
    except OutreachConfigError as error:
        logger.error("%s", error)
        return 2
    database = Database(settings.database_url)
    if not is_migrated(database.engine):
        logger.error("the database has no schema yet: run `python -m mall init-db --seed` first")
        return 1
    worker = f"{socket.gethostname()}:{os.getpid()}"
    deliverer = RasaDeliverer(rasa_url.rstrip("/"), token)
    try:
        while True:
            decided = run_once(database, rules, deliverer, worker=worker)
            if decided:
                logger.info("outreach: %s", dict(decided))
            if once:
                return 0
            time.sleep(interval)
    except KeyboardInterrupt:
        return 0
    finally:
        database.dispose()


def _kpis(
    settings: Settings,
    since_text: str,
    tracker_db_url: str | None,
    csv_path: Path | None,
    by: list[str],
) -> int:
    import csv
    from datetime import datetime, timezone

    from analytics.kpis import (
        conversation_kpis,
        facts_report,
        format_kpis,
        format_report,
        read_conversations,
        report_rows,
        sales_kpis,
    )
    from analytics.settings import AnalyticsSettings
    from analytics.settings import SettingsError as AnalyticsSettingsError
    from analytics.store import AnalyticsStore
    from analytics.todo import parse_since

    try:
        since = parse_since(since_text)
        analytics_url = AnalyticsSettings.from_env().database_url
    except (ValueError, AnalyticsSettingsError) as error:
        logger.error("%s", error)
        return 2
    until = datetime.now(timezone.utc)
    rows: list[list[str]] = []
    printed: list[str] = []

    def from_tracker(session: Session) -> None:
        # The figures read straight from Rasa's tracker store (no consumer needed).
        assert tracker_db_url is not None
        figures = conversation_kpis(read_conversations(tracker_db_url, since, until))
        figures.update(sales_kpis(session, since, until))
        printed.append(format_kpis(figures, since, until))
        span = [since.isoformat(), until.isoformat()]
        rows.append(["breakdown", "key", "kpi", "value", "since", "until"])
        rows.extend(
            ["all", "", name, "" if value is None else repr(value), *span]
            for name, value in figures.items()
        )

    def from_facts(session: Session) -> None:
        store = AnalyticsStore(analytics_url)
        try:
            report = facts_report(store, session, since, until, by)
        finally:
            store.dispose()
        printed.append(format_report(report))
        rows.extend(report_rows(report))

    if tracker_db_url and by:
        logger.error("--by needs the facts store: leave out --tracker-db-url")
        return 2
    status = _in_migrated_database(settings, from_tracker if tracker_db_url else from_facts)
    if status:
        return status
    print("\n".join(printed))
    if csv_path:
        with csv_path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(rows)
    return 0


def _serve(settings: Settings) -> int:
    import uvicorn

    from mall.app import create_app
    from mall.db import Database, is_migrated

    database = Database(settings.database_url)
    if not is_migrated(database.engine):
        logger.error("the database has no schema yet: run `python -m mall init-db --seed` first")
        return 1
    try:
        app = create_app(settings, database=database)
    except SecretError as error:
        database.dispose()
        logger.error("%s", error)
        return 2
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        workers=1,
        access_log=False,
        log_level="info",
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run one command; return the process exit status."""
    parser = argparse.ArgumentParser(prog="python -m mall", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    init = commands.add_parser("init-db", help="migrate the database to the latest schema")
    init.add_argument("--seed", action="store_true", help="load the demo data if it is empty")
    seeding = commands.add_parser("seed", help="add the demo data that is missing (idempotent)")
    seeding.add_argument(
        "--customers",
        type=int,
        default=0,
        help="also generate N customers with 60 days of behaviour, then recompute segments",
    )
    seeding.add_argument("--random-seed", type=int, default=7, help="same seed, same people")
    commands.add_parser(
        "segments",
        help="recompute every customer's segment by K-Means (and the churn model); "
        "prints k, the silhouette and the named clusters",
    )
    experiments = commands.add_parser(
        "experiments",
        help="each A/B test's variants: exposures, conversions, rate with a 95%% interval and "
        "the p-value against the control",
    )
    experiments.add_argument(
        "--file", type=Path, help="the experiments file (mall/experiments.yml)"
    )
    outreach = commands.add_parser(
        "outreach",
        help="the proactive-message scheduler (rules in mall/outreach.yml; needs RASA_API_TOKEN)",
    )
    outreach.add_argument("--once", action="store_true", help="one pass, then exit")
    outreach.add_argument("--interval", type=float, default=30.0, help="seconds between passes")
    outreach.add_argument(
        "--rasa-url",
        help="the Rasa server (default RASA_URL or http://127.0.0.1:5005)",
    )
    kpis = commands.add_parser(
        "kpis",
        help="first_response_rate, conversion_rate, retention_7d, handoff_rate and the rest",
    )
    kpis.add_argument("--since", default="30d", help="30d, 12h or a date (default 30d)")
    kpis.add_argument("--csv", type=Path, help="also write the figures to this CSV file")
    kpis.add_argument(
        "--by",
        action="append",
        default=[],
        choices=("channel", "distributor", "segment", "variant", "day", "week"),
        help="also break the figures down (repeat for several)",
    )
    kpis.add_argument(
        "--tracker-db-url",
        help="read conversations straight from Rasa's SQL tracker store instead of the "
        "analytics store (ANALYTICS_DATABASE_URL, written by `python -m analytics consume`)",
    )
    serve = commands.add_parser("serve", help="serve the HTTP API (needs MALL_API_TOKEN)")
    serve.add_argument("--host", help="address to listen on (default MALL_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default MALL_PORT or 5056)")
    agent = commands.add_parser(
        "add-agent",
        help="create a console agent or reset their password "
        "(password from CONSOLE_AGENT_PASSWORD, else asked)",
    )
    agent.add_argument("username")
    agent.add_argument("--name", help="the name customers see (default: the username)")
    agent.add_argument(
        "--role",
        choices=("agent", "distributor", "supplier"),
        default="agent",
        help="agent answers handoffs; a distributor or supplier reads only their own figures",
    )
    agent.add_argument("--scope", help="the distributor's card id or the supplier's id")
    erase = commands.add_parser(
        "erase-customer",
        help="erase a customer's profile, behaviour, handoffs and conversations (orders stay)",
    )
    erase.add_argument("customer_id")
    erase.add_argument(
        "--tracker-db-url",
        help="Rasa's SQL tracker store (default TRACKER_DB_URL or sqlite:///var/trackers.db)",
    )
    erase.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    args = parser.parse_args(argv)

    install_log_masking()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = Settings.from_env()
    except (SettingsError, SecretError) as error:
        logger.error("%s", error)
        return 2
    if args.command == "init-db":
        return _init_db(settings, with_seed=args.seed)
    if args.command == "seed":
        if args.customers < 0:
            logger.error("--customers must not be negative")
            return 2
        return _seed(settings, args.customers, args.random_seed)
    if args.command == "segments":
        return _segments(settings)
    if args.command == "kpis":
        return _kpis(settings, args.since, args.tracker_db_url, args.csv, args.by)
    if args.command == "outreach":
        return _outreach(
            settings,
            once=args.once,
            interval=max(args.interval, 1.0),
            rasa_url=args.rasa_url or settings.rasa_url,
        )
    if args.command == "experiments":
        return _experiments(settings, args.file)
    if args.command == "add-agent":
        return _add_agent(
            settings, args.username, args.name or args.username, args.role, args.scope
        )
    if args.command == "erase-customer":
        tracker_db_url = args.tracker_db_url or settings.tracker_db_url
        return _erase_customer(settings, args.customer_id, tracker_db_url, confirmed=args.yes)
    settings = settings.replace(host=args.host or settings.host, port=args.port or settings.port)
    return _serve(settings)


if __name__ == "__main__":
    sys.exit(main())
