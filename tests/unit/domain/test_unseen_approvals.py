"""An approval card that reached nobody who may decide: the request keeps waiting, the requester
is told plainly why and what to do, it is audited with the reason, and "Post it again" posts
it once the cause is fixed (only for the requester, only while nobody was shown it)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from datetime import timedelta

import pytest

from bot.domain.approvals import shown_to_deciders
from bot.domain.model import (
    ApprovalPosting,
    ApproverKind,
    Decision,
    RequestMessage,
    RequestState,
    Stage,
    TapRequest,
    Unseen,
    copy_stage,
)
from bot.domain.outcomes import AwaitingApproval, Decided, Refused, Unchanged
from bot.domain.policy import Refusal
from bot.domain.rates import REPOSTS_PER_PERSON_PER_HOUR, SLOW_DOWN
from bot.domain.status import MyRequests, NotReposted, Reposted
from bot.domain.telling import nobody_shown
from tests.twins.store import use_up
from tests.unit.domain.world import (
    ADA,
    MANAGER,
    MANAGER_AND_HELPDESK,
    PRIYA,
    TOM,
    World,
    as_person,
)


async def _unseen(
    world: World, why: Unseen = Unseen.NO_HELPDESK_CHANNEL, **form: object
) -> TapRequest:
    world.board.unseen = why
    asked = await world.submit(by=as_person(PRIYA), **form)
    assert isinstance(asked, AwaitingApproval), asked
    assert asked.posting == ApprovalPosting(0, why)
    return asked.request


async def test_a_card_nobody_was_shown_keeps_the_request_and_tells_the_requester_why(
    world: World,
) -> None:
    request = await _unseen(world)

    stored = await world.store.get_request(request.id)
    assert stored is not None
    assert stored.state is RequestState.PENDING_APPROVAL
    assert ("approval", "unseen", "no_helpdesk_channel") in await world.audit()
    [(to, text)] = world.delivery.notices
    assert to == PRIYA.id
    assert text.startswith("Your request for a pass for Liam Carter: Nobody who can approve")
    assert "HELPDESK_CHANNEL_ID" in text
    assert 'type "status"' in text
    assert not await world.requests.shown(request)


async def test_post_it_again_reaches_the_approvers_once_the_cause_is_fixed(world: World) -> None:
    request = await _unseen(world)
    world.board.unseen = None

    again = await world.requests.repost(as_person(PRIYA), request.id)
    twice = await world.requests.repost(as_person(PRIYA), request.id)

    assert isinstance(again, AwaitingApproval)
    assert again.posting == ApprovalPosting(1)
    assert await world.requests.shown(again.request)
    assert world.board.last_shown(request.id) is not None  # the requester's card follows
    assert isinstance(twice, Unchanged)  # already shown: nothing posted twice
    assert len(world.board.posted) == 1
    decided = await world.requests.decide(as_person(TOM), request.id, 1, approve=True)
    assert isinstance(decided, Decided)
    assert decided.request.state is RequestState.DELIVERED


async def test_posting_again_into_the_same_gap_says_so_again(world: World) -> None:
    request = await _unseen(world, Unseen.TEAMS_ERROR)

    again = await world.requests.repost(as_person(PRIYA), request.id)

    assert isinstance(again, AwaitingApproval)
    assert again.posting == ApprovalPosting(0, Unseen.TEAMS_ERROR)
    assert len(world.delivery.notices) == 2
    unseen = [e for e in await world.audit() if e[:2] == ("approval", "unseen")]
    assert unseen == [("approval", "unseen", "teams_error")] * 2


async def test_only_the_requester_may_post_it_again_and_not_in_a_loop(world: World) -> None:
    request = await _unseen(world)
    world.board.unseen = None

    stranger = await world.requests.repost(as_person(TOM), request.id)
    await use_up(world.store, "repost", PRIYA.id, REPOSTS_PER_PERSON_PER_HOUR, at=world.clock.now())
    reads = len(world.directory.calls)
    flood = await world.requests.repost(as_person(PRIYA), request.id)

    assert isinstance(stranger, Refused)
    assert stranger.reason is Refusal.NOT_YOUR_REQUEST
    assert isinstance(flood, Refused)
    assert (flood.reason, flood.text) == (Refusal.RATE_LIMIT_REQUESTER, SLOW_DOWN)
    assert len(world.directory.calls) == reads
    assert world.board.posted == []
    refusals = [e for e in await world.audit() if e[:2] == ("request", "refused")]
    assert refusals == [
        ("request", "refused", "not_your_request"),
        ("request", "refused", "rate_limit_requester"),
    ]


async def test_a_later_step_nobody_was_shown_is_told_after_the_approval_before_it() -> None:
    world = World(approvals=MANAGER_AND_HELPDESK)
    await world.baseline()
    asked = await world.submit(by=as_person(PRIYA))
    assert isinstance(asked, AwaitingApproval)
    assert asked.posting.posted == 1
    world.board.unseen = Unseen.NO_HELPDESK_CHANNEL

    decided = await world.requests.decide(as_person(MANAGER), asked.request.id, 1, approve=True)

    assert isinstance(decided, Decided)
    assert decided.request.stage == 2
    # Step 1's card was shown; step 2's was not, and that is what counts now.
    assert not await world.requests.shown(decided.request)
    [approved, unseen] = [text for _, text in world.delivery.notices]
    assert "It now waits for" in approved
    assert "Nobody who can approve this request has been shown it yet" in unseen
    events = await world.store.list_audit(action="approval", outcome="unseen")
    assert [e.detail["stage"] for e in events] == ["2"]


async def test_a_copy_counts_only_when_posted_to_a_decider_for_the_waiting_step(
    world: World,
) -> None:
    request = await _unseen(world)
    began = request.created_at

    def copy(audience: str, minutes: int = 0) -> RequestMessage:
        return RequestMessage(request.id, audience, "a1", {}, began + timedelta(minutes=minutes))

    second = dataclasses.replace(
        request,
        stages=(*request.stages, Stage(ApproverKind.MANAGER, 60)),
        stage=2,
        decisions=(Decision(1, True, TOM.id, TOM.display_name, began + timedelta(minutes=5)),),
    )
    assert not shown_to_deciders(request, [])
    assert not shown_to_deciders(request, [copy("requester", 1)])
    assert shown_to_deciders(request, [copy("channel@1")])
    assert not shown_to_deciders(second, [copy("channel@1", 10)])
    assert shown_to_deciders(second, [copy("channel@1"), copy("approver@2")])
    # Copies remembered before they named their step: by time, since the step began.
    assert shown_to_deciders(second, [copy("approver", 6)])
    assert not shown_to_deciders(second, [copy("channel", 1)])
    done = dataclasses.replace(request, state=RequestState.DELIVERED, stage=0)
    assert shown_to_deciders(done, [])
    assert (copy_stage("approver@12"), copy_stage("requester"), copy_stage("a@b")) == (
        12,
        None,
        None,
    )


# The words


@pytest.mark.parametrize(
    ("why", "approver", "fix"),
    [
        (Unseen.NO_HELPDESK_CHANNEL, ApproverKind.HELPDESK, "add tapbot to their team"),
        (Unseen.NO_CHANNEL_ROUTE, ApproverKind.HELPDESK, "Ask a helpdesk member to open tapbot"),
        (Unseen.NO_APPROVER_CHAT, ApproverKind.MANAGER, "Ask them to open tapbot in Teams"),
        (Unseen.TEAMS_ERROR, ApproverKind.HELPDESK, "Wait a few minutes"),
        (None, ApproverKind.HELPDESK, "Ask the helpdesk to add tapbot to their team"),
        (None, ApproverKind.MANAGER, "couldn't be sent to the person's manager"),
    ],
)
async def test_each_cause_says_what_to_do(
    world: World, why: Unseen | None, approver: ApproverKind, fix: str
) -> None:
    request = dataclasses.replace(await _unseen(world), stages=(Stage(approver, 60),))

    here = nobody_shown(request, why, button_here=True)
    elsewhere = nobody_shown(request, why, button_here=False)

    assert here.startswith("Nobody who can approve this request has been shown it yet: ")
    assert fix in here
    assert here.endswith('then click "Post it again".')
    assert elsewhere.endswith('type "status" and click "Post it again" on this request.')


# "status"


async def test_status_says_nobody_was_shown_it_and_posts_it_again(world: World) -> None:
    request = await _unseen(world)
    mine = MyRequests(store=world.store, requests=world.requests, clock=world.clock)

    [before] = (await mine.page(PRIYA.id)).statuses
    world.board.unseen = None
    reposted = await mine.repost(as_person(PRIYA), request.id)
    [after] = (await mine.page(PRIYA.id)).statuses
    again = await mine.repost(as_person(PRIYA), request.id)
    stranger = await mine.repost(as_person(TOM), request.id)

    assert (before.unseen, before.can_repost, before.can_cancel) == (True, True, True)
    assert isinstance(reposted, Reposted)
    assert not reposted.status.unseen
    assert (after.unseen, after.can_repost) == (False, False)
    assert isinstance(again, NotReposted)
    assert again.status is not None
    assert again.status.request.id == request.id
    assert isinstance(stranger, NotReposted)
    assert stranger.status is None
    assert "isn't yours" in stranger.text


async def test_once_the_helpdesk_channel_is_known_waiting_cards_go_out_once(
    world: World,
) -> None:
    request = await _unseen(world)
    world.board.unseen = None

    posted = await world.requests.ask_where_unseen()
    again = await world.requests.ask_where_unseen()

    assert (posted, again) == (1, 0)
    assert len(world.board.posted) == 1
    stored = await world.store.get_request(request.id)
    assert stored is not None
    assert await world.requests.shown(stored)
    assert world.board.last_shown(request.id) is not None  # the requester's card follows
    assert len(world.delivery.notices) == 1  # told once, when it reached nobody


async def test_a_card_that_still_reaches_nobody_is_audited_but_not_told_twice(
    world: World,
) -> None:
    await _unseen(world)

    assert await world.requests.ask_where_unseen() == 0

    assert len(world.delivery.notices) == 1
    unseen = [e for e in await world.audit() if e[:2] == ("approval", "unseen")]
    assert len(unseen) == 2


async def test_a_stage_past_its_timeout_is_left_to_expiry(world: World) -> None:
    request = await _unseen(world)
    world.board.unseen = None
    assert request.stage_due_at is not None
    world.clock.at = request.stage_due_at

    assert await world.requests.ask_where_unseen() == 0
    assert world.board.posted == []


async def test_a_managers_stage_is_left_to_post_it_again() -> None:
    # The manager's chat with tapbot is not what an installation in the helpdesk team changes.
    world = World(approvals=MANAGER_AND_HELPDESK)
    await world.baseline()
    world.board.unseen = Unseen.NO_APPROVER_CHAT
    asked = await world.submit(by=as_person(PRIYA))
    assert isinstance(asked, AwaitingApproval)
    assert asked.request.current_stage is not None
    assert asked.request.current_stage.approver is ApproverKind.MANAGER
    world.board.unseen = None

    assert await world.requests.ask_where_unseen() == 0
    assert world.board.posted == []


async def test_a_request_cancelled_while_the_scan_runs_is_not_posted(world: World) -> None:
    # The scan reads up to 500 waiting requests first and posts them one by one (each a Graph
    # read and a Teams post): one cancelled meanwhile must not get an approval card.
    first = await _unseen(world)
    world.clock.advance(minutes=1)
    second = await _unseen(world, target=ADA.id, form_id="f0000000-0000-4000-8000-000000000002")
    world.board.unseen = None
    real_ask = world.board.ask_for_approval

    async def ask_then_cancel(
        request: TapRequest, *, approver_ids: Sequence[str]
    ) -> ApprovalPosting:
        posting = await real_ask(request, approver_ids=approver_ids)
        if request.id == first.id:
            await world.requests.cancel(as_person(PRIYA), second.id)
        return posting

    world.board.ask_for_approval = ask_then_cancel  # type: ignore[method-assign]

    assert await world.requests.ask_where_unseen() == 1

    assert [p.request.id for p in world.board.posted] == [first.id]
    requested = await world.store.list_audit(action="approval", outcome="requested")
    assert [e.request_id for e in requested].count(second.id) == 1  # only its first try


async def test_two_bot_processes_learning_the_channel_together_post_each_card_once(
    world: World,
) -> None:
    # A slow installation turn retried by Teams, or two installations, reach two processes.
    request = await _unseen(world)
    world.board.unseen = None
    other = World(store=world.store, clock=world.clock, directory=world.directory)

    counts = await asyncio.gather(
        world.requests.ask_where_unseen(), other.requests.ask_where_unseen()
    )

    assert sorted(counts) == [0, 1]
    assert len(world.board.posted) + len(other.board.posted) == 1
    copies = await world.store.list_request_messages(request.id)
    assert len(copies) == 1


async def test_installing_again_and_again_does_not_ask_again_and_again(world: World) -> None:
    # Each installation (a team owner adding and removing tapbot in a loop) must not read the
    # stage's group and audit every card still reaching nobody once more.
    await _unseen(world, Unseen.TEAMS_ERROR)
    reads = len(world.directory.calls)

    for _ in range(5):
        assert await world.requests.ask_where_unseen() == 0

    assert len(world.directory.calls) == reads + 1
    unseen = [e for e in await world.audit() if e[:2] == ("approval", "unseen")]
    assert len(unseen) == 2
