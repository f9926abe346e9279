"""A request that needs a helpdesk stage where no helpdesk group is configured: refused in its
own words (never the "manager changed" ones, which tell the requester to ask a helpdesk that
does not exist), audited with its own reason, on every path that reaches it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.outcomes import AwaitingApproval, ConfirmReplace, Issued, Refused
from bot.domain.policy import Refusal
from bot.domain.refusals import message
from tests.unit.domain.world import LIAM, MANAGER, OTHER_MANAGER, World, as_person


def _manager_changed(world: World) -> None:
    world.directory.set_manager(LIAM.id, OTHER_MANAGER.id, at=world.clock.now() - timedelta(days=3))
    world.directory.set_manager(LIAM.id, MANAGER.id, at=world.clock.now() - timedelta(days=2))


@pytest.fixture
async def no_helpdesk() -> World:
    created = World(helpdesk_group_id="")
    await created.baseline()
    return created


def test_the_words_say_nobody_could_approve_and_claim_no_cause() -> None:
    words = message(Refusal.NO_HELPDESK, name="Liam Carter")
    assert words.startswith("A pass for Liam Carter needs a helpdesk member's approval")
    assert "nobody could approve it" in words
    assert "IT team" in words
    # True whatever added the helpdesk stage: no manager change is claimed, and nobody is sent
    # to ask a helpdesk that tapbot does not have.
    assert "manager" not in words
    assert "Ask the helpdesk" not in words
    assert words != message(Refusal.NEEDS_HELPDESK_APPROVAL, name="Liam Carter")


def test_without_a_name_the_sentence_stays_whole() -> None:
    assert message(Refusal.NO_HELPDESK).startswith("A pass for this person needs")


async def test_a_manager_change_without_a_helpdesk_is_refused_in_its_own_words(
    no_helpdesk: World,
) -> None:
    _manager_changed(no_helpdesk)

    outcome = await no_helpdesk.submit()

    assert isinstance(outcome, Refused)
    assert outcome.reason is Refusal.NO_HELPDESK
    assert outcome.text == message(Refusal.NO_HELPDESK, name=LIAM.display_name)
    assert ("request", "refused", "no_helpdesk") in await no_helpdesk.audit()
    assert await no_helpdesk.store.list_requests() == []
    assert no_helpdesk.board.posted == []


async def test_without_a_helpdesk_a_request_that_needs_none_is_issued(no_helpdesk: World) -> None:
    assert isinstance(await no_helpdesk.submit(), Issued)


async def test_with_a_helpdesk_the_same_request_waits_for_it(world: World) -> None:
    _manager_changed(world)
    assert isinstance(await world.submit(), AwaitingApproval)


async def test_the_request_card_marks_the_person_as_needing_a_helpdesk_there_is_not(
    no_helpdesk: World, world: World
) -> None:
    for each in (no_helpdesk, world):
        _manager_changed(each)

    without = await no_helpdesk.offers.reports(MANAGER.id)
    with_helpdesk = await world.offers.reports(MANAGER.id)

    assert not isinstance(without, Refused)
    assert not isinstance(with_helpdesk, Refused)
    assert {o.user.id: o.refusal for o in without.targets}[LIAM.id] is Refusal.NO_HELPDESK
    assert {o.user.id: o.refusal for o in with_helpdesk.targets}[
        LIAM.id
    ] is Refusal.NEEDS_HELPDESK_APPROVAL


@pytest.mark.parametrize(
    ("helpdesk", "expected"),
    [("", Refusal.NO_HELPDESK), (None, Refusal.NEEDS_HELPDESK_APPROVAL)],
)
async def test_a_manager_change_found_right_before_issuing_names_the_way_that_exists(
    helpdesk: str | None, expected: Refusal
) -> None:
    world = World() if helpdesk is None else World(helpdesk_group_id=helpdesk)
    await world.baseline()
    await world.directory.create_pass(
        LIAM.id, lifetime_minutes=60, is_usable_once=True, start_at=None
    )
    asked = await world.submit()
    assert isinstance(asked, ConfirmReplace)
    _manager_changed(world)

    outcome = await world.requests.confirm_replace(as_person(MANAGER), asked.request.id)

    assert isinstance(outcome, Refused)
    assert outcome.reason is expected
    assert outcome.request is not None
    assert outcome.request.reason == expected.value
