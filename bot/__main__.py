"""``python -m bot``: parse the settings once, build the app, serve it until stopped.

``python -m bot joiners sweep`` runs the joiner sweep once instead (`bot.cli`).
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from aiohttp import web

from bot.app import create_app, open_joiners
from bot.cli import USAGE, joiners_sweep
from bot.config import ConfigError, Settings
from bot.observability import configure_logging


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args not in ([], ["joiners", "sweep"]):
        print(USAGE, file=sys.stderr)
        return 2
    try:
        settings = Settings.from_env(os.environ, env_file=Path(".env"))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    configure_logging(json_output=settings.log_format == "json", level=settings.log_level)
    if args:
        return asyncio.run(joiners_sweep(lambda: open_joiners(settings)))
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        print=lambda *_: None,
        access_log=None,
        shutdown_timeout=10,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
