"""The `Store` contract for paging one person's requests with a keyset cursor on
(created_at, id) — on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from bot.domain.model import RequestState, TapRequest
from bot.domain.ports import Store
from bot.domain.request_query import RequestCursor
from tests.integration.store.support import T0, minutes, request

MINE = "manager-1"
THEIRS = "manager-2"


async def _add(store: Store, request_id: str, at_minute: int, **fields: object) -> TapRequest:
    at = T0 + minutes(at_minute)
    made = request(request_id, created_at=at, updated_at=at, **fields)
    await store.add_request(made)
    return made


async def _history(store: Store) -> None:
    """Eleven requests of mine, four of them made in the same instant, and others' between."""
    for n in range(7):
        await _add(store, f"m{n:02d}", n, requester_id=MINE, target_id=f"t{n}")
    for suffix in ("a", "b", "c", "d"):  # one instant, told apart by id
        await _add(store, f"s-{suffix}", 10, requester_id=MINE, target_id=f"t-{suffix}")
    for n in range(5):
        await _add(store, f"o{n:02d}", n, requester_id=THEIRS, target_id=f"x{n}")


async def _walk(store: Store, *, oldest_first: bool, size: int) -> list[list[str]]:
    pages: list[list[str]] = []
    after: RequestCursor | None = None
    while True:
        page = await store.list_requests(
            requester_id=MINE, after=after, oldest_first=oldest_first, limit=size
        )
        if not page:
            return pages
        pages.append([r.id for r in page])
        after = RequestCursor.at(page[-1])


async def test_a_walk_newest_first_sees_each_of_my_requests_once_in_order(store: Store) -> None:
    await _history(store)

    pages = await _walk(store, oldest_first=False, size=3)

    assert pages == [
        ["s-d", "s-c", "s-b"],
        ["s-a", "m06", "m05"],
        ["m04", "m03", "m02"],
        ["m01", "m00"],
    ]


async def test_a_walk_oldest_first_reads_the_same_requests_the_other_way(store: Store) -> None:
    await _history(store)

    pages = await _walk(store, oldest_first=True, size=4)

    assert pages == [
        ["m00", "m01", "m02", "m03"],
        ["m04", "m05", "m06", "s-a"],
        ["s-b", "s-c", "s-d"],
    ]


async def test_newer_than_a_request_oldest_first_is_the_page_above_it(store: Store) -> None:
    await _history(store)
    cursor = RequestCursor(T0 + minutes(10), "s-b")

    newer = await store.list_requests(requester_id=MINE, after=cursor, oldest_first=True)
    older = await store.list_requests(requester_id=MINE, after=cursor, limit=2)

    assert [r.id for r in newer] == ["s-c", "s-d"]
    assert [r.id for r in older] == ["s-a", "m06"]


async def test_a_cursor_between_requests_or_past_the_end_is_just_a_position(
    store: Store,
) -> None:
    await _history(store)

    between = RequestCursor(T0 + minutes(4.5), "zzz")
    before_all = RequestCursor(T0 - minutes(1), "m00")

    assert [r.id for r in await store.list_requests(requester_id=MINE, after=between)] == [
        "m04",
        "m03",
        "m02",
        "m01",
        "m00",
    ]
    assert await store.list_requests(requester_id=MINE, after=before_all) == []


async def test_the_cursor_combines_with_the_other_filters(store: Store) -> None:
    await _history(store)
    await store.transition(
        "m02", expected=[RequestState.PENDING_APPROVAL], new_state=RequestState.CANCELLED, at=T0
    )
    cursor = RequestCursor(T0 + minutes(5), "m05")

    found = await store.list_requests(
        requester_id=MINE, states=[RequestState.PENDING_APPROVAL], after=cursor
    )

    assert [r.id for r in found] == ["m04", "m03", "m01", "m00"]


async def test_someone_elses_requests_never_come_with_my_cursor(store: Store) -> None:
    await _history(store)
    theirs = RequestCursor(T0 + minutes(3), "o03")

    found = await store.list_requests(requester_id=MINE, after=theirs)

    # Only a position: my request made in the same minute sorts before "o03" and comes too.
    assert [r.id for r in found] == ["m03", "m02", "m01", "m00"]
    assert all(r.requester_id == MINE for r in found)


async def test_a_naive_cursor_time_is_refused(store: Store) -> None:
    naive = T0.replace(tzinfo=None)
    with pytest.raises(ValueError, match="timezone-aware"):
        await store.list_requests(after=RequestCursor(naive, "r1"))
