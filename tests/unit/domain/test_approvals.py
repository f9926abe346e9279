"""Helpdesk requests and approvals in memory: the stage engine, every refusal, races, expiry."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.domain.approvals import (
    ApprovalPolicy,
    DeciderFacts,
    check_decider,
    describe_stage,
    plan_stages,
)
from bot.domain.errors import DirectoryUnavailable
from bot.domain.model import (
    ApproverKind,
    RequestKind,
    RequestState,
    RoleAssignmentKind,
    Stage,
    TapRequest,
)
from bot.domain.outcomes import AwaitingApproval, Decided, Failed, Issued, Refused
from bot.domain.policy import Refusal
from tests.unit.domain.world import (
    CHLOE,
    GLOBAL_ADMIN,
    LIAM,
    MANAGER,
    MANAGER_AND_HELPDESK,
    PRIYA,
    STRANGER,
    TOM,
    World,
    as_person,
)


async def _ask_as_priya(world: World, **changes: object) -> TapRequest:
    outcome = await world.submit(by=as_person(PRIYA), **changes)
    assert isinstance(outcome, AwaitingApproval), outcome
    return outcome.request


# The stage engine


def test_a_helpdesk_request_takes_the_configured_stages_and_a_manager_none() -> None:
    policy = MANAGER_AND_HELPDESK
    assert plan_stages(RequestKind.HELPDESK, policy, manager_changed=False) == (
        policy.helpdesk_stages
    )
    assert plan_stages(RequestKind.MANAGER, policy, manager_changed=False) == ()


def test_a_manager_request_after_a_manager_change_needs_one_helpdesk_stage_in_any_mode() -> None:
    for policy in (MANAGER_AND_HELPDESK, ApprovalPolicy(helpdesk_stages=())):
        planned = plan_stages(RequestKind.MANAGER, policy, manager_changed=True)
        assert [s.approver for s in planned] == [ApproverKind.HELPDESK]


def test_a_group_stage_must_name_a_group() -> None:
    with pytest.raises(ValueError, match="group"):
        ApprovalPolicy(helpdesk_stages=(Stage(ApproverKind.GROUP, 60),))
    with pytest.raises(ValueError, match="group"):
        ApprovalPolicy(helpdesk_stages=(Stage(ApproverKind.HELPDESK, 60, group_id="x"),))


def test_the_stage_is_described_naming_who_may_not_decide() -> None:
    stage = Stage(ApproverKind.HELPDESK, 60)
    assert describe_stage(stage, requester_name="Priya Shah", deciders=["Tom Becker"]) == (
        "a helpdesk member other than Priya Shah, Tom Becker"
    )
    assert describe_stage(Stage(ApproverKind.MANAGER, 60), requester_name="x") == (
        "the person's manager"
    )


async def test_deciders_are_checked_in_order(world: World) -> None:
    request = await _ask_as_priya(world)
    member = DeciderFacts(member_of_stage_group=True)
    stranger = DeciderFacts(member_of_stage_group=False)
    assert check_decider(request, 1, TOM.id, member) is None
    assert check_decider(request, 2, TOM.id, member) is Refusal.APPROVAL_STALE
    assert check_decider(request, 1, PRIYA.id, member) is Refusal.SELF_APPROVAL
    assert check_decider(request, 1, LIAM.id, member) is Refusal.TARGET_APPROVAL
    assert check_decider(request, 1, STRANGER.id, stranger) is Refusal.NOT_AN_APPROVER


# The four-eyes flow


async def test_a_helpdesk_request_waits_for_another_helpdesk_member_and_then_issues(
    world: World,
) -> None:
    request = await _ask_as_priya(world)

    assert request.kind is RequestKind.HELPDESK
    assert world.directory.called("create_pass") == 0
    [posted] = world.board.posted
    assert set(posted.approver_ids) == {TOM.id, CHLOE.id}  # never the requester or the target

    outcome = await world.requests.decide(as_person(TOM), request.id, 1, approve=True)

    assert isinstance(outcome, Decided)
    assert outcome.request.state is RequestState.DELIVERED
    assert [d.decider_name for d in outcome.request.decisions] == ["Tom Becker"]
    assert [d.to for d in world.delivery.delivered] == [PRIYA.id]
    assert world.board.last_shown(request.id).state is RequestState.DELIVERED  # type: ignore[union-attr]
    assert ("approval", "approved", None) in await world.audit()
    assert any("Tom Becker approved" in text for _, text in world.delivery.notices)


async def test_a_denial_needs_a_reason_and_tells_the_requester(world: World) -> None:
    request = await _ask_as_priya(world)

    no_reason = await world.requests.decide(as_person(TOM), request.id, 1, approve=False)
    denied = await world.requests.decide(
        as_person(TOM), request.id, 1, approve=False, reason="  Not verified by phone  "
    )

    assert isinstance(no_reason, Refused)
    assert no_reason.reason is Refusal.DENIAL_REASON_MISSING
    assert isinstance(denied, Decided)
    assert denied.request.state is RequestState.DENIED
    assert denied.request.decisions[0].reason == "Not verified by phone"
    assert world.directory.called("create_pass") == 0
    [(to, text)] = world.delivery.notices
    assert to == PRIYA.id
    assert "denied" in text
    assert "Not verified by phone" in text


@pytest.mark.parametrize(
    ("decider", "stage", "reason"),
    [
        (PRIYA, 1, Refusal.SELF_APPROVAL),
        (LIAM, 1, Refusal.TARGET_APPROVAL),
        (STRANGER, 1, Refusal.NOT_AN_APPROVER),
        (MANAGER, 1, Refusal.NOT_AN_APPROVER),  # a manager, but not in the helpdesk
        (TOM, 2, Refusal.APPROVAL_STALE),  # a forged card for another stage
        (TOM, 0, Refusal.APPROVAL_STALE),
    ],
)
async def test_clicks_that_may_not_decide_change_nothing_and_are_audited(
    world: World, decider: object, stage: int, reason: Refusal
) -> None:
    request = await _ask_as_priya(world)

    outcome = await world.requests.decide(as_person(decider), request.id, stage, approve=True)

    assert isinstance(outcome, Refused)
    assert outcome.reason is reason
    assert outcome.text
    stored = await world.store.get_request(request.id)
    assert stored == request
    assert ("approval", "refused", reason) in await world.audit()
    assert world.directory.called("create_pass") == 0


async def test_a_forged_click_for_an_unknown_request_is_refused(world: World) -> None:
    outcome = await world.requests.decide(as_person(TOM), "no-such-request", 1, approve=True)
    assert isinstance(outcome, Refused)
    assert outcome.reason is Refusal.APPROVAL_NOT_PENDING
    assert ("approval", "refused", Refusal.APPROVAL_NOT_PENDING) in await world.audit()


async def test_a_refused_click_reads_nothing_from_the_directory_when_the_card_tells(
    world: World,
) -> None:
    request = await _ask_as_priya(world)
    before = len(world.directory.calls)
    await world.requests.decide(as_person(PRIYA), request.id, 1, approve=True)
    await world.requests.decide(as_person(TOM), request.id, 7, approve=True)
    assert len(world.directory.calls) == before


async def test_a_decided_request_cannot_be_decided_again(world: World) -> None:
    request = await _ask_as_priya(world)
    await world.requests.decide(
        as_person(TOM), request.id, 1, approve=False, reason="Unknown caller"
    )
    replay = await world.requests.decide(as_person(CHLOE), request.id, 1, approve=True)
    assert isinstance(replay, Refused)
    assert replay.reason is Refusal.APPROVAL_NOT_PENDING
    assert (await world.store.get_request(request.id)).state is RequestState.DENIED  # type: ignore[union-attr]


async def test_two_approvers_clicking_at_once_make_one_decision_and_one_pass(
    world: World,
) -> None:
    request = await _ask_as_priya(world)
    first, second = await asyncio.gather(
        world.requests.decide(as_person(TOM), request.id, 1, approve=True),
        world.requests.decide(
            as_person(CHLOE), request.id, 1, approve=False, reason="Wait for the manager"
        ),
    )
    results = sorted(type(o).__name__ for o in (first, second))
    assert results == ["Decided", "Refused"]
    stored = await world.store.get_request(request.id)
    assert stored is not None
    assert len(stored.decisions) == 1
    assert world.directory.called("create_pass") <= 1


async def test_a_stage_past_its_timeout_expires_once_and_the_requester_is_told(
    world: World,
) -> None:
    request = await _ask_as_priya(world)
    world.clock.advance(minutes=239)
    assert await world.requests.expire_due() == 0
    world.clock.advance(minutes=2)
    assert await asyncio.gather(world.requests.expire_due(), world.requests.expire_due()) in (
        [1, 0],
        [0, 1],
    )
    stored = await world.store.get_request(request.id)
    assert stored is not None
    assert (stored.state, stored.reason) == (RequestState.EXPIRED, "stage_timeout")
    assert world.board.last_shown(request.id).state is RequestState.EXPIRED  # type: ignore[union-attr]
    assert any("expired" in text for _, text in world.delivery.notices)
    late = await world.requests.decide(as_person(TOM), request.id, 1, approve=True)
    assert isinstance(late, Refused)
    assert late.reason is Refusal.APPROVAL_NOT_PENDING


async def test_the_upkeep_runs_the_expiry(world: World) -> None:
    request = await _ask_as_priya(world)
    world.clock.advance(hours=5)
    report = await world.upkeep.run()
    assert report.done["expire"] == 1
    assert (await world.store.get_request(request.id)).state is RequestState.EXPIRED  # type: ignore[union-attr]


async def test_the_requester_can_cancel_while_waiting(world: World) -> None:
    request = await _ask_as_priya(world)
    stranger_try = await world.requests.cancel(as_person(TOM), request.id)
    cancelled = await world.requests.cancel(as_person(PRIYA), request.id)
    assert isinstance(stranger_try, Refused)
    assert cancelled.request.state is RequestState.CANCELLED  # type: ignore[union-attr]
    late = await world.requests.decide(as_person(TOM), request.id, 1, approve=True)
    assert isinstance(late, Refused)
    assert late.reason is Refusal.APPROVAL_NOT_PENDING


async def test_a_target_who_became_ineligible_while_waiting_is_refused_at_issue_time(
    world: World,
) -> None:
    request = await _ask_as_priya(world)
    world.directory.assign_role(LIAM.id, GLOBAL_ADMIN, RoleAssignmentKind.ACTIVE)

    outcome = await world.requests.decide(as_person(TOM), request.id, 1, approve=True)

    assert isinstance(outcome, Decided)
    assert outcome.request.state is RequestState.FAILED
    assert outcome.request.reason == Refusal.PRIVILEGED_ROLE
    assert world.directory.called("create_pass") == 0
    assert any("couldn't issue" in text for _, text in world.delivery.notices)


async def test_a_requester_who_left_the_helpdesk_gets_nothing_after_approval(
    world: World,
) -> None:
    request = await _ask_as_priya(world)
    world.directory.groups[next(iter(world.directory.groups))].discard(PRIYA.id)
    world.clock.advance(minutes=2)  # past what membership is remembered for

    outcome = await world.requests.decide(as_person(TOM), request.id, 1, approve=True)

    assert isinstance(outcome, Decided)
    assert outcome.request.state is RequestState.FAILED
    assert outcome.request.reason == Refusal.NOT_HELPDESK
    assert world.directory.called("create_pass") == 0


async def test_manager_then_helpdesk_stages_run_in_order() -> None:
    world = World(approvals=MANAGER_AND_HELPDESK)
    await world.baseline()
    request = await _ask_as_priya(world)
    assert request.current_stage is not None
    assert request.current_stage.approver is ApproverKind.MANAGER
    assert world.board.posted[0].approver_ids == (MANAGER.id,)

    tom_first = await world.requests.decide(as_person(TOM), request.id, 1, approve=True)
    by_manager = await world.requests.decide(as_person(MANAGER), request.id, 1, approve=True)
    manager_again = await world.requests.decide(as_person(MANAGER), request.id, 2, approve=True)
    by_tom = await world.requests.decide(as_person(TOM), request.id, 2, approve=True)

    assert isinstance(tom_first, Refused)
    assert tom_first.reason is Refusal.NOT_AN_APPROVER
    assert isinstance(by_manager, Decided)
    assert by_manager.request.stage == 2
    assert isinstance(manager_again, Refused)
    assert manager_again.reason is Refusal.APPROVER_ALREADY_DECIDED
    assert isinstance(by_tom, Decided)
    assert by_tom.request.state is RequestState.DELIVERED
    assert len(world.board.posted) == 2


async def test_without_approval_stages_a_helpdesk_request_issues_at_once() -> None:
    world = World(approvals=ApprovalPolicy(helpdesk_stages=()))
    await world.baseline()
    outcome = await world.submit(by=as_person(PRIYA))
    assert isinstance(outcome, Issued)
    assert outcome.request.kind is RequestKind.HELPDESK


async def test_someone_neither_manager_nor_helpdesk_is_refused(world: World) -> None:
    outcome = await world.submit(by=as_person(STRANGER))
    assert isinstance(outcome, Refused)
    assert outcome.reason is Refusal.NOT_DIRECT_REPORT


async def test_a_directory_failure_while_checking_an_approver_changes_nothing(
    world: World,
) -> None:
    request = await _ask_as_priya(world)
    world.clock.advance(minutes=2)
    world.directory.fail("member_of_groups", DirectoryUnavailable("down"))
    outcome = await world.requests.decide(as_person(TOM), request.id, 1, approve=True)
    assert isinstance(outcome, Failed)
    assert "nothing changed" in outcome.text
    assert (await world.store.get_request(request.id)).state is RequestState.PENDING_APPROVAL  # type: ignore[union-attr]


async def test_the_manager_change_safeguard_is_approved_by_the_helpdesk(world: World) -> None:
    other = await world.store.list_requests()
    assert other == []
    world.directory.set_manager(LIAM.id, STRANGER.id, at=world.clock.now() - timedelta(days=3))
    world.directory.set_manager(LIAM.id, MANAGER.id, at=world.clock.now() - timedelta(days=2))
    asked = await world.submit()
    assert isinstance(asked, AwaitingApproval)

    outcome = await world.requests.decide(as_person(TOM), asked.request.id, 1, approve=True)

    assert isinstance(outcome, Decided)
    assert outcome.request.state is RequestState.DELIVERED
    assert [d.to for d in world.delivery.delivered] == [MANAGER.id]
