"""Benchmark flow 1 (``make bench``): many managers' submits against the running bot.

Starts the fake tenant and the bot as separate processes (as ``make run`` does, without the
Playgrounds), makes every Graph call wait a fixed latency L, and drives the bot over HTTP with
Action.Execute submits at several concurrencies. Replies and delivered passes go to a local
recording connector. Writes ``bench/results/flows.md`` (and ``.json``) with, per concurrency:
submit-to-delivered time (p50/p95/p99), flows per second, Graph calls per flow, the longest
chain of sequential Graph calls per flow, the bot's overhead above the Graph time it waits
for, and the bot process's peak memory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from sandbox import org
from sandbox.stack import (
    Process,
    bot_environment,
    free_port,
    start_bot,
    start_fake_tenant,
    wait_for_bot,
)

RESULTS = Path(__file__).resolve().parent / "results"
SYNTHETIC_REPORTS = 5000


@dataclass
class Row:
    concurrency: int
    flows: int
    failed: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    flows_per_second: float
    graph_calls_per_flow: float
    longest_graph_chain: int
    overhead_percent: float
    bot_peak_rss_mb: float


class Connector:
    """The Bot Framework connector stand-in: accepts every post, counts them."""

    def __init__(self) -> None:
        self.posts = 0
        self.runner: web.AppRunner | None = None
        self.port = free_port()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._answer)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def _answer(self, request: web.Request) -> web.Response:
        await request.read()
        self.posts += 1
        return web.json_response({"id": f"activity-{self.posts}"})

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"


def _activity(connector: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "message",
        "id": str(uuid.uuid4()),
        "channelId": "msteams",
        "serviceUrl": connector,
        "from": {"id": f"29:{org.MANAGER_ID}", "name": "Olivia Bennett",
                 "aadObjectId": org.MANAGER_ID},
        "recipient": {"id": "28:tapbot", "name": "tapbot"},
        "conversation": {"id": "a:bench", "conversationType": "personal",
                         "tenantId": org.TENANT_ID},
        "channelData": {"tenant": {"id": org.TENANT_ID}},
        **extra,
    }  # fmt: skip


def _submit(connector: str, target: str) -> dict[str, Any]:
    data = {
        "form_id": str(uuid.uuid4()),
        "target": target,
        "lifetime": "60",
        "one_time": "true",
        "start": "now",
        "start_date": "",
        "start_time": "",
        "delivery": "chat_requester",
        "justification": "benchmark",
    }
    value = {"action": {"type": "Action.Execute", "verb": "request.submit", "data": data}}
    return _activity(connector, type="invoke", name="adaptiveCard/action", value=value)


def _longest_chain(calls: list[dict[str, Any]]) -> int:
    """The longest run of Graph calls where each starts after the previous one ended."""
    ordered = sorted(calls, key=lambda c: c["ended"])
    best: list[int] = []
    for i, call in enumerate(ordered):
        before = [best[j] for j in range(i) if ordered[j]["ended"] <= call["started"]]
        best.append(1 + max(before, default=0))
    return max(best, default=0)


def _peak_rss_mb(process: Process) -> float:
    status = Path(f"/proc/{process.popen.pid}/status").read_text()
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _run_level(
    http: aiohttp.ClientSession,
    bot_url: str,
    connector: Connector,
    concurrency: int,
    flows: int,
    targets: Iterator[str],
) -> tuple[list[float], int, float]:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(flows):
        queue.put_nowait(n)
    times: list[float] = []
    failed = 0

    async def worker() -> None:
        nonlocal failed
        while not queue.empty():
            queue.get_nowait()
            started = time.perf_counter()
            body = _submit(connector.url, next(targets))
            async with http.post(f"{bot_url}/api/messages", json=body) as response:
                answer = await response.json()
            if "Pass issued" not in json.dumps(answer):
                failed += 1
            times.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return times, failed, time.perf_counter() - started


async def _graph_profile(
    http: aiohttp.ClientSession,
    tenant_url: str,
    bot_url: str,
    connector: Connector,
    runs: int,
    targets: Iterator[str],
) -> tuple[float, int]:
    """Calls per flow (mean) and the longest sequential chain (median), from flows run one at
    a time."""
    counts, chains = [], []
    for _ in range(runs):
        await http.delete(f"{tenant_url}/_sandbox/calls")
        body = _submit(connector.url, next(targets))
        async with http.post(f"{bot_url}/api/messages", json=body) as response:
            await response.read()
        async with http.get(f"{tenant_url}/_sandbox/calls.json") as response:
            calls = (await response.json())["value"]
        counts.append(len(calls))
        chains.append(_longest_chain(calls))
    return statistics.mean(counts), round(statistics.median(chains))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


async def run(latency: float, levels: list[int], flows: int, workdir: Path) -> list[Row]:
    connector = Connector()
    await connector.start()
    tenant, ready = start_fake_tenant(
        workdir / "tenant",
        log_dir=workdir / "logs",
        extra=("--extra-reports", str(SYNTHETIC_REPORTS), "--page-size", "100"),
    )
    bot: Process | None = None
    try:
        port, ops_port = free_port(), free_port()
        env = bot_environment(
            ready,
            port=port,
            ops_port=ops_port,
            database_url=f"sqlite+aiosqlite:///{workdir / 'bench.db'}",
        ) | {
            "RATE_LIMIT_PER_REQUESTER_HOUR": "100000000",
            "RATE_LIMIT_PER_TARGET_DAY": "100000000",
            "LOG_LEVEL": "WARNING",
        }
        bot = start_bot(env, log_dir=workdir / "logs")
        bot_url = f"http://127.0.0.1:{port}"
        wait_for_bot(port, ops_port, timeout=60, process=bot)
        tenant_url = ready["base_url"]
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http:
            await http.post(f"{bot_url}/api/messages", json=_activity(connector.url, text="hi"))
            fault = {"route": "*", "kind": "latency", "seconds": latency}
            (await http.post(f"{tenant_url}/_sandbox/faults", json=fault)).raise_for_status()
            targets = (org.synthetic_report_id(n) for n in range(SYNTHETIC_REPORTS))
            calls_per_flow, chain = await _graph_profile(
                http, tenant_url, bot_url, connector, 5, targets
            )
            rows = []
            for level in levels:
                times, failed, wall = await _run_level(
                    http, bot_url, connector, level, flows, targets
                )
                p50 = _percentile(times, 0.5)
                graph_ms = chain * latency * 1000
                rows.append(
                    Row(
                        concurrency=level,
                        flows=flows,
                        failed=failed,
                        p50_ms=round(p50, 1),
                        p95_ms=round(_percentile(times, 0.95), 1),
                        p99_ms=round(_percentile(times, 0.99), 1),
                        flows_per_second=round(flows / wall, 1),
                        graph_calls_per_flow=round(calls_per_flow, 1),
                        longest_graph_chain=chain,
                        overhead_percent=round((p50 - graph_ms) / graph_ms * 100, 1),
                        bot_peak_rss_mb=round(_peak_rss_mb(bot), 1),
                    )
                )
                print(rows[-1], flush=True)
            return rows
    finally:
        if bot is not None:
            bot.stop()
        tenant.stop()
        await connector.stop()


def _report(rows: list[Row], latency: float) -> str:
    lines = [
        "# Flow 1 benchmark: manager submits a request, pass delivered in chat",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node() or 'this machine'} "
        f"({platform.machine()}, Python {platform.python_version()}), one bot process, "
        f"SQLite, every Graph call delayed by L = {latency * 1000:.0f} ms by the fake tenant. "
        "Time is measured from the submit (Action.Execute invoke) to its answer, which comes "
        "after the pass was created and delivered. Overhead compares p50 with the longest chain "
        "of sequential Graph calls (median over single flows) times L.",
        "",
        "| concurrency | flows | failed | p50 ms | p95 ms | p99 ms | flows/s | Graph calls/flow "
        "| longest Graph chain | overhead vs Graph wait | bot peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.concurrency} | {r.flows} | {r.failed} | {r.p50_ms} | {r.p95_ms} | {r.p99_ms} "
            f"| {r.flows_per_second} | {r.graph_calls_per_flow} | {r.longest_graph_chain} "
            f"| {r.overhead_percent} % | {r.bot_peak_rss_mb} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per Graph call")
    parser.add_argument("--concurrency", default="1,10,50", help="comma-separated levels")
    parser.add_argument("--flows", type=int, default=100, help="flows per level")
    parser.add_argument("--out", type=Path, default=RESULTS / "flows")
    args = parser.parse_args(argv)
    levels = [int(part) for part in args.concurrency.split(",")]
    with tempfile.TemporaryDirectory(prefix="tapbot-bench-") as workdir:
        rows = asyncio.run(run(args.latency, levels, args.flows, Path(workdir)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".md").write_text(_report(rows, args.latency))
    args.out.with_suffix(".json").write_text(
        json.dumps({"latency_seconds": args.latency, "rows": [asdict(r) for r in rows]}, indent=2)
    )
    print(f"results: {args.out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
