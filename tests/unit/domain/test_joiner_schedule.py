"""When the daily sweep runs: at start-up, at the sweep time, on retry; once per day."""

from __future__ import annotations

import asyncio
from datetime import time, timedelta

from bot.domain.errors import DirectoryUnavailable
from bot.domain.joiner_schedule import RETRY_AFTER, SWEEP_LEASE
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
