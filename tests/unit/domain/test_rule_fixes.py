"""Issue 11, findings 4 to 8, each proven against the request lifecycle in memory.

4. A forged submit costs at most the manager read (and the requester's helpdesk membership),
   and every submit, refused ones included, is rate-limited before any Graph call.
5. The rate limits hold under parallel submits and count confirmations too.
6. A pass made between the check and the create is never silently replaced.
7. A pass of unknown fate is looked for only inside its request's issuing window, and a pass
   another request delivered is never deleted.
8. One failing upkeep part does not stop the others, and due work is found in the store
   however much other work there is.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

from bot.domain.errors import DirectoryUnavailable, StoreError
from bot.domain.model import DeliveryMethod, IssuedPass, RequestState, TapRequest
from bot.domain.outcomes import AwaitingApproval, ConfirmReplace, Failed, Issued, Refused
from bot.domain.policy import PolicyConfig, Refusal
from tests.unit.domain.world import (
    ADA,
    BLOCKED,
    CHLOE,
    LIAM,
    MANAGER,
    NOAH,
    PRIYA,
    STRANGER,
    TOM,
    World,
    as_person,
)

FORM = "f0000000-0000-4000-8000-0000000000{:02d}"


async def _world(**config: object) -> World:
    world = World(config=PolicyConfig(blocked_group_ids=(BLOCKED,), **config))  # type: ignore[arg-type]
    await world.baseline()
    return world


# 4. Refusals cost nothing to send


async def test_a_forged_submit_for_someone_elses_report_reads_only_the_relationship(
    world: World,
) -> None:
    world.directory.calls.clear()

    outcome = await world.submit(by=as_person(STRANGER), target=LIAM.id)

    assert isinstance(outcome, Refused)
    assert outcome.reason is Refusal.NOT_DIRECT_REPORT
    read = {name for name, *_ in world.directory.calls}
    assert read <= {"get_manager", "member_of_groups"}
    assert "manager_changes" not in read  # the audit log (5 reads per 10 s per app) is spared
    assert "list_role_assignments" not in read


async def test_every_submit_is_counted_before_any_graph_call_refused_ones_too() -> None:
    world = await _world(requests_per_requester_per_hour=3)
    for n in range(3):
        refused = await world.submit(by=as_person(STRANGER), form_id=FORM.format(n))
        assert isinstance(refused, Refused)
        assert refused.reason is Refusal.NOT_DIRECT_REPORT
    world.directory.calls.clear()

    flood = await world.submit(by=as_person(STRANGER), form_id=FORM.format(9))

    assert isinstance(flood, Refused)
    assert flood.reason is Refusal.RATE_LIMIT_REQUESTER
    assert world.directory.calls == []
    assert ("request", "refused", Refusal.RATE_LIMIT_REQUESTER) in await world.audit()


# 5. Rate limits under parallel submits


async def test_parallel_submits_never_exceed_the_requesters_limit() -> None:
    world = await _world(requests_per_requester_per_hour=2)
    targets = [LIAM.id, ADA.id, NOAH.id, LIAM.id, ADA.id, NOAH.id]

    outcomes = await asyncio.gather(
        *(world.submit(target=t, form_id=FORM.format(n)) for n, t in enumerate(targets))
    )

    limited = [
        o for o in outcomes if isinstance(o, Refused) and o.reason is Refusal.RATE_LIMIT_REQUESTER
    ]
    assert len(limited) == len(targets) - 2


async def test_parallel_requests_for_one_person_never_exceed_the_targets_limit() -> None:
    world = await _world(requests_per_target_per_day=2)
    askers = [PRIYA, TOM, CHLOE, PRIYA, TOM, CHLOE]

    outcomes = await asyncio.gather(
        *(world.submit(by=as_person(p), form_id=FORM.format(n)) for n, p in enumerate(askers))
    )

    waiting = [o for o in outcomes if isinstance(o, AwaitingApproval)]
    limited = [
        o for o in outcomes if isinstance(o, Refused) and o.reason is Refusal.RATE_LIMIT_TARGET
    ]
    assert (len(waiting), len(limited)) == (2, 4)
    assert len(await world.store.list_requests(target_id=LIAM.id)) == 2


async def test_confirming_a_replacement_counts_against_the_requesters_limit() -> None:
    world = await _world(requests_per_requester_per_hour=1)
    await world.directory.create_pass(
        LIAM.id, lifetime_minutes=60, is_usable_once=True, start_at=None
    )
    asked = await world.submit()
    assert isinstance(asked, ConfirmReplace)

    outcome = await world.requests.confirm_replace(as_person(MANAGER), asked.request.id)

    assert isinstance(outcome, Refused)
    assert outcome.reason is Refusal.RATE_LIMIT_REQUESTER
    assert world.directory.called("create_pass") == 1  # only the seeding call


# 6. A pass made between the check and the create


async def test_a_pass_made_after_the_check_turns_the_request_into_the_replacement_question(
    world: World,
) -> None:
    real_add = world.store.add_request

    async def add_then_someone_issues(request: TapRequest, **kwargs: object) -> None:
        await real_add(request, **kwargs)  # type: ignore[arg-type]
        # Between tapbot's check and its create, an administrator issues a pass in the portal.
        await world.directory.create_pass(
            LIAM.id, lifetime_minutes=480, is_usable_once=False, start_at=None
        )

    world.store.add_request = add_then_someone_issues  # type: ignore[method-assign]
    theirs = None

    outcome = await world.submit()

    theirs = world.directory.pass_of(LIAM.id)
    assert isinstance(outcome, ConfirmReplace)
    assert outcome.request.state is RequestState.DRAFT
    assert theirs is not None
    assert outcome.existing.id == theirs.id
    assert world.directory.called("create_pass") == 1  # the administrator's, not tapbot's
    assert world.delivery.delivered == []


# 7. Clean-up of a pass of unknown fate


async def _lose_the_answer(world: World, *, then_wait: timedelta) -> None:
    """The next creation works, but its answer is lost after *then_wait*, and Graph cannot be
    read right then."""
    real_create = world.directory.create_pass

    async def created_then_lost(*args: object, **kwargs: object) -> IssuedPass:
        await real_create(*args, **kwargs)  # type: ignore[arg-type]
        world.clock.at += then_wait
        world.directory.fail("list_passes", DirectoryUnavailable("down"))
        world.directory.create_pass = real_create  # type: ignore[method-assign]
        raise DirectoryUnavailable("timed out", code="timeout")

    world.directory.create_pass = created_then_lost  # type: ignore[method-assign]


async def test_a_later_request_s_delivered_pass_is_never_taken_for_the_lost_one(
    world: World,
) -> None:
    await _lose_the_answer(world, then_wait=timedelta(seconds=20))
    lost = await world.submit()
    assert isinstance(lost, Failed)
    world.clock.advance(minutes=30)
    asked = await world.submit(form_id=FORM.format(2))
    assert isinstance(asked, ConfirmReplace)  # the orphan is still live: it is asked about
    later = await world.requests.confirm_replace(as_person(MANAGER), asked.request.id)
    assert isinstance(later, Issued)
    delivered = world.directory.pass_of(LIAM.id)

    assert await world.upkeep.retry_deletions() == 1  # settled: nothing of its own is left

    assert world.directory.pass_of(LIAM.id) == delivered
    [first] = [r for r in await world.store.list_requests() if r.state is RequestState.FAILED]
    assert first.reason == "pass_deleted_later"


async def test_an_orphan_made_long_before_the_failure_is_still_found(world: World) -> None:
    # The create took four minutes to time out: longer than the clock skew allowed for.
    await _lose_the_answer(world, then_wait=timedelta(minutes=4))
    lost = await world.submit()
    assert isinstance(lost, Failed)
    assert world.directory.pass_of(LIAM.id) is not None

    assert await world.upkeep.retry_deletions() == 1

    assert world.directory.pass_of(LIAM.id) is None


async def test_a_pass_that_expired_on_its_own_stops_the_retries(world: World) -> None:
    await _lose_the_answer(world, then_wait=timedelta(seconds=5))
    await world.submit()
    world.directory.fail("list_passes", DirectoryUnavailable("down"), times=None)
    world.clock.advance(hours=3)

    await world.upkeep.retry_deletions()

    [failed] = await world.store.list_requests()
    assert failed.reason == "pass_expired_undeleted"
    assert ("pass", "pass_expired_undeleted", None) in await world.audit()


# 8. Upkeep


async def test_one_failing_upkeep_part_does_not_stop_the_others(world: World) -> None:
    waiting = await world.submit(by=as_person(PRIYA))
    assert isinstance(waiting, AwaitingApproval)
    world.clock.advance(hours=5)

    async def broken(*args: object, **kwargs: object) -> object:
        raise StoreError("due_edits failed")

    world.store.due_edits = broken  # type: ignore[method-assign]
    report = await world.upkeep.run()

    assert report.failed == {"redact_due": "StoreError"}
    assert report.done["expire"] == 1
    assert set(report.done) == {"expire", "recover", "retry_deletions", "prune_rate_events"}


async def test_a_pending_deletion_is_found_behind_a_thousand_newer_failures(
    world: World,
) -> None:
    await _lose_the_answer(world, then_wait=timedelta(seconds=5))
    await world.submit()
    [unknown] = await world.store.list_requests()
    now = world.clock.now()
    for n in range(1005):
        newer = dataclasses.replace(
            unknown,
            id=f"other-{n}",
            target_id=f"someone-{n}",
            reason="delivery_failed",
            created_at=now + timedelta(seconds=n + 1),
            updated_at=now + timedelta(seconds=n + 1),
            delivery=DeliveryMethod.CHAT_TO_REQUESTER,
        )
        await world.store.add_request(newer)

    assert await world.upkeep.retry_deletions() == 1
    assert world.directory.pass_of(LIAM.id) is None
