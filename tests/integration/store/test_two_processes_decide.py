"""Two bot processes on one database, each with its own store connection: two approvers click
at the same moment (one on each) and an expiry runs on both — one decision, one pass, one
expiry. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.domain.model import RequestState
from bot.domain.outcomes import AwaitingApproval, Decided, Refused
from tests.integration.store.support import Backend
from tests.unit.domain.world import CHLOE, PRIYA, TOM, World, as_person


async def test_two_approvers_on_two_processes_make_one_decision(sql_backend: Backend) -> None:
    world = World(store=sql_backend.store)
    await world.baseline()
    asked = await world.submit(by=as_person(PRIYA))
    assert isinstance(asked, AwaitingApproval)

    async with sql_backend.another_instance() as other:
        second = World(store=other, clock=world.clock, directory=world.directory)
        results = await asyncio.gather(
            world.requests.decide(as_person(TOM), asked.request.id, 1, approve=True),
            second.requests.decide(
                as_person(CHLOE), asked.request.id, 1, approve=False, reason="Not verified"
            ),
        )

    assert sorted(type(r).__name__ for r in results) == ["Decided", "Refused"]
    [refused] = [r for r in results if isinstance(r, Refused)]
    [decided] = [r for r in results if isinstance(r, Decided)]
    stored = await sql_backend.store.get_request(asked.request.id)
    assert stored is not None
    assert len(stored.decisions) == 1
    assert stored.decisions[0].decider_id == decided.decision.decider_id
    assert refused.request is not None
    passes = 1 if decided.decision.approved else 0
    assert world.directory.called("create_pass") == passes


async def test_an_expiry_on_two_processes_expires_once(sql_backend: Backend) -> None:
    world = World(store=sql_backend.store)
    await world.baseline()
    asked = await world.submit(by=as_person(PRIYA))
    assert isinstance(asked, AwaitingApproval)
    world.clock.advance(hours=5)

    async with sql_backend.another_instance() as other:
        second = World(store=other, clock=world.clock, directory=world.directory)
        counts = await asyncio.gather(world.requests.expire_due(), second.requests.expire_due())

    assert sorted(counts) == [0, 1]
    stored = await sql_backend.store.get_request(asked.request.id)
    assert stored is not None
    assert stored.state is RequestState.EXPIRED
    expiries = [e for e in await sql_backend.store.list_audit() if e.outcome == "expired"]
    assert len(expiries) == 1
    assert world.clock.now() - stored.created_at >= timedelta(hours=5)
