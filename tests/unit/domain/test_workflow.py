"""Flow 1 end to end in memory: the rules, the lifecycle, and every way it can go wrong."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from bot.domain.errors import DirectoryThrottled, DirectoryUnavailable
from bot.domain.model import (
    ApproverKind,
    IssuedPass,
    RequestState,
)
from bot.domain.outcomes import (
    AwaitingApproval,
    ConfirmReplace,
    Failed,
    Issued,
    Refused,
    Unchanged,
)
from bot.domain.policy import Refusal
from tests.unit.domain.world import (
    BLOCKED,
    GLOBAL_ADMIN,
    HARRY,
    LIAM,
    MANAGER,
    NOAH,
    OTHER_MANAGER,
    STRANGER,
    World,
    as_person,
)


async def test_an_eligible_report_gets_a_pass_delivered_and_its_redaction_scheduled(
    world: World,
) -> None:
    outcome = await world.submit()
    assert isinstance(outcome, Issued)
    request = outcome.request
    assert request.state is RequestState.DELIVERED
    live = world.directory.pass_of(LIAM.id)
    assert live is not None
    assert request.pass_id == live.id
    assert [d.to for d in world.delivery.delivered] == [MANAGER.id]
    assert await world.audit() == [
        ("request", "created", None),
        ("pass", "issued", None),
        ("delivery", "delivered", None),
    ]
    value = world.delivery.delivered[0].value
    everything = json.dumps([e.detail for e in await world.store.list_audit()]) + repr(request)
    assert value not in everything
    edits = await world.store.due_edits(world.clock.now() + timedelta(minutes=30))
    assert [e.activity_id for e in edits] == ["activity-1"]
    assert edits[0].due_at == world.clock.now() + timedelta(minutes=30)  # before the pass ends


async def test_the_same_card_submitted_twice_yields_one_pass(world: World) -> None:
    first, second = await asyncio.gather(world.submit(), world.submit())
    third = await world.submit()
    kinds = sorted(type(o).__name__ for o in (first, second, third))
    assert kinds == ["Issued", "Unchanged", "Unchanged"]
    assert world.directory.called("create_pass") == 1
    assert len(world.delivery.delivered) == 1


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        (STRANGER.id, Refusal.NOT_DIRECT_REPORT),
        (MANAGER.id, Refusal.SELF),
        (HARRY.id, Refusal.DISABLED),
        (NOAH.id, Refusal.PRIVILEGED_ROLE_ELIGIBLE),
        ("10000000-0000-4000-8000-0000000000ff", Refusal.TARGET_NOT_FOUND),
    ],
)
async def test_targets_outside_the_rules_are_refused_audited_and_get_nothing(
    world: World, target: str, reason: Refusal
) -> None:
    outcome = await world.submit(target=target)
    assert isinstance(outcome, Refused)
    assert outcome.reason is reason
    assert outcome.text
    assert world.directory.called("create_pass") == 0
    assert await world.store.list_requests() == []
    assert await world.audit() == [("request", "refused", reason)]


async def test_active_admin_and_blocked_group_are_refused(world: World) -> None:
    world.directory.assign_role(LIAM.id, GLOBAL_ADMIN)
    assert (await world.submit()).reason is Refusal.PRIVILEGED_ROLE  # type: ignore[attr-defined]
    world2 = World()
    await world2.baseline()
    world2.directory.add_group(BLOCKED, LIAM.id)
    assert (await world2.submit()).reason is Refusal.BLOCKED_GROUP  # type: ignore[attr-defined]


async def test_a_lifetime_outside_the_policy_is_refused(world: World) -> None:
    outcome = await world.submit(lifetime_minutes=100000)
    assert isinstance(outcome, Refused)
    assert outcome.reason is Refusal.LIFETIME_OUT_OF_RANGE


async def test_a_recent_manager_change_sends_the_request_to_the_helpdesk(world: World) -> None:
    world.directory.set_manager(LIAM.id, OTHER_MANAGER.id, at=world.clock.now() - timedelta(days=3))
    world.directory.set_manager(LIAM.id, MANAGER.id, at=world.clock.now() - timedelta(days=2))
    outcome = await world.submit()
    assert isinstance(outcome, AwaitingApproval)
    assert outcome.request.state is RequestState.PENDING_APPROVAL
    assert [s.approver for s in outcome.request.stages] == [ApproverKind.HELPDESK]
    assert outcome.request.context.previous_manager_name == OTHER_MANAGER.display_name
    assert world.directory.called("create_pass") == 0


async def test_the_per_target_rate_limit_holds(world: World) -> None:
    for n in range(3):
        outcome = await world.submit(form_id=f"f0000000-0000-4000-8000-00000000000{n}")
        assert not isinstance(outcome, Refused)
        await world.directory.delete_pass(LIAM.id, world.directory.pass_of(LIAM.id).id)  # type: ignore[union-attr]
    outcome = await world.submit(form_id="f0000000-0000-4000-8000-000000000009")
    assert isinstance(outcome, Refused)
    assert outcome.reason is Refusal.RATE_LIMIT_TARGET


async def test_an_existing_pass_is_replaced_only_after_confirmation(world: World) -> None:
    await world.directory.create_pass(
        LIAM.id, lifetime_minutes=60, is_usable_once=True, start_at=None
    )
    old = world.directory.pass_of(LIAM.id)
    outcome = await world.submit()
    assert isinstance(outcome, ConfirmReplace)
    assert outcome.existing.id == old.id  # type: ignore[union-attr]
    assert world.directory.pass_of(LIAM.id) == old
    stranger_try = await world.requests.confirm_replace(as_person(STRANGER), outcome.request.id)
    assert isinstance(stranger_try, Refused)
    assert stranger_try.reason is Refusal.NOT_YOUR_REQUEST
    first, second = await asyncio.gather(
        world.requests.confirm_replace(as_person(MANAGER), outcome.request.id),
        world.requests.confirm_replace(as_person(MANAGER), outcome.request.id),
    )
    assert sorted(type(o).__name__ for o in (first, second)) == ["Issued", "Unchanged"]
    assert world.directory.pass_of(LIAM.id).id != old.id  # type: ignore[union-attr]
    assert len(world.delivery.delivered) == 1


async def test_keeping_the_existing_pass_cancels_the_request(world: World) -> None:
    await world.directory.create_pass(
        LIAM.id, lifetime_minutes=60, is_usable_once=True, start_at=None
    )
    asked = await world.submit()
    assert isinstance(asked, ConfirmReplace)
    outcome = await world.requests.cancel(as_person(MANAGER), asked.request.id)
    assert isinstance(outcome, Unchanged)
    assert outcome.request.state is RequestState.CANCELLED
    assert world.directory.called("create_pass") == 1  # only the seeding call


async def test_rules_are_checked_again_right_before_issuing(world: World) -> None:
    await world.directory.create_pass(
        LIAM.id, lifetime_minutes=60, is_usable_once=True, start_at=None
    )
    asked = await world.submit()
    assert isinstance(asked, ConfirmReplace)
    world.directory.set_manager(
        LIAM.id, OTHER_MANAGER.id, at=world.clock.now() - timedelta(days=30)
    )
    outcome = await world.requests.confirm_replace(as_person(MANAGER), asked.request.id)
    assert isinstance(outcome, Refused)
    assert outcome.reason is Refusal.NOT_DIRECT_REPORT
    assert outcome.request is not None
    assert outcome.request.state is RequestState.FAILED


async def test_graph_throttling_on_create_is_explained_and_leaves_nothing(world: World) -> None:
    world.directory.fail("create_pass", DirectoryThrottled("429", retry_after=5))
    outcome = await world.submit()
    assert isinstance(outcome, Failed)
    assert "busy" in outcome.text
    assert world.directory.pass_of(LIAM.id) is None
    requests = await world.store.list_requests()
    assert [r.state for r in requests] == [RequestState.FAILED]


async def test_a_pass_created_behind_a_timeout_is_deleted(world: World) -> None:
    real_create = world.directory.create_pass

    async def create_then_time_out(*args: object, **kwargs: object) -> IssuedPass:
        await real_create(*args, **kwargs)  # type: ignore[arg-type]
        raise DirectoryUnavailable("timed out", code="timeout")

    world.directory.create_pass = create_then_time_out  # type: ignore[method-assign]
    outcome = await world.submit()
    assert isinstance(outcome, Failed)
    assert world.directory.pass_of(LIAM.id) is None


async def test_a_failed_delivery_deletes_the_pass_and_says_why(world: World) -> None:
    world.delivery.fail_with("Teams did not accept the message")
    outcome = await world.submit()
    assert isinstance(outcome, Failed)
    assert "Teams did not accept the message" in outcome.text
    assert world.directory.pass_of(LIAM.id) is None
    assert ("pass", "deleted", None) in await world.audit()
    assert ("request", "failed", "delivery_failed") in await world.audit()


async def test_tampered_input_is_refused_and_audited(world: World) -> None:
    outcome = await world.requests.refuse_input(
        MANAGER.id, "target", "is not a directory object id"
    )
    assert outcome.reason is Refusal.INVALID_INPUT
    assert await world.audit() == [("request", "refused", Refusal.INVALID_INPUT)]


async def test_an_undeletable_undelivered_pass_is_reported_truthfully(world: World) -> None:
    world.delivery.fail_with("Teams did not accept the message")
    world.directory.fail("delete_pass", DirectoryUnavailable("down"), times=None)
    outcome = await world.submit()
    assert isinstance(outcome, Failed)
    assert "didn't let me delete it yet" in outcome.text
    assert world.directory.pass_of(LIAM.id) is not None
    [request] = await world.store.list_requests()
    assert request.reason == "pass_not_deleted"
    world.directory.heal("delete_pass")
    assert await world.upkeep.retry_deletions() == 1
    assert world.directory.pass_of(LIAM.id) is None


async def test_a_create_of_unknown_outcome_is_cleaned_up_once_graph_answers(world: World) -> None:
    real_create = world.directory.create_pass

    async def create_then_time_out(*args: object, **kwargs: object) -> IssuedPass:
        await real_create(*args, **kwargs)  # type: ignore[arg-type]
        world.directory.fail("list_passes", DirectoryUnavailable("down"))
        raise DirectoryUnavailable("timed out", code="timeout")

    world.directory.create_pass = create_then_time_out  # type: ignore[method-assign]
    outcome = await world.submit()
    assert isinstance(outcome, Failed)
    assert "can't tell whether it made one" in outcome.text
    assert world.directory.pass_of(LIAM.id) is not None
    assert await world.upkeep.retry_deletions() == 1
    assert world.directory.pass_of(LIAM.id) is None


async def test_any_error_between_create_and_delivery_deletes_the_pass(world: World) -> None:
    async def broken(*args: object) -> object:
        raise RuntimeError("connector exploded")

    world.delivery.deliver = broken  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        await world.submit()
    assert world.directory.pass_of(LIAM.id) is None


async def test_a_replacement_question_expires(world: World) -> None:
    await world.directory.create_pass(
        LIAM.id, lifetime_minutes=60, is_usable_once=True, start_at=None
    )
    asked = await world.submit()
    assert isinstance(asked, ConfirmReplace)
    world.clock.advance(minutes=16)
    outcome = await world.requests.confirm_replace(as_person(MANAGER), asked.request.id)
    assert isinstance(outcome, Failed)
    assert "expired" in outcome.text
    assert outcome.request is not None
    assert outcome.request.state is RequestState.CANCELLED
    assert world.directory.called("create_pass") == 1


async def test_recovery_leaves_a_request_another_instance_is_issuing_alone(world: World) -> None:
    entered, release = world.hold_pass_creation()
    issuing = asyncio.create_task(world.submit())
    await entered.wait()
    assert await world.upkeep.recover() == 0  # a second instance starting now
    release.set()
    assert isinstance(await issuing, Issued)


async def test_two_different_cards_for_one_person_at_once_issue_one_pass(world: World) -> None:
    entered, release = world.hold_pass_creation()
    first = asyncio.create_task(world.submit())
    await entered.wait()
    second = await world.submit(form_id="f0000000-0000-4000-8000-000000000002")
    release.set()
    assert isinstance(await first, Issued)
    assert isinstance(second, Refused)
    assert second.reason is Refusal.ISSUE_IN_PROGRESS
    assert "being issued right now" in second.text
    assert world.directory.called("create_pass") == 1
    assert ("request", "refused", Refusal.ISSUE_IN_PROGRESS) in await world.audit()


async def test_confirming_a_replacement_while_another_is_issuing_is_refused(world: World) -> None:
    await world.directory.create_pass(
        LIAM.id, lifetime_minutes=60, is_usable_once=True, start_at=None
    )
    asked_a = await world.submit()
    asked_b = await world.submit(form_id="f0000000-0000-4000-8000-000000000002")
    assert isinstance(asked_a, ConfirmReplace)
    assert isinstance(asked_b, ConfirmReplace)
    entered, release = world.hold_pass_creation()
    first = asyncio.create_task(
        world.requests.confirm_replace(as_person(MANAGER), asked_a.request.id)
    )
    await entered.wait()
    second = await world.requests.confirm_replace(as_person(MANAGER), asked_b.request.id)
    release.set()
    assert isinstance(await first, Issued)
    assert isinstance(second, Refused)
    assert second.reason is Refusal.ISSUE_IN_PROGRESS
    assert len(world.delivery.delivered) == 1
