"""The store contract for tapbot's record of managers and the users delta's progress and
lease, on every backend (memory, SQLite, PostgreSQL), and across two instances on SQL."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.domain.model import ManagerRecord, UsersDeltaState
from bot.domain.ports import Store
from tests.integration.store.support import T0, Backend, minutes

PARIS = timezone(timedelta(hours=2))


def record(user_id: str = "liam", **fields: object) -> ManagerRecord:
    values: dict[str, object] = {"user_id": user_id, "manager_id": "olivia", "seen_at": T0}
    values.update(fields)
    return ManagerRecord(**values)  # type: ignore[arg-type]  # fields given per test


# Manager records


async def test_a_new_record_is_stored_at_version_one_and_reads_back(store: Store) -> None:
    full = record(
        changed_at=datetime(2025, 6, 9, 10, 0, tzinfo=PARIS),
        previous_manager_id="daniel",
        first_seen=False,
    )
    stored = await store.save_manager_record(full)
    assert stored == dataclasses.replace(full, changed_at=T0, version=1)
    got = await store.manager_records(["liam", "nobody"])
    assert got == {"liam": stored}
    assert got["liam"].changed_at is not None
    assert got["liam"].changed_at.tzinfo is UTC


async def test_nulls_and_flags_round_trip(store: Store) -> None:
    stored = await store.save_manager_record(
        record(manager_id=None, changed_at=T0, previous_manager_id=None, first_seen=True)
    )
    assert stored is not None
    assert (await store.manager_records(["liam"]))["liam"] == stored


async def test_a_second_insert_of_the_same_person_loses_and_changes_nothing(store: Store) -> None:
    first = await store.save_manager_record(record())
    assert await store.save_manager_record(record(manager_id="mallory")) is None
    assert (await store.manager_records(["liam"]))["liam"] == first


async def test_an_update_needs_the_version_it_read(store: Store) -> None:
    first = await store.save_manager_record(record())
    assert first is not None
    moved = dataclasses.replace(first, manager_id="mallory", previous_manager_id="olivia")
    second = await store.save_manager_record(moved)
    assert second is not None
    assert (second.manager_id, second.version) == ("mallory", 2)
    stale = dataclasses.replace(first, manager_id="eve")
    assert await store.save_manager_record(stale) is None
    assert await store.save_manager_record(dataclasses.replace(first, version=7)) is None
    assert (await store.manager_records(["liam"]))["liam"] == second


async def test_concurrent_writers_of_one_version_have_one_winner(store: Store) -> None:
    first = await store.save_manager_record(record())
    assert first is not None
    results = await asyncio.gather(
        *(
            store.save_manager_record(dataclasses.replace(first, manager_id=f"m{n}"))
            for n in range(10)
        )
    )
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert (await store.manager_records(["liam"]))["liam"] == winners[0]


async def test_many_records_are_read_at_once(store: Store) -> None:
    ids = [f"user-{n:04d}" for n in range(1200)]
    for user_id in ids[::3]:
        await store.save_manager_record(record(user_id))
    found = await store.manager_records(ids)
    assert sorted(found) == ids[::3]
    assert await store.manager_records([]) == {}


async def test_records_refuse_naive_times_and_bad_text(store: Store) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await store.save_manager_record(record(seen_at=datetime(2025, 6, 9)))  # noqa: DTZ001
    with pytest.raises(ValueError, match="NUL"):
        await store.save_manager_record(record(manager_id="a\x00b"))
    with pytest.raises(ValueError, match="negative"):
        await store.save_manager_record(record(version=-1))


# The users delta's progress and lease


async def test_before_any_poll_the_state_is_empty(store: Store) -> None:
    assert await store.users_delta_state() == UsersDeltaState()


async def test_one_owner_holds_the_lease_until_it_expires_or_is_released(store: Store) -> None:
    claimed = await store.claim_users_delta("p1", T0, T0 + minutes(5))
    assert claimed == UsersDeltaState()
    assert await store.claim_users_delta("p2", T0 + minutes(1), T0 + minutes(6)) is None
    # The holder may renew.
    assert await store.claim_users_delta("p1", T0 + minutes(1), T0 + minutes(6)) is not None
    assert await store.claim_users_delta("p2", T0 + minutes(6), T0 + minutes(11)) is not None
    assert await store.claim_users_delta("p1", T0 + minutes(7), T0 + minutes(12)) is None
    await store.release_users_delta("p1")  # not the holder: nothing happens
    assert await store.claim_users_delta("p1", T0 + minutes(7), T0 + minutes(12)) is None
    await store.release_users_delta("p2")
    assert await store.claim_users_delta("p1", T0 + minutes(7), T0 + minutes(12)) is not None


async def test_progress_is_saved_only_by_the_holder(store: Store) -> None:
    await store.claim_users_delta("p1", T0, T0 + minutes(5))
    state = UsersDeltaState(
        link="https://graph.microsoft.com/v1.0/users/delta?$deltatoken=abc",
        full_round=False,
        baseline_at=datetime(2025, 6, 9, 10, 0, tzinfo=PARIS),
        polled_at=T0,
    )
    assert await store.save_users_delta("p1", state, T0 + minutes(10))
    assert not await store.save_users_delta("p2", UsersDeltaState(), T0 + minutes(10))
    saved = await store.users_delta_state()
    assert saved == dataclasses.replace(state, baseline_at=T0)
    assert saved.baseline_at is not None
    assert saved.baseline_at.tzinfo is UTC
    # Saving extended the lease: another owner still cannot claim at the old expiry.
    assert await store.claim_users_delta("p2", T0 + minutes(6), T0 + minutes(11)) is None
    await store.release_users_delta("p1")
    again = await store.claim_users_delta("p2", T0 + minutes(6), T0 + minutes(11))
    assert again == saved


async def test_concurrent_claims_have_one_winner(store: Store) -> None:
    results = await asyncio.gather(
        *(store.claim_users_delta(f"p{n}", T0, T0 + minutes(5)) for n in range(10))
    )
    assert sum(r is not None for r in results) == 1


async def test_delta_state_refuses_naive_times(store: Store) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await store.claim_users_delta("p1", datetime(2025, 6, 9), T0)  # noqa: DTZ001


# Two instances sharing one database


async def test_two_instances_agree_on_the_lease_and_the_record(sql_backend: Backend) -> None:
    first = await sql_backend.store.save_manager_record(record())
    assert first is not None
    async with sql_backend.another_instance() as other:
        claims = await asyncio.gather(
            sql_backend.store.claim_users_delta("p1", T0, T0 + minutes(5)),
            other.claim_users_delta("p2", T0, T0 + minutes(5)),
        )
        assert sum(c is not None for c in claims) == 1
        moved = dataclasses.replace(first, manager_id="mallory")
        writes = await asyncio.gather(
            sql_backend.store.save_manager_record(moved),
            other.save_manager_record(dataclasses.replace(moved, manager_id="eve")),
        )
        assert sum(w is not None for w in writes) == 1
        assert await other.manager_records(["liam"]) == await sql_backend.store.manager_records(
            ["liam"]
        )
