"""The request flow with administrators through groups and role checks that fail: refused in
words, audited, nothing issued, and a manager learns nothing about someone who is not theirs."""

from __future__ import annotations

import pytest

from bot.domain.errors import DirectoryAccessDenied, DirectoryThrottled, DirectoryUnavailable
from bot.domain.outcomes import Refused
from bot.domain.policy import Refusal
from tests.unit.domain.world import GLOBAL_ADMIN, LIAM, MANAGER, STRANGER, World

TIER0 = "c0000000-0000-4000-8000-000000000005"


@pytest.fixture
async def world() -> World:
    created = World()
    await created.baseline()
    return created


@pytest.mark.parametrize(
    "error",
    [
        DirectoryAccessDenied("missing permission", code="UnknownError", status=403),
        DirectoryThrottled("slow down", retry_after=30, code="TooManyRequests"),
        DirectoryUnavailable("down", code="serviceNotAvailable", status=503),
        DirectoryUnavailable("timed out", code="timeout"),
        DirectoryUnavailable("not JSON", code="invalid_response", status=200),
    ],
)
async def test_a_role_check_that_fails_refuses_in_words_and_is_audited(
    world: World, error: Exception
) -> None:
    world.directory.fail("list_pim_group_assignments", error, times=None)  # type: ignore[arg-type]

    outcome = await world.submit()

    assert isinstance(outcome, Refused)
    assert outcome.reason is Refusal.ROLE_CHECK_FAILED
    assert outcome.text.startswith(
        "I couldn't check whether Liam Carter is or can become an administrator"
    )
    assert world.directory.called("create_pass") == 0
    assert await world.store.list_requests() == []
    assert await world.audit() == [("request", "refused", "role_check_failed")]


async def test_someone_elses_report_is_refused_for_that_not_for_the_failed_check(
    world: World,
) -> None:
    world.directory.fail("list_role_assignments", DirectoryUnavailable("down"), times=None)

    outcome = await world.submit(target=STRANGER.id)

    assert isinstance(outcome, Refused)
    assert outcome.reason is Refusal.NOT_DIRECT_REPORT
    assert await world.audit() == [("request", "refused", "not_direct_report")]


async def test_administrators_through_a_group_are_refused(world: World) -> None:
    world.directory.add_role_group(TIER0, "Tier 0 Administrators", LIAM.id)
    world.directory.assign_role(TIER0, GLOBAL_ADMIN)

    outcome = await world.submit()

    assert isinstance(outcome, Refused)
    assert outcome.reason is Refusal.PRIVILEGED_ROLE
    assert "through a group" in outcome.text
    assert "Tier 0" not in outcome.text
    assert world.directory.called("create_pass") == 0


async def test_pim_for_groups_eligibility_is_refused(world: World) -> None:
    world.directory.add_role_group(TIER0, "Tier 0 Administrators")
    world.directory.assign_role(TIER0, GLOBAL_ADMIN)
    world.directory.add_group_schedule(LIAM.id, TIER0)

    outcome = await world.submit()

    assert isinstance(outcome, Refused)
    assert outcome.reason is Refusal.PRIVILEGED_ROLE_ELIGIBLE
    assert world.directory.called("create_pass") == 0


async def test_the_request_card_still_opens_and_marks_who_could_not_be_checked(
    world: World,
) -> None:
    world.directory.fail("list_role_assignments", DirectoryUnavailable("down"), times=None)

    data = await world.offers.reports(MANAGER.id)

    assert not isinstance(data, Refused)
    refusals = {option.user.id: option.refusal for option in data.targets}
    assert refusals[LIAM.id] is Refusal.ROLE_CHECK_FAILED
    assert all(refusal is not None for refusal in refusals.values())
