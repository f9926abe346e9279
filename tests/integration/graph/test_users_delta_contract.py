"""The users delta contract, run against the twin and the fake tenant over HTTP: a full round
in pages, then delta links that bring each manager change, removals, deletions and expiry."""

from __future__ import annotations

import pytest

from bot.domain.errors import DirectoryDeltaExpired
from bot.domain.model import Actor, ActorKind, ManagerSighting, UsersDeltaPage
from sandbox import org
from tests.integration.graph.conftest import Side

HR = Actor(
    ActorKind.APP, org.HR_PROVISIONING_SP_ID, org.HR_PROVISIONING_NAME, org.HR_PROVISIONING_APP_ID
)


async def round_from(side: Side, link: str | None) -> tuple[list[ManagerSighting], str, int]:
    """Every sighting of one round starting at *link*, the delta link it ends with, and the
    number of pages read."""
    sightings: list[ManagerSighting] = []
    pages = 0
    while True:
        page: UsersDeltaPage = await side.directory.users_delta_page(link)
        pages += 1
        sightings.extend(page.users)
        if page.next_link is None:
            assert page.delta_link is not None
            return sightings, page.delta_link, pages
        assert page.delta_link is None
        link = page.next_link


async def test_a_full_round_lists_everyone_with_their_manager_in_pages(side: Side) -> None:
    sightings, _, pages = await round_from(side, None)

    by_id = {s.user_id: s for s in sightings}
    assert len(by_id) == len(sightings) == len(org.PEOPLE)
    assert pages > 1
    assert by_id[org.LIAM_ID] == ManagerSighting(org.LIAM_ID, org.MANAGER_ID)
    assert by_id[org.RECENT_MANAGER_CHANGE_ID].manager_id == org.MANAGER_ID
    # No manager: Graph leaves manager@delta out (a full round's reader knows what it means).
    assert by_id[org.CEO_ID] == ManagerSighting(org.CEO_ID, None, manager_known=False)


async def test_the_next_round_brings_a_manager_change(side: Side) -> None:
    _, delta, _ = await round_from(side, None)
    side.set_manager(org.LUCAS_ID, org.MANAGER_ID, at=side.clock.now(), by=org.MANAGER_ID)

    sightings, _, _ = await round_from(side, delta)

    changed = [s for s in sightings if s.user_id == org.LUCAS_ID]
    assert changed == [ManagerSighting(org.LUCAS_ID, org.MANAGER_ID)]
    # Only the changed user, and at most one replayed from before.
    assert len({s.user_id for s in sightings}) <= 2


async def test_a_change_by_an_app_comes_the_same_way(side: Side) -> None:
    _, delta, _ = await round_from(side, None)
    side.set_manager(org.AVA_ID, org.MANAGER_ID, at=side.clock.now(), by=HR)

    sightings, _, _ = await round_from(side, delta)

    assert ManagerSighting(org.AVA_ID, org.MANAGER_ID) in sightings


async def test_a_removed_manager_is_not_said_in_a_later_round(side: Side) -> None:
    _, delta, _ = await round_from(side, None)
    side.set_manager(org.GRACE_ID, None, at=side.clock.now(), by=org.MANAGER_ID)

    sightings, _, _ = await round_from(side, delta)

    grace = [s for s in sightings if s.user_id == org.GRACE_ID]
    assert grace == [ManagerSighting(org.GRACE_ID, None, manager_known=False)]
    assert await side.directory.get_manager(org.GRACE_ID) is None


async def test_a_deleted_user_is_reported_removed(side: Side) -> None:
    _, delta, _ = await round_from(side, None)
    side.remove_user(org.AVA_ID)

    sightings, _, _ = await round_from(side, delta)

    assert ManagerSighting(org.AVA_ID, None, removed=True) in sightings


async def test_an_unchanged_tenant_gives_an_almost_empty_round(side: Side) -> None:
    _, delta, _ = await round_from(side, None)
    sightings, again, pages = await round_from(side, delta)
    assert pages == 1
    assert len(sightings) <= 1  # a replay at most
    assert again


async def test_links_expire_after_seven_days(side: Side) -> None:
    _, delta, _ = await round_from(side, None)
    side.clock.advance(days=7, seconds=1)
    with pytest.raises(DirectoryDeltaExpired):
        await side.directory.users_delta_page(delta)


async def test_a_link_a_day_old_still_works(side: Side) -> None:
    _, delta, _ = await round_from(side, None)
    side.clock.advance(days=1)
    sightings, _, _ = await round_from(side, delta)
    assert len(sightings) <= 1
