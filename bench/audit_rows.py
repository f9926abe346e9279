"""Fill an audit table with synthetic events fast, for the export benchmark and the
million-event test: the database generates the rows itself, a chunk per statement.

Event *n* (from 1) is at ``START + n // 3`` seconds, so every three events share a timestamp
and page boundaries fall among equal times; it has one of four action/outcome pairs, one of
997 actors and 100 003 targets, a request id, a reason on every fourth and a two-key detail.
Ids follow n, so (at, id) order is id order.
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.tables import audit_events

ROOT = Path(__file__).resolve().parents[1]
START = datetime(2025, 1, 1, tzinfo=UTC)
EVENTS_PER_SECOND = 3
CHUNK = 100_000

_POSTGRES = """
INSERT INTO audit_events (at, action, outcome, actor_id, target_id, request_id, reason, detail)
SELECT
  CAST(:start AS timestamptz) + make_interval(secs => g / 3),
  (ARRAY['request', 'pass', 'delivery', 'request'])[1 + g % 4],
  (ARRAY['created', 'issued', 'delivered', 'refused'])[1 + g % 4],
  '10000000-0000-4000-8000-' || lpad((g % 997)::text, 12, '0'),
  '20000000-0000-4000-8000-' || lpad((g % 100003)::text, 12, '0'),
  md5(g::text)::uuid::text,
  CASE WHEN g % 4 = 3 THEN 'not_direct_report' END,
  json_build_object('lifetime_minutes', '60', 'delivery', 'chat_requester')
FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS g
ORDER BY g
"""

# SQLite keeps UtcDateTime as fixed-width UTC text ("YYYY-MM-DD HH:MM:SS.ffffff").
_SQLITE = """
WITH RECURSIVE g(n) AS (SELECT :first UNION ALL SELECT n + 1 FROM g WHERE n < :last)
INSERT INTO audit_events (at, action, outcome, actor_id, target_id, request_id, reason, detail)
SELECT
  strftime('%Y-%m-%d %H:%M:%S', :start + n / 3, 'unixepoch') || '.000000',
  CASE n % 4 WHEN 0 THEN 'request' WHEN 1 THEN 'pass' WHEN 2 THEN 'delivery' ELSE 'request' END,
  CASE n % 4 WHEN 0 THEN 'created' WHEN 1 THEN 'issued' WHEN 2 THEN 'delivered'
    ELSE 'refused' END,
  '10000000-0000-4000-8000-' || printf('%012d', n % 997),
  '20000000-0000-4000-8000-' || printf('%012d', n % 100003),
  printf('%08x-0000-4000-8000-%012d', n, n),
  CASE WHEN n % 4 = 3 THEN 'not_direct_report' END,
  '{"lifetime_minutes": "60", "delivery": "chat_requester"}'
FROM g
"""


# The event id at the start of a CSV row ("7,...") or a JSON line ('{"id":7,...').
_ID = re.compile(rb'^(?:\{"id":)?(\d+)[,]')


def moment_of(n: int) -> datetime:
    """The time of generated event *n* (from 1)."""
    return START + timedelta(seconds=n // EVENTS_PER_SECOND)


async def fill(engine: AsyncEngine, count: int, *, chunk: int = CHUNK) -> None:
    """Append events 1..*count* to the (empty, migrated) audit table behind *engine*."""
    postgres = engine.dialect.name == "postgresql"
    # Building an index once over all rows is far quicker than growing it row by row; the
    # indexes come back exactly as the schema defines them.
    async with engine.begin() as connection:
        for index in audit_events.indexes:
            await connection.run_sync(index.drop)
    for first in range(1, count + 1, chunk):
        last = min(first + chunk - 1, count)
        start: object = START if postgres else int(START.timestamp())
        async with engine.begin() as connection:
            await connection.execute(
                text(_POSTGRES if postgres else _SQLITE),
                {"first": first, "last": last, "start": start},
            )
    async with engine.begin() as connection:
        for index in audit_events.indexes:
            await connection.run_sync(index.create)
    if postgres:
        async with engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("VACUUM ANALYZE audit_events"))
    else:
        async with engine.begin() as connection:
            await connection.execute(text("ANALYZE"))


@dataclass(frozen=True, slots=True)
class ExportRun:
    """What one ``python -m bot audit export`` run produced and cost."""

    events: int
    first_id: int | None
    last_id: int | None
    in_order: bool
    output_bytes: int
    seconds: float
    peak_rss_kb: int
    exit_code: int
    stderr: str


def export_with_cli(
    database_url: str, *, since: datetime, until: datetime, format: str
) -> ExportRun:
    """Run the real command line in a process of its own, read its output as it comes (checking
    that event ids rise by one from line to line, as `fill` makes them), and return the run,
    with the process's peak resident memory (the kernel's high-water mark, sampled)."""
    env = os.environ | {
        "DATABASE_URL": database_url,
        "GRAPH_TENANT_ID": "11111111-1111-4111-8111-111111111111",
        "GRAPH_CLIENT_ID": "22222222-2222-4222-8222-222222222222",
        "GRAPH_CLIENT_SECRET": "export-only",
    }
    command = [
        sys.executable, "-m", "bot", "audit", "export",
        "--since", since.isoformat(), "--until", until.isoformat(), "--format", format,
    ]  # fmt: skip
    started = time.perf_counter()
    with subprocess.Popen(  # noqa: S603  # our own module, fixed arguments
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        peak = _PeakSampler(process.pid)
        peak.start()
        try:
            run = _read(process.stdout, csv=format == "csv")
            stderr = process.stderr.read().decode()
        finally:
            peak.stop()
    return dataclasses.replace(
        run,
        seconds=time.perf_counter() - started,
        peak_rss_kb=peak.kb,
        exit_code=process.returncode,
        stderr=stderr,
    )


class _PeakSampler:
    """Reads a process's peak resident memory (VmHWM) every few milliseconds until stopped.

    Sampled while the process runs, because the kernel's other measure, ``ru_maxrss`` from
    wait4, starts a child at the size of the process it was forked from (here, the test
    runner). VmHWM is itself a high-water mark, so sampling loses only the last moments."""

    def __init__(self, pid: int) -> None:
        self.kb = 0
        self._pid = pid
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"vmhwm-{pid}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._done.wait(0.005):
            self.kb = max(self.kb, _peak_rss_kb(self._pid))


def _read(stdout: IO[bytes], *, csv: bool) -> ExportRun:
    skip_header = csv
    events = size = 0
    first = last = None
    in_order = True
    rest = b""
    while chunk := stdout.read(1 << 20):
        size += len(chunk)
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        if skip_header and lines:
            lines.pop(0)
            skip_header = False
        for line in lines:
            number = int(_ID.match(line).group(1))  # type: ignore[union-attr]
            in_order = in_order and (last is None or number == last + 1)
            first = number if first is None else first
            last = number
        events += len(lines)
    return ExportRun(
        events=events,
        first_id=first,
        last_id=last,
        in_order=in_order and rest == b"",
        output_bytes=size,
        seconds=0.0,
        peak_rss_kb=0,
        exit_code=0,
        stderr="",
    )


def _peak_rss_kb(pid: int) -> int:
    """The process's peak resident memory so far (VmHWM), 0 once it has exited."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0
