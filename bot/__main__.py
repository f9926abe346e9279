"""``python -m bot``: parse the settings once, build the app, serve it until stopped."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from aiohttp import web

from bot.app import create_app
from bot.config import ConfigError, Settings
from bot.observability import configure_logging


def main() -> int:
    try:
        settings = Settings.from_env(os.environ, env_file=Path(".env"))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    configure_logging(json_output=settings.log_format == "json", level=settings.log_level)
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
