"""``python -m bot``: parse the settings once, build the app, serve it until stopped.

``python -m bot audit export --since … [--until …] --format csv|json`` writes the audit trail
to standard output instead (see `bot.audit_export`), and ``python -m bot joiners sweep`` runs
the joiner sweep once (`bot.cli`); neither serves anything.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from bot.audit_export import (
    MOMENT_FORMAT,
    AuditExport,
    ExportFormat,
    InvalidExport,
    audit_export,
    export_audit,
    parse_format,
    parse_moment,
)
from bot.config import ConfigError, Settings
from bot.domain.errors import StoreError
from bot.store.sql import create_store


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args:
        return _command(args)
    settings = _settings()
    if settings is None:
        return 2
    # Imported here so the audit export does not pay for botbuilder's start-up.
    from aiohttp import web

    from bot.app import create_app
    from bot.observability import configure_logging

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


def _settings() -> Settings | None:
    try:
        return Settings.from_env(os.environ, env_file=Path(".env"))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return None


def _parser() -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """The command line's parser, and its ``audit export`` parser (for its errors)."""
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Without arguments: serve tapbot (the settings say how and where).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    audit = commands.add_parser("audit", help="read the audit trail")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True, metavar="COMMAND")
    export = audit_commands.add_parser(
        "export",
        help="write audit events to standard output",
        description=(
            "Write the audit events of [--since, --until) to standard output, oldest first, "
            "as CSV (with a header row) or JSON Lines. Reads DATABASE_URL and the other "
            "settings as the bot does."
        ),
    )
    export.add_argument("--since", required=True, help=f"start (inclusive): {MOMENT_FORMAT}")
    export.add_argument("--until", help="end (exclusive), same format; default: now")
    export.add_argument("--format", required=True, choices=[f.value for f in ExportFormat])
    joiners = commands.add_parser("joiners", help="the joiner reminders")
    joiner_commands = joiners.add_subparsers(
        dest="joiners_command", required=True, metavar="COMMAND"
    )
    joiner_commands.add_parser(
        "sweep",
        help="run the joiner sweep once, now, and say what it did",
        description=(
            "Find the joiners in the window and remind their managers, as the bot's daily "
            "sweep does (each reminder still goes out once). Exit status 0 when the sweep "
            "finished, 1 when it did not (the next sweep resumes), 2 for setting problems."
        ),
    )
    return parser, export


def _command(args: list[str]) -> int:
    parser, export_parser = _parser()
    try:
        options = parser.parse_args(args)
    except SystemExit as stop:  # argparse printed the usage and why
        return int(stop.code or 0)
    if options.command == "joiners":
        return _joiners_sweep()
    try:
        export = audit_export(
            since=parse_moment(options.since, name="--since"),
            until=parse_moment(options.until, name="--until") if options.until else None,
            format=parse_format(options.format, name="--format"),
            now=datetime.now(UTC),
        )
    except InvalidExport as invalid:
        export_parser.error(str(invalid))  # exits 2 with the usage line
    settings = _settings()
    if settings is None:
        return 2
    return asyncio.run(_export(settings, export, sys.stdout.buffer))


def _joiners_sweep() -> int:
    settings = _settings()
    if settings is None:
        return 2
    from bot.app import open_joiners
    from bot.cli import joiners_sweep
    from bot.observability import configure_logging

    configure_logging(json_output=settings.log_format == "json", level=settings.log_level)
    return asyncio.run(joiners_sweep(lambda: open_joiners(settings)))


async def _export(settings: Settings, export: AuditExport, out: BinaryIO) -> int:
    """Write *export* to *out* a page at a time; 1, with the reason on stderr, if it stops."""
    try:
        store = create_store(settings.database_url)
    except StoreError as error:
        print(f"audit export failed: {error}", file=sys.stderr)
        return 1
    written = False
    try:
        async for chunk in export_audit(store, export):
            out.write(chunk)
            out.flush()
            written = True
    except StoreError as error:
        incomplete = ", the output is incomplete" if written else ""
        print(f"audit export failed{incomplete}: {error}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (`| head`). Point stdout at /dev/null so the interpreter's
        # final flush does not fail again on the closed pipe.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        print("audit export stopped: the reader closed the output", file=sys.stderr)
        return 1
    finally:
        await store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
