"""When the daily joiner sweep runs, and which process runs it.

`JoinerSchedule.tick` is called every few seconds (the composition root's loop). The sweep of
day D (in ``TIMEZONE``) is due in a process

- at its first tick, when ``JOINER_SWEEP_AT_START`` is on (the default) and D's sweep has not
  run yet, whatever the time;
- when ``JOINER_SWEEP_TIME`` on D passes while it runs;
- when D's run failed and its retry time has come (15 minutes after the first failed run,
  doubling after each further one, at most 4 hours), or its instance died and its lease ran
  out.

Due or not, the store decides: only the process whose claim of D's run succeeds sweeps, and a
run that finished is never run again that day. Nothing else is remembered between ticks but
this process's own last tick.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

from bot.domain.errors import StoreError
from bot.domain.joiner_sweep import JoinerSweep, SweepReport
from bot.domain.joiners import SweepRun, SweepState, local_moment, local_today

# How long a running sweep holds the day before another instance may take over; renewed as
# the sweep goes.
SWEEP_LEASE = timedelta(minutes=10)
# When a sweep that could not finish (Graph or the store failed) is tried again: after 15
# minutes, then twice as long after each further failed run of the day, at most 4 hours
# apart. A failure that lasts (a permission missing, a joiner whose roles never read) must
# not re-read every joiner four times an hour all day.
RETRY_AFTER = timedelta(minutes=15)
MAX_RETRY_AFTER = timedelta(hours=4)
FAILED_RUNS = "failed_runs"


def retry_delay(failed_runs: int) -> timedelta:
    """How long after its *failed_runs*-th failed run (1 for the first) a day's sweep waits."""
    return min(RETRY_AFTER * (1 << min(max(failed_runs - 1, 0), 16)), MAX_RETRY_AFTER)


class JoinerSchedule:
    """Decides, at each tick, whether this process should sweep now, and does."""

    def __init__(self, sweep: JoinerSweep) -> None:
        self._sweep = sweep
        self._last_tick: datetime | None = None

    async def tick(self) -> SweepReport | None:
        """Sweep if today's sweep is due here and this process wins the claim; return the
        report, or None when there was nothing to do. Raises StoreError when the store cannot
        be read (the caller's loop logs it and ticks again)."""
        ports = self._sweep.ports
        config = self._sweep.config
        now = ports.clock.now()
        today = local_today(now, config.timezone)
        due_at = local_moment(today, config.sweep_time, config.timezone)
        first, last = self._last_tick is None, self._last_tick
        self._last_tick = now
        run = await ports.store.get_sweep(today)
        if run is not None and (run.state is SweepState.DONE or run.lease_until > now):
            return None
        time_came = last is not None and last < due_at <= now
        start_up = first and config.sweep_at_start
        if run is None and not (time_came or start_up):
            return None
        owner = self._sweep.owner
        if not await ports.store.claim_sweep(today, owner, now=now, lease_until=now + SWEEP_LEASE):
            return None
        renewed = [now]

        async def renew() -> None:
            moment = ports.clock.now()
            if moment - renewed[0] >= SWEEP_LEASE / 3:
                renewed[0] = moment
                # A renewal that fails only lets another instance take over later; the
                # joiners themselves are claimed one by one.
                with contextlib.suppress(StoreError):
                    await ports.store.renew_sweep(today, owner, lease_until=moment + SWEEP_LEASE)

        report = await self._sweep.run(on_progress=renew)
        finished = ports.clock.now()
        failed_runs = _failed_runs(run) + (0 if report.complete else 1)
        await ports.store.finish_sweep(
            today,
            owner,
            state=SweepState.DONE if report.complete else SweepState.FAILED,
            at=finished,
            retry_at=finished + retry_delay(failed_runs),
            summary=report.summary() | {FAILED_RUNS: failed_runs},
        )
        return report


def _failed_runs(run: SweepRun | None) -> int:
    """How many runs of the day failed before this one (a run that died counts none)."""
    if run is None:
        return 0
    count = run.summary.get(FAILED_RUNS)
    return count if isinstance(count, int) and not isinstance(count, bool) and count > 0 else 0
