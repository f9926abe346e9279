"""An attacker's review of the request lifecycle (issues 7 and 11): each test is a way around
the rules that worked before its fix, or a race that must keep holding."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.approvals import ApprovalPolicy
from bot.domain.errors import DirectoryUnavailable
from bot.domain.issuing import UNDELETED
from bot.domain.model import ApproverKind, RequestState, Stage, TapRequest
from bot.domain.offers import DETAILS_PER_PERSON_PER_HOUR, FORMS_PER_PERSON_PER_HOUR
from bot.domain.outcomes import AwaitingApproval, Decided, Failed, Issued, Refused
from bot.domain.policy import PolicyConfig, Refusal
from bot.teams.board import TeamsBoard
from bot.teams.proactive import ConversationReferences
from tests.unit.domain.world import (
    ADA,
    BLOCKED,
    HELPDESK,
    LIAM,
    MANAGER,
    OTHER_MANAGER,
    PRIYA,
    STRANGER,
    TOM,
    World,
    as_person,
)


async def _issue_outlived_by_recovery(world: World) -> asyncio.Task[object]:
    """Start a manager's request whose pass creation answers only after another instance's
    upkeep gave the request up (a Graph call slower than the issuing lease)."""
    entered, release = world.hold_pass_creation()
    issuing = asyncio.create_task(world.submit())
    await entered.wait()
    world.clock.advance(minutes=11)
    assert await world.upkeep.recover() == 1  # nothing in Graph yet: failed as "interrupted"
    release.set()
    return issuing


async def test_a_pass_created_after_recovery_gave_up_is_deleted_and_the_requester_told(
    world: World,
) -> None:
    issuing = await _issue_outlived_by_recovery(world)

    outcome = await issuing

    assert isinstance(outcome, Failed)
    assert "deleted it again" in outcome.text
    assert world.directory.pass_of(LIAM.id) is None
    [request] = await world.store.list_requests()
    assert request.state is RequestState.FAILED


async def test_a_pass_created_after_recovery_gave_up_and_not_deletable_is_retried(
    world: World,
) -> None:
    world.directory.fail("delete_pass", DirectoryUnavailable("down"), times=None)
    issuing = await _issue_outlived_by_recovery(world)

    outcome = await issuing

    assert isinstance(outcome, Failed)
    assert "keep trying to delete it" in outcome.text
    live = world.directory.pass_of(LIAM.id)
    assert live is not None
    [request] = await world.store.list_requests()
    # Upkeep must know there is a pass to delete, or it stays valid and undelivered.
    assert (request.state, request.reason, request.pass_id, request.pass_ends_at) == (
        RequestState.FAILED,
        UNDELETED,
        live.id,
        live.ends_at,
    )
    world.directory.heal("delete_pass")
    assert await world.upkeep.retry_deletions() == 1
    assert world.directory.pass_of(LIAM.id) is None


async def _indirect_world() -> World:
    """Indirect reports allowed; Daniel has been Olivia's manager for most of a year."""
    world = World(config=PolicyConfig(allow_indirect_reports=True, blocked_group_ids=(BLOCKED,)))
    world.directory.set_manager(
        MANAGER.id, OTHER_MANAGER.id, at=world.clock.now() - timedelta(days=300)
    )
    await world.baseline()
    return world


async def test_a_long_standing_manager_above_the_manager_gets_the_pass() -> None:
    world = await _indirect_world()
    outcome = await world.submit(by=as_person(OTHER_MANAGER))
    assert isinstance(outcome, Issued)


async def test_setting_yourself_above_a_manager_needs_the_helpdesk_for_their_whole_team() -> None:
    # Sam sets himself as Olivia's manager a moment ago. Liam's own manager did not change,
    # but Sam is now above him: without a look at that link, Sam gets a pass for each of
    # Olivia's reports with no one else involved.
    world = await _indirect_world()
    world.directory.set_manager(MANAGER.id, STRANGER.id, by=STRANGER.id)

    outcome = await world.submit(by=as_person(STRANGER))

    assert isinstance(outcome, AwaitingApproval), outcome
    assert [s.approver for s in outcome.request.stages] == [ApproverKind.HELPDESK]
    assert outcome.request.context.manager_changed_at is not None
    assert world.directory.called("create_pass") == 0


