"""Benchmark the joiner sweep (``make bench-joiners``): a large tenant under Graph throttling.

For each tenant size it starts the fake tenant with that many synthetic users, 2,000 of them
starting within the next 7 days (20 to a manager), puts every Graph route under a throttling
budget (the fake tenant's ``rate`` fault: *limit* requests per 10 s, 429 with Retry-After
beyond it), stores a Teams conversation for every manager (pointing at a local stand-in for
the Bot Framework connector), and runs ``python -m bot joiners sweep`` as its own process.

It reports the sweep's wall time beside the least time the budget allows (every Graph request
the sweep needed, less the budget's initial allowance, at the refill rate), the Graph requests
made and refused, the reminders that reached the connector, and the sweep process's peak
memory (from the kernel, ``ru_maxrss``), which must not grow with the tenant's size.
Results: ``bench/results/joiners.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bench.flows import Connector
from bot.domain.model import ConversationRecord
from bot.store.sql import create_store, migrate
from sandbox import org
from sandbox.stack import ROOT, bot_environment, free_port, start_fake_tenant

RESULTS = Path(__file__).resolve().parent / "results"
JOINERS = 2000
WINDOW_SECONDS = 10.0
_SUMMARY = re.compile(r"(\d+) joiners? in the window: (\d+) reminded, (\d+) skipped, "
                      r"(\d+) unreachable, (\d+) failed")  # fmt: skip


@dataclass
class Row:
    users: int
    joiners_found: int
    reminded: int
    failed: int
    connector_posts: int
    graph_requests: int
    graph_throttled: int
    budget_per_10s: int
    seconds: float
    least_seconds: float
    sweep_cpu_seconds: float
    sweep_peak_rss_mb: float
    exit_status: int


async def _prepare(database_url: str, managers: list[str], connector_url: str) -> None:
    """Migrate the bot's database and store a 1:1 conversation for every manager."""
    await migrate(database_url)
    store = create_store(database_url)
    try:
        for manager in managers:
            reference = {
                "channelId": "msteams",
                "serviceUrl": connector_url,
                "bot": {"id": "28:tapbot"},
                "user": {"id": f"29:{manager}", "aadObjectId": manager},
                "conversation": {
                    "id": f"a:{manager}",
                    "conversationType": "personal",
                    "tenantId": org.TENANT_ID,
                },
            }
            await store.save_conversation(
                ConversationRecord(
                    key=f"user:{manager}",
                    tenant_id=org.TENANT_ID,
                    reference=reference,
                    updated_at=datetime.now(UTC),
                )
            )
    finally:
        await store.close()


