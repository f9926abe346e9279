"""A million audit events export through the real command line in flat memory, on both engines.

The table is generated in the database (bench/audit_rows.py). Each export runs
``python -m bot audit export`` in a process of its own; the kernel's peak resident memory of
that process (``ru_maxrss``) for a tenth of the table and for all of it must be the same within
a few megabytes, and small in absolute terms: an export that held the events would need
hundreds of megabytes for the million (the CSV alone is about 230 MB). Every event must come
out once, in (at, id) order, although every three share a timestamp.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bench.audit_rows import START, ExportRun, export_with_cli, fill
from bot.store.engine import database_url, make_engine, sqlite_file
from bot.store.sql import migrate

EVENTS = 1_000_000
# The first 33 334 seconds hold events 1..100 001 (three per second, from event 0's second).
TENTH = START + timedelta(seconds=33_334)
TENTH_EVENTS = 100_001
FLAT_MARGIN_KB = 8 * 1024
CEILING_KB = 160 * 1024


async def _export(url: str, until_seconds: timedelta, format: str) -> ExportRun:
    return await asyncio.to_thread(
        export_with_cli, url, since=START, until=START + until_seconds, format=format
    )


async def test_a_million_events_export_in_order_in_flat_memory(empty_sql_url: str) -> None:
    url = empty_sql_url
    await migrate(url)
    engine = make_engine(url)
    try:
        await fill(engine, EVENTS)
    finally:
        await engine.dispose()
    # One format per engine keeps the time down; both formats meet both engines elsewhere.
    format = "csv" if database_url(url).get_backend_name() == "sqlite" else "json"
    try:
        tenth = await _export(url, TENTH - START, format)
        whole = await _export(url, timedelta(days=365), format)
    finally:
        database = sqlite_file(database_url(url))
        if database is not None:  # half a gigabyte: not for pytest's kept temporary folders
            for path in database.parent.glob(database.name + "*"):
                path.unlink()

    for run, count in ((tenth, TENTH_EVENTS), (whole, EVENTS)):
        assert run.exit_code == 0, run.stderr
        assert (run.events, run.first_id, run.last_id) == (count, 1, count)
        assert run.in_order
    assert whole.output_bytes > 200_000_000
    assert whole.peak_rss_kb - tenth.peak_rss_kb < FLAT_MARGIN_KB, (tenth, whole)
    assert whole.peak_rss_kb < CEILING_KB, whole