async def test_a_click_after_the_stage_timed_out_decides_nothing_even_before_upkeep_ran(
    world: World,
) -> None:
    asked = await world.submit(by=as_person(PRIYA))
    assert isinstance(asked, AwaitingApproval)
    world.clock.advance(minutes=241)  # the stage waited 240; upkeep has not run yet

    late = await world.requests.decide(as_person(TOM), asked.request.id, 1, approve=True)
    review = await world.requests.may_decide(as_person(TOM), asked.request)

    assert isinstance(late, Refused)
    assert late.reason is Refusal.APPROVAL_NOT_PENDING
    assert review is Refusal.APPROVAL_NOT_PENDING
    assert world.directory.called("create_pass") == 0
    assert await world.requests.expire_due() == 1


async def test_a_flood_of_request_cards_stops_before_it_costs_graph_reads(world: World) -> None:
    # Each card reads every report's facts, the directory audit log among them (5 requests
    # per 10 s for the whole tenant): a loop of "request" starved everyone else's submits.
    for _ in range(FORMS_PER_PERSON_PER_HOUR):
        assert not isinstance(await world.offers.reports(MANAGER.id), Refused)
    before = len(world.directory.calls)

    flooded = await world.offers.reports(MANAGER.id)

    assert isinstance(flooded, Refused)
    assert flooded.reason is Refusal.RATE_LIMIT_REQUESTER
    assert "try again later" in flooded.text
    assert len(world.directory.calls) == before
    world.clock.advance(minutes=61)
    assert not isinstance(await world.offers.reports(MANAGER.id), Refused)


async def test_a_flood_of_picked_people_stops_before_it_costs_graph_reads(world: World) -> None:
    # Anyone in the tenant may send "request.details" for any id; each cost Graph reads
    # (the person's manager, then the person) before the refusal.
    for _ in range(DETAILS_PER_PERSON_PER_HOUR):
        refused = await world.offers.details(STRANGER.id, LIAM.id)
        assert isinstance(refused, Refused)
        assert refused.reason is Refusal.NOT_DIRECT_REPORT
    before = len(world.directory.calls)

    flooded = await world.offers.details(STRANGER.id, LIAM.id)

    assert isinstance(flooded, Refused)
    assert flooded.reason is Refusal.RATE_LIMIT_REQUESTER
    assert len(world.directory.calls) == before


async def test_a_plan_that_needs_the_manager_of_someone_without_one_is_refused_at_once() -> None:
    # manager_and_helpdesk: the first stage waits for the person's manager. Olivia has none,
    # so no card could go out and no click could ever decide; the request sat until it
    # expired, using up one of Olivia's requests for the day, and the requester was told it
    # waited for "the person's manager".
    world = World(approvals=MANAGER_AND_HELPDESK)
    await world.baseline()

    outcome = await world.submit(by=as_person(PRIYA), target=MANAGER.id)

    assert isinstance(outcome, Refused), outcome
    assert outcome.reason is Refusal.NO_APPROVER
    assert "Olivia Bennett has no manager" in outcome.text
    assert await world.store.list_requests() == []
    assert world.board.posted == []
    assert ("request", "refused", Refusal.NO_APPROVER) in await world.audit()


MANAGER_AND_HELPDESK = ApprovalPolicy(
    helpdesk_stages=(Stage(ApproverKind.MANAGER, 60), Stage(ApproverKind.HELPDESK, 240))
)


async def test_the_helpdesk_approver_is_told_of_a_recent_manager_change(world: World) -> None:
    # The approval card must show "the target's facts an approver needs (... last manager
    # change ...)". For a helpdesk request it never did: the change was only looked at to
    # route a manager's request.
    world.directory.set_manager(LIAM.id, STRANGER.id, by=STRANGER.id)

    asked = await world.submit(by=as_person(PRIYA))

    assert isinstance(asked, AwaitingApproval)
    context = asked.request.context
    assert context.manager_changed_at is not None
    assert context.previous_manager_name == MANAGER.display_name
    assert context.manager_changed_by == STRANGER.display_name


async def test_a_manager_appointed_a_moment_ago_cannot_approve_the_manager_stage() -> None:
    # Whoever controls the manager attribute may be the one approving: Sam sets himself as
    # Liam's manager after Priya asked, and approves the step that waits for Liam's manager.
    world = World(approvals=MANAGER_AND_HELPDESK)
    await world.baseline()
    asked = await world.submit(by=as_person(PRIYA))
    assert isinstance(asked, AwaitingApproval)
    world.directory.set_manager(LIAM.id, STRANGER.id, by=STRANGER.id)

    outcome = await world.requests.decide(as_person(STRANGER), asked.request.id, 1, approve=True)

    assert isinstance(outcome, Refused), outcome
    assert outcome.reason is Refusal.APPROVER_NEW_MANAGER
    assert "recently" in outcome.text
    stored = await world.store.get_request(asked.request.id)
    assert stored == asked.request
    assert ("approval", "refused", Refusal.APPROVER_NEW_MANAGER) in await world.audit()


