""" "status" in the domain: where each request stands, paging one person's requests, and
cancelling through the lifecycle (only the asker's own, only while it waits)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.model import (
    Decision,
    RequestState,
    TapRequest,
)
from bot.domain.outcomes import AwaitingApproval, ConfirmReplace
from bot.domain.policy import Refusal
from bot.domain.refusals import message
from bot.domain.request_query import RequestCursor
from bot.domain.status import (
    FAILURES,
    KEPT_EXISTING,
    UNKNOWN_FAILURE,
    Cancelled,
    CancelRefused,
    MyRequests,
    NotWaiting,
    Standing,
    status_of,
)
from tests.unit.domain.world import (
    LIAM,
    MANAGER,
    PRIYA,
    TOM,
    TWO_STAGES,
    World,
    as_person,
    stored_request,
)


def _mine(world: World, page_size: int = 10) -> MyRequests:
    return MyRequests(
        store=world.store, requests=world.requests, clock=world.clock, page_size=page_size
    )


# Where a request stands


def test_a_pending_request_waits_at_its_stage_for_whom_and_until_when(world: World) -> None:
    decided = Decision(1, True, TOM.id, "Tom Becker", world.clock.now())
    request = stored_request(world, stage=2, decisions=(decided,))

    status = status_of(request, world.clock.now())

    assert status.standing is Standing.AWAITING_APPROVAL
    assert status.waiting_for == "a helpdesk member other than Priya Shah, Tom Becker"
    assert status.until == request.stage_due_at
    assert status.can_cancel


def test_a_request_waiting_for_the_replacement_answer_can_be_cancelled_until_it_lapses(
    world: World,
) -> None:
    draft = stored_request(world, state=RequestState.DRAFT, stages=(), stage=0, stage_due_at=None)
    asked_at = draft.updated_at

    waiting = status_of(draft, asked_at + timedelta(minutes=14))
    lapsed = status_of(draft, asked_at + timedelta(minutes=16))

    assert (waiting.standing, waiting.until, waiting.can_cancel) == (
        Standing.AWAITING_CONFIRMATION,
        asked_at + timedelta(minutes=15),
        True,
    )
    assert (lapsed.standing, lapsed.can_cancel) == (Standing.CONFIRMATION_LAPSED, False)


@pytest.mark.parametrize("state", [RequestState.APPROVED, RequestState.ISSUING])
def test_an_approved_request_is_being_issued_and_cannot_be_cancelled(
    world: World, state: RequestState
) -> None:
    status = status_of(stored_request(world, state=state), world.clock.now())
    assert (status.standing, status.can_cancel) == (Standing.ISSUING, False)


def test_an_issued_request_says_until_when_and_whether_that_is_over(world: World) -> None:
    ends = world.clock.now() + timedelta(hours=1)
    issued = stored_request(world, state=RequestState.DELIVERED, pass_ends_at=ends)

    now = status_of(issued, world.clock.now())
    later = status_of(issued, ends + timedelta(seconds=1))

    assert (now.standing, now.until, now.pass_over) == (Standing.ISSUED, ends, False)
    assert later.pass_over


def test_a_denial_carries_the_decision_with_its_reason(world: World) -> None:
    approved = Decision(1, True, MANAGER.id, "Olivia Bennett", world.clock.now())
    denied = Decision(2, False, TOM.id, "Tom Becker", world.clock.now(), "Not verified")
    request = stored_request(world, state=RequestState.DENIED, decisions=(approved, denied))

    status = status_of(request, world.clock.now())

    assert (status.standing, status.denial) == (Standing.DENIED, denied)


def test_an_expiry_names_the_step_and_how_long_it_waited(world: World) -> None:
    one = stored_request(world, state=RequestState.EXPIRED, stages=TWO_STAGES[1:], stage=1)
    second = stored_request(world, state=RequestState.EXPIRED, stage=2)

    assert status_of(one, world.clock.now()).why == (
        "Nobody decided it within 4 hours, so no pass was issued."
    )
    assert status_of(second, world.clock.now()).why == (
        "Nobody decided step 2 of 2 within 4 hours, so no pass was issued."
    )


def test_a_cancellation_says_who_ended_it_and_what_was_kept(world: World) -> None:
    withdrawn = stored_request(world, state=RequestState.CANCELLED, reason="cancelled_by_requester")
    kept = stored_request(
        world, state=RequestState.CANCELLED, reason="cancelled_by_requester", stages=()
    )
    lapsed = stored_request(world, state=RequestState.CANCELLED, reason="confirmation_expired")

    assert status_of(withdrawn, world.clock.now()).why == (
        "You cancelled it, so no pass was issued."
    )
    assert status_of(kept, world.clock.now()).why == KEPT_EXISTING
    assert "didn't confirm replacing" in status_of(lapsed, world.clock.now()).why


@pytest.mark.parametrize("reason", sorted(FAILURES))
def test_every_internal_failure_reason_has_its_own_sentence(world: World, reason: str) -> None:
    status = status_of(
        stored_request(world, state=RequestState.FAILED, reason=reason), world.clock.now()
    )
    assert (status.standing, status.why) == (Standing.FAILED, FAILURES[reason])
    assert "_" not in status.why  # words, never a code


def test_the_failure_sentences_are_distinct_and_say_whether_a_pass_works() -> None:
    assert len(set(FAILURES.values())) == len(FAILURES)
    for reason in ("delivery_failed", "pass_not_deleted", "pass_unknown", "interrupted"):
        assert "pass from this request" in FAILURES[reason]


@pytest.mark.parametrize("refusal", [r for r in Refusal if r.value not in FAILURES])
def test_a_request_refused_at_issue_time_gives_the_refusal_in_words(
    world: World, refusal: Refusal
) -> None:
    failed = stored_request(world, state=RequestState.FAILED, reason=refusal.value)
    status = status_of(failed, world.clock.now())
    assert (status.standing, status.why) == (
        Standing.REFUSED,
        message(refusal, name=LIAM.display_name),
    )


@pytest.mark.parametrize("reason", [None, "", "something_new"])
def test_an_unknown_failure_reason_is_said_plainly_never_as_a_code(
    world: World, reason: str | None
) -> None:
    status = status_of(
        stored_request(world, state=RequestState.FAILED, reason=reason), world.clock.now()
    )
    assert (status.standing, status.why) == (Standing.FAILED, UNKNOWN_FAILURE)


# Paging


async def _history(world: World, count: int) -> list[str]:
    """*count* of Priya's requests, one a minute, and one of Olivia's between each."""
    for n in range(count):
        await world.store.add_request(stored_request(world, n))
        theirs = stored_request(world, n, id=f"o{n:03d}", requester_id=MANAGER.id)
        await world.store.add_request(theirs)
    return [f"r{n:03d}" for n in reversed(range(count))]


def _ids(page: object) -> list[str]:
    return [s.request.id for s in page.statuses]  # type: ignore[attr-defined]


async def test_requests_are_paged_ten_at_a_time_newest_first_and_back(world: World) -> None:
    newest_first = await _history(world, 25)
    mine = _mine(world)

    first = await mine.page(PRIYA.id)
    second = await mine.page(PRIYA.id, older_than=first.older)
    third = await mine.page(PRIYA.id, older_than=second.older)
    back = await mine.page(PRIYA.id, newer_than=third.newer)
    top = await mine.page(PRIYA.id, newer_than=back.newer)

    assert [_ids(first), _ids(second), _ids(third)] == [
        newest_first[:10],
        newest_first[10:20],
        newest_first[20:],
    ]
    assert (first.newer, first.older_than, third.older) == (None, None, None)
    assert _ids(back) == _ids(second)
    assert back.older_than == second.older_than
    assert _ids(top) == _ids(first)
    assert top.newer is None


async def test_requests_made_in_the_same_instant_are_neither_skipped_nor_repeated(
    world: World,
) -> None:
    at = world.clock.now()
    for n in range(7):
        await world.store.add_request(stored_request(world, n, created_at=at, updated_at=at))
    mine = _mine(world, page_size=3)

    seen: list[str] = []
    page = await mine.page(PRIYA.id)
    while True:
        seen += _ids(page)
        if page.older is None:
            break
        page = await mine.page(PRIYA.id, older_than=page.older)

    assert seen == [f"r{n:03d}" for n in reversed(range(7))]


async def test_a_cursor_never_reaches_anyone_elses_requests(world: World) -> None:
    await _history(world, 3)
    theirs = await world.store.get_request("o002")
    assert theirs is not None

    page = await _mine(world).page(PRIYA.id, older_than=RequestCursor.at(theirs))
    above = await _mine(world).page(PRIYA.id, newer_than=RequestCursor(theirs.created_at, ""))

    assert all(s.request.requester_id == PRIYA.id for s in (*page.statuses, *above.statuses))
    assert _ids(page) == ["r001", "r000"]


async def test_a_cursor_past_all_of_my_requests_shows_the_newest_instead(world: World) -> None:
    await _history(world, 3)
    far = RequestCursor(world.clock.now() - timedelta(days=400), "r000")

    page = await _mine(world).page(PRIYA.id, older_than=far)

    assert (_ids(page), page.older_than) == (["r002", "r001", "r000"], None)


async def test_someone_without_requests_gets_an_empty_newest_page(world: World) -> None:
    await _history(world, 2)
    page = await _mine(world).page(TOM.id)
    assert (page.statuses, page.older, page.newer) == ((), None, None)


# Cancelling


async def _ask_as_priya(world: World) -> TapRequest:
    outcome = await world.submit(by=as_person(PRIYA))
    assert isinstance(outcome, AwaitingApproval), outcome
    return outcome.request


async def test_the_requester_cancels_a_pending_request_through_the_lifecycle(
    world: World,
) -> None:
    request = await _ask_as_priya(world)

    outcome = await _mine(world).cancel(as_person(PRIYA), request.id)

    assert isinstance(outcome, Cancelled)
    assert outcome.status.standing is Standing.CANCELLED
    assert (await world.store.get_request(request.id)).state is RequestState.CANCELLED  # type: ignore[union-attr]
    shown = world.board.last_shown(request.id)
    assert shown is not None
    assert shown.state is RequestState.CANCELLED
    assert ("request", "cancelled", "cancelled_by_requester") in await world.audit()


async def test_the_requester_cancels_a_replacement_question(world: World) -> None:
    await world.directory.create_pass(
        LIAM.id, lifetime_minutes=60, is_usable_once=True, start_at=None
    )
    asked = await world.submit()
    assert isinstance(asked, ConfirmReplace)

    outcome = await _mine(world).cancel(as_person(MANAGER), asked.request.id)

    assert isinstance(outcome, Cancelled)
    assert outcome.status.why == KEPT_EXISTING


async def test_someone_else_cannot_cancel_it_and_the_attempt_is_audited(world: World) -> None:
    request = await _ask_as_priya(world)

    outcome = await _mine(world).cancel(as_person(TOM), request.id)

    assert isinstance(outcome, CancelRefused)
    assert outcome.text == message(Refusal.NOT_YOUR_REQUEST)
    assert (await world.store.get_request(request.id)).state is RequestState.PENDING_APPROVAL  # type: ignore[union-attr]
    assert ("request", "refused", "not_your_request") in await world.audit()


@pytest.mark.parametrize("request_id", ["", "no-such-request"])
async def test_cancelling_nothing_is_refused_in_words(world: World, request_id: str) -> None:
    outcome = await _mine(world).cancel(as_person(PRIYA), request_id)
    assert outcome == CancelRefused(message(Refusal.NOT_YOUR_REQUEST))


async def test_a_request_that_no_longer_waits_is_not_cancelled_and_says_where_it_stands(
    world: World,
) -> None:
    request = await _ask_as_priya(world)
    await world.requests.decide(as_person(TOM), request.id, 1, approve=False, reason="No")

    outcome = await _mine(world).cancel(as_person(PRIYA), request.id)

    assert isinstance(outcome, NotWaiting)
    assert outcome.status.standing is Standing.DENIED
    assert (await world.store.get_request(request.id)).state is RequestState.DENIED  # type: ignore[union-attr]


async def test_cancelling_twice_cancels_once_and_then_says_it_no_longer_waits(
    world: World,
) -> None:
    request = await _ask_as_priya(world)
    mine = _mine(world)

    first = await mine.cancel(as_person(PRIYA), request.id)
    second = await mine.cancel(as_person(PRIYA), request.id)

    assert isinstance(first, Cancelled)
    assert isinstance(second, NotWaiting)
    assert second.status.standing is Standing.CANCELLED
    cancels = [e for e in await world.audit() if e[:2] == ("request", "cancelled")]
    assert len(cancels) == 1


def test_a_page_needs_room_for_a_request(world: World) -> None:
    with pytest.raises(ValueError, match="at least one"):
        _mine(world, page_size=0)
