"""The joiner part of the `Store` contract (events, sweeps, conversations by prefix), run
against every backend: memory, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from bot.domain.errors import StoreConflict
from bot.domain.joiners import JoinerState, SweepState
from bot.domain.model import ConversationRecord
from bot.domain.ports import Store
from tests.integration.store.support import T0, Backend, minutes

EMMA = "joiner-emma"
DAY = date(2025, 6, 16)
LEASE = T0 + minutes(10)
CLAIMED = JoinerState.CLAIMED
SENDING = JoinerState.SENDING
REMINDED = JoinerState.REMINDED


async def _claim(store: Store, owner: str = "a", at: datetime = T0, **key: object) -> bool:
    claim = await store.claim_joiner(
        str(key.get("joiner_id", EMMA)),
        key.get("hire_day", DAY),  # type: ignore[arg-type]
        owner,
        now=at,
        lease_until=at + minutes(10),
    )
    return claim.won


# Claiming an event


async def test_the_first_claim_creates_the_event(store: Store) -> None:
    claim = await store.claim_joiner(EMMA, DAY, "instance-a", now=T0, lease_until=LEASE)

    assert claim.won
    event = claim.event
    assert (event.joiner_id, event.hire_day, event.state) == (EMMA, DAY, CLAIMED)
    assert (event.owner, event.lease_until, event.attempts, event.version) == (
        "instance-a",
        LEASE,
        1,
        1,
    )
    assert event.created_at == event.updated_at == T0
    assert await store.get_joiner(EMMA, DAY) == event


async def test_a_claim_held_under_a_lease_is_not_taken(store: Store) -> None:
    assert await _claim(store, "a")

    lost = await store.claim_joiner(EMMA, DAY, "b", now=T0 + minutes(9), lease_until=LEASE)

    assert not lost.won
    assert (lost.event.state, lost.event.owner) == (CLAIMED, "a")


async def test_a_claim_whose_lease_ended_is_taken_over(store: Store) -> None:
    assert await _claim(store, "a")

    taken = await store.claim_joiner(
        EMMA, DAY, "b", now=T0 + minutes(10), lease_until=T0 + minutes(20)
    )

    assert taken.won
    assert (taken.event.owner, taken.event.attempts, taken.event.version) == ("b", 2, 2)
    assert taken.event.lease_until == T0 + minutes(20)


async def test_another_hire_day_is_another_event(store: Store) -> None:
    assert await _claim(store, "a")
    assert await _claim(store, "b", hire_day=DAY + timedelta(days=7))
    assert await _claim(store, "b", joiner_id="joiner-mia")


async def test_exactly_one_of_twenty_concurrent_claims_wins(store: Store) -> None:
    results = await asyncio.gather(*(_claim(store, f"instance-{i}") for i in range(20)))

    assert results.count(True) == 1


async def test_one_claim_wins_across_two_instances(sql_backend: Backend) -> None:
    async with sql_backend.another_instance() as other:
        claims = [
            _claim(store, f"{name}-{i}")
            for i in range(10)
            for name, store in (("a", sql_backend.store), ("b", other))
        ]
        assert (await asyncio.gather(*claims)).count(True) == 1


@pytest.mark.parametrize(
    ("state", "claimable"),
    [
        (JoinerState.OPEN, True),
        (JoinerState.SENDING, False),
        (JoinerState.REMINDED, False),
        (JoinerState.NOT_NEEDED, False),
        (JoinerState.UNKNOWN, False),
        (JoinerState.REQUESTED, False),
    ],
)
async def test_which_states_can_be_claimed_again(
    store: Store, state: JoinerState, claimable: bool
) -> None:
    assert await _claim(store, "a")
    await store.move_joiner(EMMA, DAY, expected=[CLAIMED], new_state=state, at=T0)

    # Long after any lease: only an open event is up for claiming.
    assert await _claim(store, "b", at=T0 + timedelta(days=1)) is claimable


async def test_a_snoozed_event_is_claimable_from_its_reminder_time(store: Store) -> None:
    assert await _claim(store, "a")
    remind_at = T0 + timedelta(days=1)
    await store.move_joiner(
        EMMA,
        DAY,
        expected=[CLAIMED],
        new_state=JoinerState.SNOOZED,
        at=T0,
        changes={"remind_at": remind_at},
    )

    assert not await _claim(store, "b", at=remind_at - timedelta(seconds=1))
    assert await _claim(store, "b", at=remind_at)


# Moving an event


async def test_a_move_applies_changes_and_bumps_the_version(store: Store) -> None:
    assert await _claim(store, "a")
    paris = timezone(timedelta(hours=2))
    details = {"joiner_name": "Emma Brooks", "nested": {"list": [1, "two"]}}

    moved = await store.move_joiner(
        EMMA,
        DAY,
        expected=[CLAIMED],
        new_state=SENDING,
        at=datetime(2025, 6, 9, 10, 1, tzinfo=paris),
        owner="a",
        changes={
            "lease_until": datetime(2025, 6, 9, 10, 11, tzinfo=paris),
            "recipient": "manager",
            "recipient_id": "manager-1",
            "conversation_key": "user:manager-1",
            "activity_id": "activity-1",
            "reason": None,
            "details": details,
        },
    )

    assert moved.state is SENDING
    assert moved.version == 2
    assert moved.updated_at == datetime(2025, 6, 9, 8, 1, tzinfo=UTC)
    assert moved.lease_until is not None
    assert moved.lease_until.tzinfo is UTC
    assert moved.details == details
    assert await store.get_joiner(EMMA, DAY) == moved


async def test_a_move_from_another_state_or_owner_conflicts(store: Store) -> None:
    assert await _claim(store, "a")

    with pytest.raises(StoreConflict):
        await store.move_joiner(EMMA, DAY, expected=[SENDING], new_state=REMINDED, at=T0)
    with pytest.raises(StoreConflict):
        await store.move_joiner(EMMA, DAY, expected=[CLAIMED], new_state=SENDING, at=T0, owner="b")
    with pytest.raises(StoreConflict):
        await store.move_joiner("nobody", DAY, expected=[CLAIMED], new_state=SENDING, at=T0)
    event = await store.get_joiner(EMMA, DAY)
    assert event is not None
    assert (event.state, event.version) == (CLAIMED, 1)


async def test_concurrent_moves_have_one_winner(store: Store) -> None:
    assert await _claim(store, "a")

    async def send() -> bool:
        try:
            await store.move_joiner(EMMA, DAY, expected=[CLAIMED], new_state=SENDING, at=T0)
        except StoreConflict:
            return False
        return True

    assert (await asyncio.gather(*(send() for _ in range(10)))).count(True) == 1


async def test_two_clicks_taking_over_a_requested_event_by_its_owner_have_one_winner(
    store: Store,
) -> None:
    """'Issue for day one' takes over a reminder whose request ended without a pass by the
    request id it names (the event's owner): of two takers, one wins."""
    assert await _claim(store, "a")
    await store.move_joiner(
        EMMA,
        DAY,
        expected=[CLAIMED],
        new_state=JoinerState.REQUESTED,
        at=T0,
        changes={"owner": "request-1"},
    )

    async def take(new_owner: str) -> bool:
        try:
            await store.move_joiner(
                EMMA,
                DAY,
                expected=[JoinerState.REQUESTED],
                owner="request-1",
                new_state=JoinerState.REQUESTED,
                at=T0,
                changes={"owner": new_owner},
            )
        except StoreConflict:
            return False
        return True

    won = await asyncio.gather(*(take(f"request-{n}") for n in range(2, 8)))

    assert won.count(True) == 1
    event = await store.get_joiner(EMMA, DAY)
    assert event is not None
    assert event.owner == f"request-{won.index(True) + 2}"


async def test_unknown_fields_and_datetimes_as_days_are_refused(store: Store) -> None:
    assert await _claim(store, "a")

    with pytest.raises(ValueError, match="cannot be changed"):
        await store.move_joiner(
            EMMA, DAY, expected=[CLAIMED], new_state=SENDING, at=T0, changes={"state": "x"}
        )
    with pytest.raises(ValueError, match="not a datetime"):
        await store.get_joiner(EMMA, T0)
    with pytest.raises(ValueError, match="timezone-aware"):
        await store.claim_joiner(EMMA, DAY, "a", now=T0.replace(tzinfo=None), lease_until=LEASE)


async def test_an_absent_event_reads_as_none(store: Store) -> None:
    assert await store.get_joiner(EMMA, DAY) is None


# Daily sweeps


async def test_a_day_is_swept_by_one_instance(store: Store) -> None:
    assert await store.claim_sweep(DAY, "a", now=T0, lease_until=LEASE)
    assert not await store.claim_sweep(DAY, "b", now=T0 + minutes(5), lease_until=LEASE)
    assert await store.claim_sweep(DAY + timedelta(days=1), "b", now=T0, lease_until=LEASE)

    run = await store.get_sweep(DAY)
    assert run is not None
    assert (run.state, run.owner, run.lease_until, run.started_at) == (
        SweepState.RUNNING,
        "a",
        LEASE,
        T0,
    )


async def test_a_sweep_whose_instance_died_is_taken_over_after_its_lease(store: Store) -> None:
    assert await store.claim_sweep(DAY, "a", now=T0, lease_until=LEASE)

    assert await store.claim_sweep(DAY, "b", now=LEASE, lease_until=LEASE + minutes(10))
    assert not await store.finish_sweep(DAY, "a", state=SweepState.DONE, at=LEASE)


async def test_a_renewed_lease_keeps_others_out(store: Store) -> None:
    assert await store.claim_sweep(DAY, "a", now=T0, lease_until=LEASE)
    assert await store.renew_sweep(DAY, "a", lease_until=LEASE + minutes(10))
    assert not await store.renew_sweep(DAY, "b", lease_until=LEASE + minutes(10))

    assert not await store.claim_sweep(DAY, "b", now=LEASE, lease_until=LEASE + minutes(20))


async def test_a_done_sweep_is_never_run_again(store: Store) -> None:
    assert await store.claim_sweep(DAY, "a", now=T0, lease_until=LEASE)
    assert await store.finish_sweep(
        DAY, "a", state=SweepState.DONE, at=T0 + minutes(1), summary={"reminded": 2}
    )

    assert not await store.claim_sweep(DAY, "b", now=T0 + timedelta(days=2), lease_until=LEASE)
    run = await store.get_sweep(DAY)
    assert run is not None
    assert (run.state, run.finished_at, run.summary) == (
        SweepState.DONE,
        T0 + minutes(1),
        {"reminded": 2},
    )


async def test_a_failed_sweep_is_retried_from_its_retry_time(store: Store) -> None:
    assert await store.claim_sweep(DAY, "a", now=T0, lease_until=LEASE)
    retry_at = T0 + minutes(15)
    assert await store.finish_sweep(
        DAY, "a", state=SweepState.FAILED, at=T0 + minutes(1), retry_at=retry_at
    )

    assert not await store.claim_sweep(DAY, "b", now=retry_at - minutes(1), lease_until=LEASE)
    assert await store.claim_sweep(DAY, "b", now=retry_at, lease_until=retry_at + minutes(10))


async def test_concurrent_sweep_claims_have_one_winner(store: Store) -> None:
    claims = [store.claim_sweep(DAY, f"i-{n}", now=T0, lease_until=LEASE) for n in range(20)]

    assert (await asyncio.gather(*claims)).count(True) == 1


async def test_a_sweep_cannot_finish_running(store: Store) -> None:
    assert await store.claim_sweep(DAY, "a", now=T0, lease_until=LEASE)
    with pytest.raises(ValueError, match="done or failed"):
        await store.finish_sweep(DAY, "a", state=SweepState.RUNNING, at=T0)


# Conversations by prefix


async def test_conversations_are_found_by_exact_prefix_newest_first(store: Store) -> None:
    for key, at in (
        ("channel:19:old", T0),
        ("channel:19:new", T0 + minutes(5)),
        ("user:someone", T0 + minutes(9)),
        ("CHANNEL:19:shouting", T0 + minutes(9)),
        ("channel_x:not-a-channel", T0 + minutes(9)),
    ):
        await store.save_conversation(
            ConversationRecord(key=key, tenant_id="t", reference={"k": key}, updated_at=at)
        )

    found = await store.list_conversations("channel:")

    assert [r.key for r in found] == ["channel:19:new", "channel:19:old"]
    assert found[0].reference == {"k": "channel:19:new"}
    assert [r.key for r in await store.list_conversations("channel:", limit=1)] == [
        "channel:19:new"
    ]
    assert await store.list_conversations("team:") == []