async def test_a_long_standing_manager_still_approves_the_manager_stage() -> None:
    world = World(approvals=MANAGER_AND_HELPDESK)
    await world.baseline()
    asked = await world.submit(by=as_person(PRIYA))
    assert isinstance(asked, AwaitingApproval)

    outcome = await world.requests.decide(as_person(MANAGER), asked.request.id, 1, approve=True)

    assert isinstance(outcome, Decided)
    assert outcome.request.stage == 2


async def test_someone_just_removed_from_the_helpdesk_cannot_approve(world: World) -> None:
    asked = await world.submit(by=as_person(PRIYA))
    assert isinstance(asked, AwaitingApproval)
    # Tom's card refreshed a moment ago (Review): his membership is remembered for a minute.
    assert await world.requests.may_decide(as_person(TOM), asked.request) is None
    world.directory.groups[HELPDESK].discard(TOM.id)

    outcome = await world.requests.decide(as_person(TOM), asked.request.id, 1, approve=True)

    assert isinstance(outcome, Refused), outcome
    assert outcome.reason is Refusal.NOT_AN_APPROVER
    assert world.directory.called("create_pass") == 0


async def test_a_requester_just_removed_from_the_helpdesk_gets_nothing_after_approval(
    world: World,
) -> None:
    asked = await world.submit(by=as_person(PRIYA))  # Priya's membership is remembered now
    assert isinstance(asked, AwaitingApproval)
    world.directory.groups[HELPDESK].discard(PRIYA.id)

    outcome = await world.requests.decide(as_person(TOM), asked.request.id, 1, approve=True)

    assert isinstance(outcome, Decided)
    assert outcome.request.state is RequestState.FAILED
    assert outcome.request.reason == Refusal.NOT_HELPDESK
    assert world.directory.called("create_pass") == 0


# What held: races and forged clicks that change nothing (kept as tests so they keep holding)


async def test_an_approval_landing_while_another_request_for_the_person_issues_makes_no_pass(
    world: World,
) -> None:
    asked = await world.submit(by=as_person(PRIYA))
    assert isinstance(asked, AwaitingApproval)
    entered, release = world.hold_pass_creation()
    olivias = asyncio.create_task(world.submit(form_id="f0000000-0000-4000-8000-000000000002"))
    await entered.wait()

    approved = await world.requests.decide(as_person(TOM), asked.request.id, 1, approve=True)
    release.set()

    assert isinstance(await olivias, Issued)
    assert isinstance(approved, Decided)
    assert (approved.request.state, approved.request.reason) == (
        RequestState.FAILED,
        "issue_in_progress",
    )
    assert [d.decider_id for d in approved.request.decisions] == [TOM.id]
    assert world.directory.called("create_pass") == 1
    assert any("being issued right now" in text for _, text in world.delivery.notices)


async def test_approve_cancel_and_expire_at_once_end_the_request_once(world: World) -> None:
    asked = await world.submit(by=as_person(PRIYA))
    assert isinstance(asked, AwaitingApproval)
    world.clock.advance(minutes=239, seconds=59)

    async def expire_a_moment_later() -> int:
        world.clock.advance(seconds=2)
        return await world.requests.expire_due()

    await asyncio.gather(
        world.requests.decide(as_person(TOM), asked.request.id, 1, approve=True),
        world.requests.cancel(as_person(PRIYA), asked.request.id),
        expire_a_moment_later(),
    )

    stored = await world.store.get_request(asked.request.id)
    assert stored is not None
    ends = {RequestState.DELIVERED, RequestState.CANCELLED, RequestState.EXPIRED}
    assert stored.state in ends
    passes = world.directory.called("create_pass")
    assert passes == (stored.state is RequestState.DELIVERED)
    assert len(world.delivery.delivered) == passes
    endings = [e for e in await world.audit() if e[1] in ("approved", "cancelled", "expired")]
    assert len(endings) == 1


