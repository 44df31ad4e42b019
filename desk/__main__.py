"""Command line: `python -m desk serve [--host] [--port]`."""

from __future__ import annotations

import argparse
import logging
import sys

from desk.settings import DeskSettings, SettingsError
from security.logs import install_log_masking
from security.tokens import SecretError

logger = logging.getLogger("desk")


def _serve(settings: DeskSettings) -> int:
    import uvicorn

    from desk.app import create_app

    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        workers=1,
        access_log=False,
        log_level="info",
        # Behind a reverse proxy, the client address comes from X-Forwarded-For when the
        # proxy is listed in FORWARDED_ALLOW_IPS (uvicorn's setting; loopback by default).
        proxy_headers=True,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run one command; return the process exit status."""
    parser = argparse.ArgumentParser(prog="python -m desk", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the shop and the agent console")
    serve.add_argument("--host", help="address to listen on (default DESK_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default DESK_PORT or 5057)")
    args = parser.parse_args(argv)
    install_log_masking()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = DeskSettings.from_env()
        settings.check()
    except (SettingsError, SecretError) as error:
        logger.error("%s", error)
        return 2
    settings = settings.replace(host=args.host or settings.host, port=args.port or settings.port)
    return _serve(settings)


if __name__ == "__main__":
    sys.exit(main())
