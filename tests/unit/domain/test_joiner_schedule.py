"""When the daily sweep runs: at start-up, at the sweep time, on retry; once per day."""

from __future__ import annotations

import asyncio
from datetime import time, timedelta

from bot.domain.errors import DirectoryUnavailable
from bot.domain.joiner_schedule import MAX_RETRY_AFTER, RETRY_AFTER, SWEEP_LEASE, retry_delay
from bot.domain.joiners import Recipient, SweepState
from tests.unit.domain.joiner_world import TODAY, JoinerWorld


async def test_at_start_up_the_days_sweep_runs_once() -> None:
    world = JoinerWorld()
    schedule = world.schedule(sweep_time=time(18))

    first = await schedule.tick()
    world.clock.advance(seconds=15)
    again = await schedule.tick()

    assert first is not None
    assert again is None
    assert world.reminders.to(Recipient.MANAGER) == ["Ethan Walsh", "Mia Rossi"]
    run = await world.store.get_sweep(TODAY)
    assert run is not None
    assert (run.state, run.summary["reminded"]) == (SweepState.DONE, 2)


async def test_a_restart_the_same_day_does_not_sweep_again() -> None:
    world = JoinerWorld()
    assert await world.schedule().tick() is not None

    restarted = world.schedule(owner="instance-a-restarted")

    assert await restarted.tick() is None


async def test_without_the_start_up_sweep_it_waits_for_the_sweep_time() -> None:
    world = JoinerWorld()  # 08:00 in London
    schedule = world.schedule(sweep_time=time(9), sweep_at_start=False)

    assert await schedule.tick() is None
    world.clock.advance(minutes=59)
    assert await schedule.tick() is None
    world.clock.advance(minutes=1)
    assert await schedule.tick() is not None
    world.clock.advance(minutes=1)
    assert await schedule.tick() is None
    assert len(world.reminders.sent) == 2


async def test_the_next_days_sweep_runs_at_its_time() -> None:
    world = JoinerWorld()
    schedule = world.schedule(sweep_time=time(8, 30))
    assert await schedule.tick() is not None  # start-up, today
    world.rehire(world.oscar.id, 8)  # Oscar enters tomorrow's window

    world.clock.advance(hours=24)  # tomorrow 08:00
    assert await schedule.tick() is None
    world.clock.advance(minutes=30)
    tomorrow = await schedule.tick()

    assert tomorrow is not None
    assert world.reminders.to(Recipient.MANAGER) == ["Ethan Walsh", "Mia Rossi", "Oscar Nguyen"]


async def test_a_failed_sweep_is_retried_later_and_then_finishes() -> None:
    world = JoinerWorld()
    world.directory.fail("list_joiners", DirectoryUnavailable("down", code="serviceNotAvailable"))
    schedule = world.schedule()

    failed = await schedule.tick()
    assert failed is not None
    assert not failed.complete
    run = await world.store.get_sweep(TODAY)
    assert run is not None
    assert run.state is SweepState.FAILED

    world.clock.advance(seconds=RETRY_AFTER.total_seconds() - 1)
    assert await schedule.tick() is None
    world.clock.advance(seconds=1)
    retried = await schedule.tick()

    assert retried is not None
    assert retried.complete
    assert world.reminders.to(Recipient.MANAGER) == ["Ethan Walsh", "Mia Rossi"]


async def test_a_failure_that_lasts_is_retried_less_and_less_often() -> None:
    # A permission missing, a joiner whose roles never read: re-reading every joiner four
    # times an hour all day would only spend the tenant's Graph budget.
    world = JoinerWorld()
    world.directory.fail("list_joiners", DirectoryUnavailable("down"), times=None)
    schedule = world.schedule()
    waits = []
    assert await schedule.tick() is not None
    for _ in range(6):
        run = await world.store.get_sweep(TODAY)
        assert run is not None
        waits.append(run.lease_until - world.clock.now())
        world.clock.at = run.lease_until
        assert await schedule.tick() is not None

    assert [w / RETRY_AFTER for w in waits] == [1, 2, 4, 8, 16, 16]
    assert waits[-1] == MAX_RETRY_AFTER
    run = await world.store.get_sweep(TODAY)
    assert run is not None
    assert run.summary["failed_runs"] == 7

    world.directory.heal()
    world.clock.at = run.lease_until
    done = await schedule.tick()
    assert done is not None
    assert done.complete
    finished = await world.store.get_sweep(TODAY)
    assert finished is not None
    assert (finished.state, finished.summary["failed_runs"]) == (SweepState.DONE, 7)


def test_the_retry_delay_doubles_up_to_four_hours() -> None:
    assert [retry_delay(n) for n in (0, 1, 2, 3)] == [
        RETRY_AFTER,
        RETRY_AFTER,
        RETRY_AFTER * 2,
        RETRY_AFTER * 4,
    ]
    assert retry_delay(10_000) == MAX_RETRY_AFTER == timedelta(hours=4)


async def test_processes_ticking_together_sweep_once() -> None:
    world = JoinerWorld()
    schedules = [world.schedule(owner=f"instance-{n}") for n in range(4)]

    reports = await asyncio.gather(*(s.tick() for s in schedules))

    assert sum(r is not None for r in reports) == 1
    assert len(world.reminders.sent) == 2


async def test_a_sweep_whose_process_died_is_taken_over_after_its_lease() -> None:
    world = JoinerWorld()
    now = world.clock.now()
    assert await world.store.claim_sweep(TODAY, "died", now=now, lease_until=now + SWEEP_LEASE)
    schedule = world.schedule()

    assert await schedule.tick() is None
    world.clock.advance(seconds=SWEEP_LEASE.total_seconds())
    assert await schedule.tick() is not None
    assert len(world.reminders.sent) == 2


async def test_a_long_sweep_renews_its_lease() -> None:
    world = JoinerWorld()
    original = world.reminders.to_manager

    async def slow(reminder):  # type: ignore[no-untyped-def]
        world.clock.advance(minutes=4)
        return await original(reminder)

    world.reminders.to_manager = slow  # type: ignore[method-assign]
    schedule = world.schedule()
    leases: list[object] = []
    renew = world.store.renew_sweep

    async def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        leases.append(kwargs["lease_until"])
        return await renew(*args, **kwargs)

    world.store.renew_sweep = spy  # type: ignore[method-assign]

    await schedule.tick()

    assert leases  # renewed while it ran
    assert leases[-1] > world.clock.now() - timedelta(minutes=4)  # type: ignore[operator]