async def test_a_decision_forged_for_another_request_or_by_its_target_changes_nothing(
    world: World,
) -> None:
    mine = await world.submit(by=as_person(PRIYA))
    toms = await world.submit(
        by=as_person(TOM), target=ADA.id, form_id="f0000000-0000-4000-8000-000000000003"
    )
    assert isinstance(mine, AwaitingApproval)
    assert isinstance(toms, AwaitingApproval)

    # Priya approves her own request through Tom's card data, and Tom's through hers with
    # a stage that is not waiting; Liam (the target) is in no group but tries anyway.
    own = await world.requests.decide(as_person(PRIYA), mine.request.id, 1, approve=True)
    stale = await world.requests.decide(as_person(PRIYA), toms.request.id, 2, approve=True)
    target = await world.requests.decide(as_person(LIAM), mine.request.id, 1, approve=True)
    cancel_other = await world.requests.cancel(as_person(PRIYA), toms.request.id)
    replace_other = await world.requests.confirm_replace(as_person(TOM), mine.request.id)

    assert [o.reason for o in (own, stale, target, cancel_other, replace_other)] == [  # type: ignore[union-attr]
        Refusal.SELF_APPROVAL,
        Refusal.APPROVAL_STALE,
        Refusal.TARGET_APPROVAL,
        Refusal.NOT_YOUR_REQUEST,
        Refusal.NOT_YOUR_REQUEST,
    ]
    assert {r.state for r in await world.store.list_requests()} == {RequestState.PENDING_APPROVAL}
    assert world.directory.called("create_pass") == 0


async def test_an_approved_request_that_finds_a_new_pass_can_still_be_confirmed(
    world: World,
) -> None:
    # Olivia issues Liam a pass while Priya's request waits; Tom approves Priya's. The issue
    # then asks Priya to confirm replacing the pass, and tells her to open her card, but her
    # card offered no confirmation (its question needs the live pass, which was not kept):
    # the approved request sat in draft for good.
    asked = await world.submit(by=as_person(PRIYA))
    assert isinstance(asked, AwaitingApproval)
    assert isinstance(await world.submit(form_id="f0000000-0000-4000-8000-000000000002"), Issued)
    live = world.directory.pass_of(LIAM.id)
    assert live is not None

    approved = await world.requests.decide(as_person(TOM), asked.request.id, 1, approve=True)

    assert isinstance(approved, Decided)
    assert approved.request.state is RequestState.DRAFT
    assert approved.request.context.existing_pass_ends_at == live.ends_at
    card = json.dumps(_board(world).requester_card(approved.request))
    assert '"request.replace"' in card
    replaced = await world.requests.confirm_replace(as_person(PRIYA), asked.request.id)
    assert isinstance(replaced, Issued)


def _board(world: World) -> TeamsBoard:
    """The Teams board, for the cards it draws only (it never reaches Teams here)."""
    return TeamsBoard(
        None,  # type: ignore[arg-type]
        ConversationReferences(world.store, world.clock),
        world.store,
        world.clock,
        app_id="",
        timezone=ZoneInfo("UTC"),
        helpdesk_channel_id="",
    )


async def test_a_cancel_between_an_approval_and_its_in_progress_ending_is_no_error(
    world: World,
) -> None:
    # Tom approves while Olivia's request for Liam is issuing; just before tapbot ends
    # Priya's request as "another one is issuing", Priya cancels it.
    asked = await world.submit(by=as_person(PRIYA))
    assert isinstance(asked, AwaitingApproval)
    entered, release = world.hold_pass_creation()
    olivias = asyncio.create_task(world.submit(form_id="f0000000-0000-4000-8000-000000000002"))
    await entered.wait()
    real_transition = world.store.transition

    async def cancelled_first(request_id: str, **kwargs: Any) -> TapRequest:
        if (kwargs.get("changes") or {}).get("reason") == "issue_in_progress":
            await world.requests.cancel(as_person(PRIYA), request_id)
        return await real_transition(request_id, **kwargs)

    world.store.transition = cancelled_first  # type: ignore[method-assign]

    outcome = await world.requests.decide(as_person(TOM), asked.request.id, 1, approve=True)
    release.set()

    assert isinstance(outcome, Refused)
    assert outcome.reason is Refusal.APPROVAL_NOT_PENDING
    assert isinstance(await olivias, Issued)
    stored = await world.store.get_request(asked.request.id)
    assert stored is not None
    assert stored.state is RequestState.CANCELLED
