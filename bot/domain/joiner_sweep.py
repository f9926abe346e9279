"""The joiner sweep: list who starts soon, handle each (`bot.domain.joiner_steps`), report.

The directory is listed for the window one page at a time while joiners are handled
concurrently (at most *concurrency* at once), so a sweep holds one page and a few joiners in
memory, however large the tenant. A joiner Graph throttles is tried again after Graph's
``Retry-After``; one that fails is left for a later run with its claim given back. A sweep
never raises for Graph or store failures: they are in the report and the audit trail, and a
run that did not finish is incomplete, so the schedule runs it again.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.domain.errors import DirectoryError, DirectoryThrottled, StoreError
from bot.domain.joiner_steps import (
    ACTOR,
    Ignored,
    JoinerOutcome,
    JoinerSteps,
    OutcomeKind,
    SweepPorts,
)
from bot.domain.joiners import Joiner, JoinerConfig, JoinerWindow, joiner_window
from bot.domain.policy import PolicyConfig

# A throttled joiner is tried again this many times, after Graph's Retry-After, before it is
# left for the next run.
THROTTLE_RETRIES = 3
MAX_THROTTLE_WAIT = 120.0
DEFAULT_CONCURRENCY = 16


@dataclass
class SweepReport:
    """A sweep's result: how many joiners it found, what happened, whether it finished.

    *found* counts the joiners in the window and in scope; *counts* their outcomes by kind.
    *listing_error* is the code of a directory failure that stopped the listing. The run is
    complete when the listing finished and no joiner failed; an undeliverable reminder does
    not make it incomplete (the next day's sweep tries again).
    """

    window: JoinerWindow
    found: int = 0
    out_of_scope: int = 0
    counts: collections.Counter[str] = field(default_factory=collections.Counter)
    listing_error: str | None = None

    @property
    def complete(self) -> bool:
        return self.listing_error is None and self.counts[OutcomeKind.FAILED] == 0

    def summary(self) -> dict[str, Any]:
        """JSON-shaped counts, for the sweep's record in the store and the audit trail."""
        return {
            "today": self.window.today.isoformat(),
            "found": self.found,
            "out_of_scope": self.out_of_scope,
            **{kind.value: self.counts[kind] for kind in OutcomeKind},
            "listing_error": self.listing_error or "",
        }


OutcomeSink = Callable[[JoinerOutcome], None]
Progress = Callable[[], Awaitable[None]]


class JoinerSweep:
    """Runs sweeps (`run`); safe in several processes at once on one store, since every
    joiner is claimed there first. *owner* names this process in those claims."""

    def __init__(
        self,
        ports: SweepPorts,
        *,
        config: JoinerConfig,
        policy: PolicyConfig,
        owner: str,
        concurrency: int = DEFAULT_CONCURRENCY,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.ports = ports
        self.config = config
        self.policy = policy
        self.owner = owner
        self._concurrency = concurrency
        self._sleep = sleep

    def window(self, now: datetime) -> JoinerWindow:
        return joiner_window(
            now,
            self.config.timezone,
            days_ahead=self.config.days_ahead,
            margin_days=self.config.margin_days,
        )

    async def run(
        self, *, on_outcome: OutcomeSink | None = None, on_progress: Progress | None = None
    ) -> SweepReport:
        """Sweep once, now. *on_outcome* hears of every joiner in the window as it is done;
        *on_progress* is awaited after each (to renew a lease). Raises no DirectoryError or
        StoreError: failures are in the report and the audit trail."""
        ports = self.ports
        report = SweepReport(self.window(ports.clock.now()))
        slots = asyncio.Semaphore(self._concurrency)
        tasks: set[asyncio.Task[None]] = set()

        async def one(steps: JoinerSteps, joiner: Joiner) -> None:
            try:
                result = await self._with_throttle_retries(steps, joiner)
            except Exception:  # one joiner's surprise must not cost everyone else theirs
                result = await steps.failed(joiner, "internal_error")
            if result is Ignored.OUT_OF_SCOPE:
                report.out_of_scope += 1
            if not isinstance(result, JoinerOutcome):
                return
            report.found += 1
            report.counts[result.kind] += 1
            if on_outcome is not None:
                on_outcome(result)
            if on_progress is not None:
                await on_progress()

        try:
            steps = JoinerSteps(
                ports,
                config=self.config,
                policy=self.policy,
                owner=self.owner,
                window=report.window,
                tap_policy=await ports.pass_issuer.get_policy(),
            )
            async for joiner in ports.directory.list_joiners(
                report.window.query_from,
                report.window.query_until,
                departments=self.config.departments,
                companies=self.config.companies,
            ):
                await slots.acquire()
                task = asyncio.create_task(one(steps, joiner))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                task.add_done_callback(lambda _: slots.release())
        except DirectoryError as error:
            report.listing_error = error.code or type(error).__name__
        finally:
            if tasks:
                await asyncio.gather(*tasks)
        await self._record(report)
        return report

    async def _with_throttle_retries(
        self, steps: JoinerSteps, joiner: Joiner
    ) -> JoinerOutcome | Ignored:
        attempt = 0
        while True:
            try:
                return await steps.handle(joiner)
            except DirectoryThrottled as throttled:
                if attempt >= THROTTLE_RETRIES:
                    return await steps.failed(joiner, throttled.code or "throttled")
                attempt += 1
                await self._sleep(min(max(throttled.retry_after, 1.0), MAX_THROTTLE_WAIT))
            except DirectoryError as error:
                return await steps.failed(joiner, error.code or type(error).__name__)
            except StoreError:
                return await steps.failed(joiner, "store_error")

    async def _record(self, report: SweepReport) -> None:
        try:
            await self.ports.auditor.record(
                "joiner_sweep",
                "completed" if report.complete else "incomplete",
                actor_id=ACTOR,
                reason=report.listing_error,
                detail={k: str(v) for k, v in report.summary().items()},
            )
        except StoreError:
            return  # the report still reaches the caller