def _sweep(env: dict[str, str], log: Path) -> tuple[int, float, float, float, str]:
    """Run the sweep command; its exit status, wall seconds, CPU seconds, peak RSS (MB) and
    output."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("Microsoft", "GRAPH_"))}
    with log.open("w") as errors:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "joiners", "sweep"],
            cwd=ROOT,
            env=base | env,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
        assert process.stdout is not None
        output = process.stdout.read()
        # wait4 reaps this very child and reports its own peak resident memory (in KiB).
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    process.stdout.close()
    cpu = usage.ru_utime + usage.ru_stime
    return process.returncode, seconds, cpu, usage.ru_maxrss / 1024, output


async def run_size(users: int, budget: int, workdir: Path) -> Row:
    connector = Connector()
    await connector.start()
    tenant, ready = start_fake_tenant(
        workdir / f"tenant-{users}",
        log_dir=workdir / "logs",
        extra=(
            "--synthetic-users", str(users), "--synthetic-joiners", str(JOINERS),
            "--page-size", "999",
        ),
    )  # fmt: skip
    try:
        managers = [org.synthetic_user_id(n) for n in range(-(-JOINERS // 20))]
        database_url = f"sqlite+aiosqlite:///{workdir / f'sweep-{users}-{budget}.db'}"
        await _prepare(database_url, managers, connector.url)
        tenant_url = ready["base_url"]
        async with aiohttp.ClientSession() as http:
            fault = {
                "route": "/v1.0/",
                "kind": "rate",
                "limit": budget,
                "per_seconds": WINDOW_SECONDS,
            }
            (await http.post(f"{tenant_url}/_sandbox/faults", json=fault)).raise_for_status()
            await http.delete(f"{tenant_url}/_sandbox/calls")
            env = bot_environment(
                ready, port=free_port(), ops_port=free_port(), database_url=database_url
            ) | {"LOG_LEVEL": "WARNING"}
            status, seconds, cpu, rss, output = await asyncio.to_thread(
                _sweep, env, workdir / "logs" / f"sweep-{users}-{budget}.log"
            )
            async with http.get(f"{tenant_url}/_sandbox/calls.json") as response:
                calls = (await response.json())["value"]
        (workdir / "logs" / f"sweep-{users}-{budget}.out").write_text(output)
        summary = _SUMMARY.search(output)
        if summary is None:
            raise RuntimeError(f"the sweep printed no summary:\n{output[-2000:]}")
        found, reminded, _, _, failed = (int(g) for g in summary.groups())
        throttled = sum(1 for c in calls if c["status"] == 429)
        served = len(calls) - throttled
        rate = budget / WINDOW_SECONDS
        row = Row(
            users=users,
            joiners_found=found,
            reminded=reminded,
            failed=failed,
            connector_posts=connector.posts,
            graph_requests=served,
            graph_throttled=throttled,
            budget_per_10s=budget,
            seconds=round(seconds, 1),
            least_seconds=round(max(0, served - budget) / rate, 1),
            sweep_cpu_seconds=round(cpu, 1),
            sweep_peak_rss_mb=round(rss, 1),
            exit_status=status,
        )
        print(row, flush=True)
        return row
    finally:
        tenant.stop()
        await connector.stop()


def _report(rows: list[Row]) -> str:
    lines = [
        "# Joiner sweep benchmark: a large tenant under Graph throttling",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node() or 'this machine'} "
        f"({platform.machine()}, Python {platform.python_version()}, {os.cpu_count()} CPUs "
        "shared with the fake tenant). One `python -m bot joiners sweep` process, SQLite, "
        f"{JOINERS} joiners in the window (plus the seeded organisation's) among the tenant's "
        "users, 20 joiners to a manager, every manager reachable in Teams (a local connector "
        "stand-in). Every Graph route is throttled to a budget of N requests per 10 s (a token "
        "bucket that starts full); beyond it the fake tenant answers 429 with Retry-After.",
        "",
        "*Least time* is what the budget allows for the Graph requests the sweep made: "
        "(requests - N) / (N per 10 s). Peak RSS is the sweep process's own (ru_maxrss).",
        "",
        "| tenant users | joiners found | reminded | failed | cards posted | Graph requests "
        "| refused (429) | budget / 10 s | sweep s | least s | sweep CPU s | peak RSS MB | exit |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.users:,} | {r.joiners_found:,} | {r.reminded:,} | {r.failed} "
            f"| {r.connector_posts:,} | {r.graph_requests:,} | {r.graph_throttled:,} "
            f"| {r.budget_per_10s:,} | {r.seconds} | {r.least_seconds} | {r.sweep_cpu_seconds} "
            f"| {r.sweep_peak_rss_mb} | {r.exit_status} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make bench-joiners", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--sizes", default="10000,100000", help="tenant sizes, comma-separated")
    parser.add_argument(
        "--budgets", default="1000,3000", help="Graph requests per 10 s, comma-separated"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "joiners")
    parser.add_argument("--workdir", type=Path, help="keep databases and logs here")
    args = parser.parse_args(argv)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="tapbot-bench-joiners-") as scratch:
        workdir = args.workdir or Path(scratch)
        for budget in (int(part) for part in args.budgets.split(",")):
            for size in (int(part) for part in args.sizes.split(",")):
                rows.append(asyncio.run(run_size(size, budget, workdir)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".md").write_text(_report(rows))
    payload: dict[str, Any] = {"joiners": JOINERS, "rows": [asdict(r) for r in rows]}
    args.out.with_suffix(".json").write_text(json.dumps(payload, indent=2))
    print(f"results: {args.out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
