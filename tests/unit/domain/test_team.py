"""A manager's team: pass states, paging, and revoking only what is theirs to revoke."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.errors import DirectoryRejected, DirectoryUnavailable
from bot.domain.model import DirectoryUser, PassInfo
from bot.domain.policy import Refusal
from bot.domain.team import (
    REVOKED_NOTICE,
    TEAM_PAGE_SIZE,
    PassGone,
    PassState,
    Revoked,
    RevokeFailed,
    RevokeQuestion,
    RevokeRefused,
    TeamCursor,
    TeamPasses,
    page_of,
    pass_status,
)
from tests.twins.directory import person
from tests.unit.domain.world import (
    LIAM,
    MANAGER,
    NOAH,
    OTHER_MANAGER,
    STRANGER,
    World,
    team_passes,
)

UNREACHABLE = DirectoryUnavailable("Graph timed out", code="timeout")


@pytest.fixture
def team(world: World) -> TeamPasses:
    return team_passes(world)


async def _issue(world: World, user: DirectoryUser, **changes: object) -> PassInfo:
    values: dict[str, object] = {"lifetime_minutes": 60, "is_usable_once": True, "start_at": None}
    values.update(changes)
    issued = await world.directory.create_pass(user.id, **values)  # type: ignore[arg-type]
    return issued.info


async def _audit(world: World) -> list[tuple[str, str, str | None]]:
    return [e for e in await world.audit() if e[0] == "revoke"]


# Pass states


def _info(world: World, reason: str = "", **changes: object) -> PassInfo:
    values: dict[str, object] = {
        "id": "p1",
        "user_id": LIAM.id,
        "created_at": world.clock.now(),
        "start_at": world.clock.now(),
        "lifetime_minutes": 60,
        "is_usable_once": False,
        "is_usable": True,
        "usability_reason": reason,
    }
    values.update(changes)
    return PassInfo(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("reason", "state"),
    [
        ("EnabledByPolicy", PassState.ACTIVE),
        ("DisabledByPolicy", PassState.SUSPENDED),
        ("Expired", PassState.EXPIRED),
        ("NotYetValid", PassState.NOT_YET_VALID),
        ("OneTimeUsed", PassState.USED),
    ],
)
def test_graphs_usability_reason_decides_the_state(
    world: World, reason: str, state: PassState
) -> None:
    info = _info(world, reason)
    assert pass_status([info], world.clock.now()).state is state
    assert pass_status([info], world.clock.now()).info == info


@pytest.mark.parametrize(
    ("start_minutes", "state"),
    [(10, PassState.NOT_YET_VALID), (-30, PassState.ACTIVE), (-60, PassState.EXPIRED)],
)
def test_without_a_known_reason_the_times_decide(
    world: World, start_minutes: int, state: PassState
) -> None:
    start = world.clock.now() + timedelta(minutes=start_minutes)
    info = _info(world, "SomethingNew", start_at=start)
    assert pass_status([info], world.clock.now()).state is state


def test_no_pass_and_the_newest_of_several(world: World) -> None:
    assert pass_status([], world.clock.now()).state is PassState.NONE
    old = _info(world, "Expired", id="old", created_at=world.clock.now() - timedelta(days=2))
    new = _info(world, "EnabledByPolicy", id="new")
    assert pass_status([new, old], world.clock.now()).info == new


async def test_the_team_shows_each_reports_pass_read_now(world: World, team: TeamPasses) -> None:
    await _issue(world, LIAM)
    await _issue(world, NOAH, start_at=world.clock.now() + timedelta(days=1))

    page = await team.page(MANAGER.id)

    states = {m.user.display_name: m.status.state for m in page.members if m.status}
    assert states == {
        "Ada Lovelace": PassState.NONE,
        "Harry Jones": PassState.NONE,
        "Liam Carter": PassState.ACTIVE,
        "Noah Patel": PassState.NOT_YET_VALID,
    }
    assert (page.total, page.first_position, page.previous, page.next) == (4, 1, None, None)


async def test_a_pass_graph_does_not_answer_for_is_unknown_not_a_failure(
    world: World, team: TeamPasses
) -> None:
    world.directory.fail("list_passes", UNREACHABLE)
    page = await team.page(MANAGER.id)
    assert sum(m.status is None for m in page.members) == 1
    assert len(page.members) == 4


async def test_a_team_graph_cannot_read_raises(world: World, team: TeamPasses) -> None:
    world.directory.fail("list_direct_reports", UNREACHABLE)
    with pytest.raises(DirectoryUnavailable):
        await team.page(MANAGER.id)


async def test_a_manager_without_reports_has_an_empty_team(world: World, team: TeamPasses) -> None:
    page = await team.page(STRANGER.id)
    assert (page.members, page.total, page.next) == ([], 0, None)


# Paging


def _people(count: int) -> list[DirectoryUser]:
    # Two people share every name, so the id must break the tie.
    return [
        person(f"Person {n // 2:02d}", id=f"10000000-0000-4000-8000-{n:012d}") for n in range(count)
    ]


def test_a_team_of_45_comes_in_pages_of_20_without_gaps_or_repeats() -> None:
    people = _people(45)
    seen: list[str] = []
    cursor: TeamCursor | None = None
    starts = []
    while True:
        page, start, _previous, next_ = page_of(people, cursor)
        seen += [u.id for u in page]
        starts.append(start)
        if next_ is None:
            break
        cursor = next_
    assert starts == [0, 20, 40]
    assert seen == [u.id for u in sorted(people, key=lambda u: (u.display_name, u.id))]


def test_previous_goes_back_one_page_and_the_first_page_has_none() -> None:
    people = _people(45)
    first, _, no_previous, to_second = page_of(people, None)
    assert no_previous is None
    assert to_second is not None
    second, _, back, _ = page_of(people, to_second)
    assert back is not None
    assert page_of(people, back)[0] == first
    assert len(second) == TEAM_PAGE_SIZE


def test_a_cursor_whose_person_left_still_places_the_page_by_name() -> None:
    people = _people(45)
    _, _, _, to_second = page_of(people, None)
    assert to_second is not None
    gone = [u for u in people if u.id != to_second.user_id]
    second, start, _, _ = page_of(gone, to_second)
    assert start == 19
    assert second[0].display_name == "Person 10"


def test_a_team_of_exactly_one_page_has_no_next() -> None:
    page, _, previous, next_ = page_of(_people(TEAM_PAGE_SIZE), None)
    assert len(page) == TEAM_PAGE_SIZE
    assert (previous, next_) == (None, None)


async def test_a_page_reads_passes_only_for_the_people_on_it(
    world: World, team: TeamPasses
) -> None:
    for n in range(45):
        world.directory.add_user(person(f"Report {n:02d}"), manager_id=OTHER_MANAGER.id)
    page = await team.page(OTHER_MANAGER.id)
    assert len(page.members) == TEAM_PAGE_SIZE
    assert world.directory.called("list_passes") == TEAM_PAGE_SIZE
    assert page.next is not None
    last = await team.page(OTHER_MANAGER.id, page.next)
    assert last.first_position == 21


# Revoking


async def test_revoking_asks_first_then_deletes_and_audits(world: World, team: TeamPasses) -> None:
    info = await _issue(world, LIAM)

    asked = await team.ask_revoke(MANAGER.id, LIAM.id, info.id)

    assert isinstance(asked, RevokeQuestion)
    assert asked.status.state is PassState.ACTIVE
    assert world.directory.pass_of(LIAM.id) is not None
    assert world.directory.called("delete_pass") == 0

    done = await team.revoke(MANAGER.id, LIAM.id, info.id, tell_them=False)

    assert done == Revoked(LIAM, None)
    assert world.directory.pass_of(LIAM.id) is None
    assert await _audit(world) == [("revoke", "revoked", None)]
    [event] = await world.store.list_audit(action="revoke")
    assert (event.actor_id, event.target_id, event.detail["pass_id"]) == (
        MANAGER.id,
        LIAM.id,
        info.id,
    )
    assert world.delivery.notices == []


async def test_the_person_is_told_when_the_manager_asks(world: World, team: TeamPasses) -> None:
    info = await _issue(world, LIAM)
    done = await team.revoke(MANAGER.id, LIAM.id, info.id, tell_them=True)
    assert done == Revoked(LIAM, True)
    assert world.delivery.notices == [(LIAM.id, REVOKED_NOTICE)]
    assert await _audit(world) == [("revoke", "revoked", None), ("revoke", "target_told", None)]


async def test_a_person_the_bot_cannot_reach_is_still_revoked(
    world: World, team: TeamPasses
) -> None:
    world.delivery.unreachable = True
    info = await _issue(world, LIAM)
    done = await team.revoke(MANAGER.id, LIAM.id, info.id, tell_them=True)
    assert done == Revoked(LIAM, False)
    assert world.directory.pass_of(LIAM.id) is None
    assert ("revoke", "target_not_reached", None) in await _audit(world)


async def test_someone_elses_report_is_refused_audited_and_untouched(
    world: World, team: TeamPasses
) -> None:
    info = await _issue(world, STRANGER)

    for attempt in (team.ask_revoke, team.revoke):
        kwargs = {"tell_them": True} if attempt == team.revoke else {}
        refused = await attempt(MANAGER.id, STRANGER.id, info.id, **kwargs)  # type: ignore[operator]
        assert isinstance(refused, RevokeRefused)
        assert refused.reason is Refusal.NOT_DIRECT_REPORT
        assert "doesn't report to you" in refused.text

    assert world.directory.pass_of(STRANGER.id) is not None
    assert world.directory.called("delete_pass") == 0
    assert await _audit(world) == [("revoke", "refused", "not_direct_report")] * 2


async def test_a_report_who_moved_to_another_manager_since_the_card_is_refused(
    world: World, team: TeamPasses
) -> None:
    info = await _issue(world, LIAM)
    assert isinstance(await team.ask_revoke(MANAGER.id, LIAM.id, info.id), RevokeQuestion)
    world.directory.set_manager(LIAM.id, OTHER_MANAGER.id)

    refused = await team.revoke(MANAGER.id, LIAM.id, info.id, tell_them=False)

    assert isinstance(refused, RevokeRefused)
    assert world.directory.pass_of(LIAM.id) is not None


async def test_nobody_and_oneself_are_refused(world: World, team: TeamPasses) -> None:
    unknown = await team.ask_revoke(MANAGER.id, "10000000-0000-4000-8000-00000000dead", "p")
    assert isinstance(unknown, RevokeRefused)
    assert unknown.reason is Refusal.TARGET_NOT_FOUND
    self_ = await team.ask_revoke(MANAGER.id, MANAGER.id, "p")
    assert isinstance(self_, RevokeRefused)
    assert self_.reason is Refusal.SELF


async def test_a_pass_already_gone_is_said_so_and_nothing_breaks(
    world: World, team: TeamPasses
) -> None:
    info = await _issue(world, LIAM)
    await world.directory.delete_pass(LIAM.id, info.id)

    gone = await team.revoke(MANAGER.id, LIAM.id, info.id, tell_them=True)

    assert gone == PassGone(LIAM, None)
    assert world.directory.called("delete_pass") == 1  # the test's own
    assert world.delivery.notices == []
    assert await _audit(world) == [("revoke", "already_gone", None)]


async def test_a_pass_replaced_since_the_card_is_not_the_one_revoked(
    world: World, team: TeamPasses
) -> None:
    old = await _issue(world, LIAM)
    new = await _issue(world, LIAM)

    gone = await team.revoke(MANAGER.id, LIAM.id, old.id, tell_them=False)

    assert isinstance(gone, PassGone)
    assert gone.newer is not None
    assert gone.newer.info is not None
    assert gone.newer.info.id == new.id
    assert (world.directory.pass_of(LIAM.id) or old).id == new.id


@pytest.mark.parametrize(
    "method",
    ["get_manager", "list_passes", "delete_pass"],
)
async def test_graph_failures_revoke_nothing_and_are_audited(
    world: World, team: TeamPasses, method: str
) -> None:
    info = await _issue(world, LIAM)
    world.directory.fail(method, DirectoryRejected("no", code="badRequest", status=400))

    failed = await team.revoke(MANAGER.id, LIAM.id, info.id, tell_them=True)

    assert isinstance(failed, RevokeFailed)
    assert "nothing was revoked" in failed.text
    assert world.directory.pass_of(LIAM.id) is not None
    assert await _audit(world) == [("revoke", "failed", "directory_error")]
