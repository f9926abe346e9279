"""Benchmark the audit export (``python -m bench.audit_export``): throughput and memory.

For each engine (SQLite in a temporary file, PostgreSQL in a database of its own), fills the
audit table with N generated events (default a million; bench/audit_rows.py), then runs the
real command line, ``python -m bot audit export``, in a process of its own: the whole table as
CSV and as JSON Lines, and a tenth of it as CSV. Reports events per second, megabytes per
second and the exporting process's peak resident memory, to ``bench/results/audit_export.md``
(and ``.json``). Nothing here is timed by a test; the million-event test checks memory only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import sqlite3
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from bench.audit_rows import START, export_with_cli, fill
from bot.store.engine import database_url, make_engine
from bot.store.sql import migrate

RESULTS = Path(__file__).resolve().parent / "results"
POSTGRES_URL = os.environ.get(
    "TAPBOT_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


@dataclass
class Row:
    engine: str
    format: str
    events: int
    seconds: float
    events_per_second: float
    megabytes_per_second: float
    output_megabytes: float
    peak_rss_mb: float


async def _postgres_database(name: str, *, drop: bool) -> str:
    admin = database_url(POSTGRES_URL).set(drivername="postgresql")
    connection = await asyncpg.connect(admin.render_as_string(hide_password=False), timeout=5)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return database_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


async def _filled(url: str, events: int) -> float:
    await migrate(url)
    engine = make_engine(url)
    started = time.perf_counter()
    try:
        await fill(engine, events)
    finally:
        await engine.dispose()
    return time.perf_counter() - started


def _row(engine: str, format: str, url: str, until: datetime) -> Row:
    run = export_with_cli(url, since=START, until=until, format=format)
    if run.exit_code != 0 or not run.in_order:
        raise RuntimeError(f"export failed ({run.exit_code}): {run.stderr}")
    megabytes = run.output_bytes / 1e6
    return Row(
        engine=engine,
        format=format,
        events=run.events,
        seconds=round(run.seconds, 2),
        events_per_second=round(run.events / run.seconds),
        megabytes_per_second=round(megabytes / run.seconds, 1),
        output_megabytes=round(megabytes, 1),
        peak_rss_mb=round(run.peak_rss_kb / 1024, 1),
    )


async def _engine(engine: str, events: int, workdir: Path) -> tuple[float, list[Row]]:
    name = f"tapbot_bench_{os.getpid()}_{secrets.token_hex(3)}"
    if engine == "sqlite":
        url = f"sqlite:///{workdir / 'audit.db'}"
    else:
        url = await _postgres_database(name, drop=False)
    try:
        filled = await _filled(url, events)
        everything = START + timedelta(days=3650)
        tenth = START + timedelta(seconds=events // 30)
        rows = [
            await asyncio.to_thread(_row, engine, "csv", url, tenth),
            await asyncio.to_thread(_row, engine, "csv", url, everything),
            await asyncio.to_thread(_row, engine, "json", url, everything),
        ]
    finally:
        if engine == "postgres":
            await _postgres_database(name, drop=True)
    return filled, rows


def _report(events: int, fills: dict[str, float], rows: list[Row]) -> str:
    lines = [
        "# Audit export benchmark: `python -m bot audit export`",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node() or 'this machine'} "
        f"({platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}). The audit table holds {events:,} generated events "
        "(three per second, a two-key detail each); each export is the real command line in a "
        "process of its own, its output read and checked (every id once, in order) by the "
        "benchmark. Peak RSS is the exporting process's high-water mark (VmHWM). Filling took "
        + ", ".join(f"{seconds:.1f} s on {engine}" for engine, seconds in fills.items())
        + ".",
        "",
        "| engine | format | events | seconds | events/s | MB/s | output MB | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.engine} | {r.format} | {r.events:,} | {r.seconds} | {r.events_per_second:,} | "
        f"{r.megabytes_per_second} | {r.output_megabytes} | {r.peak_rss_mb} |"
        for r in rows
    ]
    return "\n".join(lines) + "\n"


async def _main(events: int, engines: list[str], out: Path) -> None:
    fills: dict[str, float] = {}
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="tapbot-bench-") as workdir:
        for engine in engines:
            print(f"{engine}: filling {events:,} events and exporting…", flush=True)
            fills[engine], engine_rows = await _engine(engine, events, Path(workdir))
            rows += engine_rows
    out.with_suffix(".md").write_text(_report(events, fills, rows))
    out.with_suffix(".json").write_text(
        json.dumps(
            {"events": events, "fill_seconds": fills, "rows": [asdict(r) for r in rows]},
            indent=2,
        )
        + "\n"
    )
    print(f"results: {out.with_suffix('.md')}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.audit_export", description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument("--out", type=Path, default=RESULTS / "audit_export")
    args = parser.parse_args(argv)
    asyncio.run(_main(args.events, args.engines.split(","), args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
