""" "status" in words: every standing and reason as the asker reads it, paging and Cancel on the
card, untrusted card data, and a page that would not fit Teams."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.domain.errors import StoreError
from bot.domain.model import (
    Decision,
    DeliveryMethod,
    RequestState,
    TapRequest,
)
from bot.domain.outcomes import AwaitingApproval
from bot.domain.policy import Refusal
from bot.domain.refusals import message
from bot.domain.status import FAILURES, MyRequests, Standing, status_of
from bot.teams.identity import Caller
from bot.teams.status_cards import CANNOT_CANCEL, CANNOT_READ, HEADLINES, StatusCards
from cards import TEAMS_MAX_CARD_BYTES, card_bytes
from cards.status import CANCEL, PAGE
from cards.text import readable_text
from cards.validation import card_problems
from tests.unit.cards.card_walk import actions, texts
from tests.unit.domain.world import (
    MANAGER,
    PRIYA,
    TOM,
    World,
    as_person,
    stored_request,
)

LONDON = ZoneInfo("Europe/London")


@pytest.fixture
async def world() -> World:
    created = World()
    await created.baseline()
    return created


def _caller(user: Any) -> Caller:
    return Caller(user.id, user.display_name, "tenant")


def _cards(world: World, page_size: int = 10) -> StatusCards:
    mine = MyRequests(
        store=world.store, requests=world.requests, clock=world.clock, page_size=page_size
    )
    return StatusCards(mine, LONDON)


def _words(world: World, request: TapRequest) -> str:
    status = status_of(request, world.clock.now())
    return " ".join(str(line) for line in _cards(world).describe(status))


# The words for every standing


def test_waiting_for_approval_says_the_step_who_and_until_when(world: World) -> None:
    request = stored_request(world, stage_due_at=world.clock.now() + timedelta(hours=1))
    due = world.clock.now().astimezone(LONDON) + timedelta(hours=1)
    assert _words(world, request) == (
        "Step 1 of 2: waiting for the person's manager to decide, until "
        f"{due:%a} {due.day} {due:%b %H:%M} (Europe/London). "
        "If nobody decides in time, it expires and no pass is issued."
    )


def test_a_helpdesk_step_names_who_may_not_decide_it(world: World) -> None:
    decided = Decision(1, True, MANAGER.id, "Olivia Bennett", world.clock.now())
    words = _words(world, stored_request(world, stage=2, decisions=(decided,)))
    assert words.startswith(
        "Step 2 of 2: waiting for a helpdesk member other than Priya Shah, Olivia Bennett "
        "to decide, until "
    )


def test_waiting_for_the_asker_names_the_person_and_when_the_question_lapses(
    world: World,
) -> None:
    draft = stored_request(world, state=RequestState.DRAFT, stages=(), stage=0, stage_due_at=None)
    now = world.clock.now()
    words = _words(world, replace(draft, created_at=now, updated_at=now))
    assert words.startswith("Liam Carter already has a pass. Waiting for you to confirm")
    assert "until" in words


def test_a_lapsed_question_says_nothing_was_replaced(world: World) -> None:
    draft = stored_request(world, state=RequestState.DRAFT, stages=(), stage=0, stage_due_at=None)
    assert _words(world, draft).startswith("You didn't confirm replacing the pass Liam Carter")


def test_an_issued_pass_says_how_it_went_and_until_when(world: World) -> None:
    ends = world.clock.now() + timedelta(hours=1)
    base = stored_request(world, state=RequestState.DELIVERED, pass_ends_at=ends)
    later_start = replace(base, start_at=world.clock.now() + timedelta(minutes=10))

    assert _words(world, base).startswith(
        "The pass was issued and sent to you in this chat, valid until "
    )
    assert "valid from" in _words(world, later_start)
    by_sms = stored_request(
        world,
        state=RequestState.DELIVERED,
        delivery=DeliveryMethod.SMS,
        delivered_to="+44 •••• ••01 11",
    )
    assert _words(world, by_sms) == (
        "The pass was issued and sent by text message to +44 •••• ••01 11."
    )
    over = stored_request(
        world, state=RequestState.DELIVERED, pass_ends_at=world.clock.now() - timedelta(hours=1)
    )
    assert "; it was valid until " in _words(world, over)


def test_a_denial_names_who_when_and_why_and_shortens_a_very_long_reason(world: World) -> None:
    denied = Decision(1, False, TOM.id, "Tom Becker", world.clock.now(), "Not verified")
    long = Decision(1, False, TOM.id, "Tom Becker", world.clock.now(), "why " * 200)

    words = _words(world, stored_request(world, state=RequestState.DENIED, decisions=(denied,)))
    shortened = _words(world, stored_request(world, state=RequestState.DENIED, decisions=(long,)))

    assert words.startswith("Denied by Tom Becker on ")
    assert words.endswith(": Not verified. No pass was issued.")
    assert "…. No pass was issued." in shortened
    assert len(shortened) < 300


def test_a_refusal_at_issue_time_says_when_and_why(world: World) -> None:
    failed = stored_request(world, state=RequestState.FAILED, reason=Refusal.DISABLED.value)
    assert _words(world, failed) == (
        "It was refused when the rules were checked again before issuing: "
        + message(Refusal.DISABLED, name="Liam Carter")
    )


@pytest.mark.parametrize("reason", sorted(FAILURES))
def test_each_failure_reason_reaches_the_card_in_words(world: World, reason: str) -> None:
    failed = stored_request(world, state=RequestState.FAILED, reason=reason)
    assert _words(world, failed) == FAILURES[reason]


@pytest.mark.parametrize(
    ("state", "reason", "expected"),
    [
        (RequestState.EXPIRED, "stage_timeout", "Nobody decided step 1 of 2 within 1 hour"),
        (RequestState.CANCELLED, "cancelled_by_requester", "You cancelled it"),
        (RequestState.APPROVED, None, "It was approved; the pass is being created"),
    ],
)
def test_the_other_ends_in_words(
    world: World, state: RequestState, reason: str | None, expected: str
) -> None:
    assert _words(world, stored_request(world, state=state, reason=reason)).startswith(expected)


def test_every_standing_has_a_headline() -> None:
    assert set(HEADLINES) == set(Standing)


# The card


async def _add(world: World, *requests: TapRequest) -> None:
    for request in requests:
        await world.store.add_request(request)


async def test_someone_without_requests_gets_the_friendly_card(world: World) -> None:
    card = await _cards(world).open(_caller(TOM))
    assert "You haven't asked for any passes yet" in readable_text(card)


async def test_the_card_shows_only_the_askers_requests(world: World) -> None:
    await _add(
        world,
        stored_request(world, 1),
        stored_request(world, 2, id="theirs", requester_id=MANAGER.id, target_name="Secret Person"),
    )
    card = await _cards(world).open(_caller(PRIYA))
    assert "Liam Carter" in readable_text(card)
    assert "Secret Person" not in json.dumps(card)
    assert card_problems(card) == []


@pytest.mark.parametrize(
    "data",
    [
        {"before_at": "not a time", "before_id": "r001"},
        {"before_at": "2025-06-09T08:00:00", "before_id": "r001"},  # naive
        {"before_at": ["2025"], "before_id": "r001"},
        {"after_at": "2025-06-09T08:00:00+00:00", "after_id": "x" * 500},
        {"before_at": "2025-06-09T08:00:00+00:00" + " " * 50, "before_id": "r001"},
        {"before_at": "0001-01-01T00:00:00+14:00", "before_id": "r001"},  # before year 1 in UTC
        {"before_at": "2025-06-09T08:00:00+00:00", "before_id": "r001\u0000"},
    ],
)
async def test_malformed_paging_data_shows_the_newest_page(
    world: World, data: dict[str, object]
) -> None:
    await _add(world, *(stored_request(world, n) for n in range(3)))
    card = await _cards(world).page(_caller(PRIYA), data)
    assert "Newest first." in readable_text(card)


async def test_paging_buttons_lead_through_every_request_and_back(world: World) -> None:
    await _add(world, *(stored_request(world, n, target_name=f"Person {n:02d}") for n in range(25)))
    cards, caller = _cards(world), _caller(PRIYA)

    seen: list[str] = []
    card = await cards.open(caller)
    pages = [card]
    while True:
        seen += [t for t in texts(card, "TextRun") if t.startswith("For ")]
        older = [a for a in card["actions"] if a["title"] == "Older requests"]
        if not older:
            break
        card = await cards.page(caller, older[0]["data"])
        pages.append(card)
    [newer] = [a for a in pages[-1]["actions"] if a["title"] == "Newer requests"]
    back = await cards.page(caller, newer["data"])

    assert seen == [f"For Person {n:02d}" for n in reversed(range(25))]
    assert len(pages) == 3
    assert texts(back, "TextRun") == texts(pages[1], "TextRun")


async def test_a_page_too_big_for_teams_moves_rows_to_the_next_page(world: World) -> None:
    long_name = "名" * 256
    reason = "理" * 500
    denied = Decision(1, False, TOM.id, "決" * 256, world.clock.now(), reason)
    await _add(
        world,
        *(
            stored_request(
                world,
                n,
                target_name=f"{n:02d} {long_name}",
                state=RequestState.DENIED,
                decisions=(denied,),
            )
            for n in range(10)
        ),
    )
    cards, caller = _cards(world), _caller(PRIYA)

    card = await cards.open(caller)
    pages = [card]
    while older := [a for a in card["actions"] if a["title"] == "Older requests"]:
        card = await cards.page(caller, older[0]["data"])
        pages.append(card)

    shown = [t[4:6] for c in pages for t in texts(c, "TextRun") if t.startswith("For ")]
    assert shown == [f"{n:02d}" for n in reversed(range(10))]
    assert len(pages) > 1
    assert all(card_bytes(c) <= TEAMS_MAX_CARD_BYTES for c in pages)


async def _ask_as_priya(world: World) -> TapRequest:
    outcome = await world.submit(by=as_person(PRIYA))
    assert isinstance(outcome, AwaitingApproval), outcome
    return outcome.request


def _cancel_button(card: dict[str, Any]) -> dict[str, Any]:
    [button] = [a for a in actions(card) if a["verb"] == CANCEL]
    return button


async def test_cancel_on_the_card_cancels_and_redraws_the_same_page(world: World) -> None:
    request = await _ask_as_priya(world)
    await _add(world, *(stored_request(world, n) for n in range(12)))
    cards, caller = _cards(world), _caller(PRIYA)
    newest = await cards.open(caller)
    [older] = [a for a in newest["actions"] if a["title"] == "Older requests"]
    page_two = await cards.page(caller, older["data"])
    button = next(
        a for a in actions(page_two) if a["verb"] == CANCEL and a["data"]["request_id"] == "r000"
    )
    assert button["data"]["before_id"] == older["data"]["before_id"]

    after = await cards.cancel(caller, button["data"])

    assert (
        texts(after, "TextRun")[0]
        == "Your request for Liam Carter is cancelled: no pass will be issued."
    )
    assert (await world.store.get_request("r000")).state is RequestState.CANCELLED  # type: ignore[union-attr]
    assert "Older requests, newest first." in readable_text(after)  # still the second page
    still = await world.store.get_request(request.id)
    assert still is not None
    assert still.state is RequestState.PENDING_APPROVAL


async def test_cancelling_someone_elses_request_is_refused_and_changes_nothing(
    world: World,
) -> None:
    theirs = await _ask_as_priya(world)

    card = await _cards(world).cancel(_caller(TOM), {"request_id": theirs.id})

    assert texts(card, "TextRun")[0] == message(Refusal.NOT_YOUR_REQUEST)
    assert "Liam Carter" not in json.dumps(card)  # Priya's request is not shown to Tom
    assert (await world.store.get_request(theirs.id)).state is RequestState.PENDING_APPROVAL  # type: ignore[union-attr]


async def test_cancelling_a_request_that_no_longer_waits_says_where_it_stands(
    world: World,
) -> None:
    request = await _ask_as_priya(world)
    cards, caller = _cards(world), _caller(PRIYA)
    card = await cards.open(caller)
    await world.requests.decide(as_person(TOM), request.id, 1, approve=False, reason="No")

    after = await cards.cancel(caller, _cancel_button(card)["data"])

    assert texts(after, "TextRun")[0] == (
        "Nothing was cancelled: your request for Liam Carter isn't waiting any more (denied)."
    )
    assert [a for a in actions(after) if a["verb"] == CANCEL] == []


@pytest.mark.parametrize("data", [{}, {"request_id": 7}, {"request_id": "x" * 65}])
async def test_a_cancel_without_a_usable_id_is_refused_in_words(
    world: World, data: dict[str, object]
) -> None:
    card = await _cards(world).cancel(_caller(PRIYA), data)
    assert texts(card, "TextRun")[0] == message(Refusal.NOT_YOUR_REQUEST)


class _BrokenStore:
    """Wraps a store so reading requests fails, as a database outage would."""

    def __init__(self, world: World) -> None:
        self._inner = world.store

    def __getattr__(self, attribute: str) -> Any:
        if attribute in ("list_requests", "get_request"):

            async def broken(*_args: object, **_kwargs: object) -> Any:
                raise StoreError("database down")

            return broken
        return getattr(self._inner, attribute)


async def test_a_store_failure_is_told_in_words(world: World) -> None:
    broken = MyRequests(store=_BrokenStore(world), requests=world.requests, clock=world.clock)  # type: ignore[arg-type]
    cards = StatusCards(broken, LONDON)

    shown = await cards.open(_caller(PRIYA))
    cancelled = await cards.cancel(_caller(PRIYA), {"request_id": "r000"})

    assert CANNOT_READ in readable_text(shown)
    assert CANNOT_CANCEL in readable_text(cancelled)
    assert [a["verb"] for a in shown["actions"]] == [PAGE]
