"""The `Store` contract, run against every backend: memory, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.errors import StoreConflict
from bot.domain.model import (
    AuditEvent,
    ConversationRecord,
    DeliveryMethod,
    RequestState,
    ScheduledEdit,
    TapRequest,
)
from bot.domain.ports import Store
from tests.integration.store.support import T0, minutes, request

PENDING = RequestState.PENDING_APPROVAL
APPROVED = RequestState.APPROVED
PARIS_SUMMER = timezone(timedelta(hours=2))


async def test_ping_answers(store: Store) -> None:
    await store.ping()


# Requests


async def test_added_request_reads_back_equal(store: Store) -> None:
    full = request(
        start_at=datetime(2025, 6, 16, 0, 0, tzinfo=PARIS_SUMMER),
        pass_id="pass-1",
        pass_ends_at=T0 + minutes(480),
        reason="manager changed",
        card_ref="activity-7",
        stage=2,
        version=5,
        replace_existing=True,
        delivery=DeliveryMethod.SMS,
    )
    await store.add_request(full)

    got = await store.get_request("r1")

    assert got == full
    assert got is not None
    assert got.start_at is not None
    assert got.start_at.tzinfo is UTC
    assert got.start_at == datetime(2025, 6, 15, 22, 0, tzinfo=UTC)
    assert isinstance(got.delivery, DeliveryMethod)
    assert isinstance(got.state, RequestState)


async def test_unknown_request_is_none(store: Store) -> None:
    assert await store.get_request("nope") is None


async def test_duplicate_request_id_conflicts_and_keeps_the_first(store: Store) -> None:
    await store.add_request(request())

    with pytest.raises(StoreConflict):
        await store.add_request(request(justification="second"))

    got = await store.get_request("r1")
    assert got is not None
    assert got.justification == "first day"


async def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await store.add_request(request(created_at=datetime(2025, 6, 9, 8, 0)))  # noqa: DTZ001
    assert await store.get_request("r1") is None


@pytest.mark.parametrize("bad", ["a\x00b", "\ud800"], ids=["nul", "lone-surrogate"])
async def test_text_no_engine_can_keep_is_refused(store: Store, bad: str) -> None:
    with pytest.raises(ValueError, match=r"NUL|surrogate"):
        await store.add_request(request(justification=bad))
    with pytest.raises(ValueError, match=r"NUL|surrogate"):
        await store.append_audit(AuditEvent(at=T0, action="x", outcome="ok", actor_id=bad))


async def test_transition_moves_state_bumps_version_and_applies_changes(store: Store) -> None:
    await store.add_request(request())
    at = T0 + minutes(5)

    moved = await store.transition(
        "r1",
        expected=[PENDING],
        new_state=RequestState.ISSUING,
        at=at,
        changes={"pass_id": "pass-9", "pass_ends_at": at + minutes(480), "stage": 1},
    )

    assert moved == dataclasses.replace(
        request(),
        state=RequestState.ISSUING,
        updated_at=at,
        version=2,
        pass_id="pass-9",
        pass_ends_at=at + minutes(480),
        stage=1,
    )
    assert await store.get_request("r1") == moved


async def test_each_transition_bumps_the_version(store: Store) -> None:
    await store.add_request(request())
    await store.transition("r1", expected=[PENDING], new_state=APPROVED, at=T0)
    last = await store.transition(
        "r1", expected=[PENDING, APPROVED], new_state=RequestState.ISSUING, at=T0
    )
    assert last.version == 3


async def test_transition_from_another_state_conflicts_and_changes_nothing(store: Store) -> None:
    await store.add_request(request(state=RequestState.DELIVERED))

    with pytest.raises(StoreConflict, match="delivered"):
        await store.transition(
            "r1", expected=[PENDING], new_state=APPROVED, at=T0, changes={"reason": "late"}
        )

    assert await store.get_request("r1") == request(state=RequestState.DELIVERED)


async def test_transition_of_unknown_request_conflicts(store: Store) -> None:
    with pytest.raises(StoreConflict, match="does not exist"):
        await store.transition("nope", expected=[PENDING], new_state=APPROVED, at=T0)


@pytest.mark.parametrize("field", ["state", "version", "id", "created_at", "updated_at", "colour"])
async def test_transition_refuses_read_only_and_unknown_fields(store: Store, field: str) -> None:
    await store.add_request(request())
    with pytest.raises(ValueError, match=field):
        await store.transition(
            "r1", expected=[PENDING], new_state=APPROVED, at=T0, changes={field: "x"}
        )
    assert await store.get_request("r1") == request()


async def test_exactly_one_of_twenty_concurrent_transitions_wins(store: Store) -> None:
    await store.add_request(request())

    results = await asyncio.gather(
        *(
            store.transition(
                "r1", expected=[PENDING], new_state=APPROVED, at=T0, changes={"reason": f"c{i}"}
            )
            for i in range(20)
        ),
        return_exceptions=True,
    )

    winners = [r for r in results if isinstance(r, TapRequest)]
    assert len(winners) == 1
    assert all(isinstance(r, StoreConflict) for r in results if r not in winners)
    assert await store.get_request("r1") == winners[0]
    assert winners[0].version == 2


async def test_update_request_changes_fields_but_not_state_or_version(store: Store) -> None:
    await store.add_request(request())

    changed = await store.update_request("r1", changes={"card_ref": "activity-1"})

    assert changed == request(card_ref="activity-1")
    assert await store.get_request("r1") == changed
    assert await store.update_request("r1", changes={}) == changed


async def test_update_of_unknown_request_conflicts(store: Store) -> None:
    with pytest.raises(StoreConflict):
        await store.update_request("nope", changes={"card_ref": "x"})


async def _five_requests(store: Store) -> None:
    for i, (requester, target, state) in enumerate(
        [
            ("m1", "t1", PENDING),
            ("m1", "t2", RequestState.DELIVERED),
            ("m2", "t1", RequestState.DENIED),
            ("m1", "t1", RequestState.DELIVERED),
            ("m2", "t3", PENDING),
        ]
    ):
        at = T0 + minutes(10 * i)
        await store.add_request(
            request(
                f"r{i}",
                requester_id=requester,
                target_id=target,
                state=state,
                created_at=at,
                updated_at=at,
            )
        )


async def _ids(store: Store, **filters: object) -> list[str]:
    return [r.id for r in await store.list_requests(**filters)]  # type: ignore[arg-type]


async def test_list_requests_filters_newest_first(store: Store) -> None:
    await _five_requests(store)

    assert await _ids(store) == ["r4", "r3", "r2", "r1", "r0"]
    assert await _ids(store, requester_id="m1") == ["r3", "r1", "r0"]
    assert await _ids(store, target_id="t1") == ["r3", "r2", "r0"]
    assert await _ids(store, requester_id="m1", target_id="t1") == ["r3", "r0"]
    assert await _ids(store, states=[PENDING]) == ["r4", "r0"]
    assert await _ids(store, states=[RequestState.DELIVERED, RequestState.DENIED]) == [
        "r3",
        "r2",
        "r1",
    ]
    assert await _ids(store, states=[]) == []
    assert await _ids(store, created_since=T0 + minutes(20)) == ["r4", "r3", "r2"]
    assert await _ids(store, limit=2) == ["r4", "r3"]
    assert await _ids(store, limit=0) == []


async def test_negative_limit_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="limit"):
        await store.list_requests(limit=-1)


async def test_count_requests_counts_a_window_including_its_start(store: Store) -> None:
    await _five_requests(store)

    assert await store.count_requests(created_since=T0) == 5
    assert await store.count_requests(created_since=T0 + minutes(30)) == 2
    assert await store.count_requests(created_since=T0 + minutes(31)) == 1
    assert await store.count_requests(created_since=T0 + minutes(41)) == 0
    assert await store.count_requests(requester_id="m1", created_since=T0 + minutes(5)) == 2
    assert await store.count_requests(target_id="t1", created_since=T0) == 3
    assert await store.count_requests(requester_id="m2", target_id="t3", created_since=T0) == 1


# Audit


def _event(at: datetime, action: str = "request.created", **fields: object) -> AuditEvent:
    return AuditEvent(at=at, action=action, outcome="ok", actor_id="manager-1", **fields)  # type: ignore[arg-type]


async def test_append_audit_returns_the_event_with_a_new_id(store: Store) -> None:
    event = _event(
        T0.astimezone(PARIS_SUMMER),
        target_id="joiner-1",
        request_id="r1",
        reason="direct report",
        detail={"lifetime": "480", "delivery": "sms"},
    )

    first = await store.append_audit(event)
    second = await store.append_audit(_event(T0))

    assert first == dataclasses.replace(event, at=T0, id=first.id)
    assert first.at.tzinfo is UTC
    assert first.id is not None
    assert second.id is not None
    assert second.id > first.id
    assert (await store.list_audit())[1] == first


async def test_list_audit_is_newest_first_within_since_until(store: Store) -> None:
    for i in range(5):
        await store.append_audit(_event(T0 + minutes(i), action=f"a{i}"))
    await store.append_audit(_event(T0 + minutes(4), action="a4-again"))

    async def actions(**window: object) -> list[str]:
        return [e.action for e in await store.list_audit(**window)]  # type: ignore[arg-type]

    assert await actions() == ["a4-again", "a4", "a3", "a2", "a1", "a0"]
    assert await actions(since=T0 + minutes(1), until=T0 + minutes(3)) == ["a2", "a1"]
    assert await actions(since=T0 + minutes(4)) == ["a4-again", "a4"]
    assert await actions(until=T0 + minutes(1)) == ["a0"]
    assert await actions(limit=2) == ["a4-again", "a4"]


async def test_audit_detail_must_be_text(store: Store) -> None:
    with pytest.raises(ValueError, match="detail"):
        await store.append_audit(_event(T0, detail={"lifetime": 480}))


# Conversation references


async def test_save_conversation_inserts_then_replaces(store: Store) -> None:
    reference = {"conversation": {"id": "a:1"}, "serviceUrl": "https://smba.example/", "n": [1]}
    await store.save_conversation(ConversationRecord("user:1", "tenant-1", reference, T0))
    first = await store.get_conversation("user:1")
    later = ConversationRecord(
        "user:1", "tenant-2", {"conversation": {"id": "a:2"}}, T0 + minutes(1)
    )
    await store.save_conversation(later)

    assert first == ConversationRecord("user:1", "tenant-1", reference, T0)
    assert await store.get_conversation("user:1") == later
    assert await store.get_conversation("user:2") is None


async def test_saved_reference_is_a_copy(store: Store) -> None:
    reference: dict[str, object] = {"id": "a:1"}
    await store.save_conversation(ConversationRecord("user:1", "t", reference, T0))
    reference["id"] = "changed"

    got = await store.get_conversation("user:1")

    assert got is not None
    assert got.reference == {"id": "a:1"}


# Job claims


async def test_claim_is_granted_once_per_job_and_run(store: Store) -> None:
    assert await store.claim("joiners", "2025-06-09", "instance-a", T0) is True
    assert await store.claim("joiners", "2025-06-09", "instance-b", T0) is False
    assert await store.claim("joiners", "2025-06-09", "instance-a", T0) is False
    assert await store.claim("joiners", "2025-06-10", "instance-b", T0) is True
    assert await store.claim("redact", "2025-06-09", "instance-b", T0) is True


async def test_exactly_one_of_twenty_concurrent_claims_wins(store: Store) -> None:
    results = await asyncio.gather(
        *(store.claim("joiners", "2025-06-09", f"instance-{i}", T0) for i in range(20))
    )
    assert results.count(True) == 1


# Scheduled edits


def _edit(edit_id: str, due_at: datetime, **fields: object) -> ScheduledEdit:
    return ScheduledEdit(edit_id, due_at, "user:1", f"activity-{edit_id}", "redact", **fields)  # type: ignore[arg-type]


async def test_due_edits_are_the_undone_ones_due_by_now_oldest_first(store: Store) -> None:
    await store.schedule_edit(_edit("late", T0 + minutes(30)))
    await store.schedule_edit(_edit("b", T0 + minutes(10), payload={"request_id": "r1", "n": 1}))
    await store.schedule_edit(_edit("a", T0 + minutes(20)))
    await store.schedule_edit(_edit("done", T0, done=True))

    due = await store.due_edits(T0 + minutes(20))

    assert [e.id for e in due] == ["b", "a"]
    assert due[0] == _edit("b", T0 + minutes(10), payload={"request_id": "r1", "n": 1})
    assert [e.id for e in await store.due_edits(T0 + minutes(30), limit=1)] == ["b"]
    assert await store.due_edits(T0 + minutes(5)) == []


async def test_mark_edit_done_is_compare_and_set(store: Store) -> None:
    await store.schedule_edit(_edit("a", T0))

    assert await store.mark_edit_done("a") is True
    assert await store.mark_edit_done("a") is False
    assert await store.mark_edit_done("unknown") is False
    assert await store.due_edits(T0 + minutes(1)) == []


async def test_exactly_one_of_ten_concurrent_marks_wins(store: Store) -> None:
    await store.schedule_edit(_edit("a", T0))
    results = await asyncio.gather(*(store.mark_edit_done("a") for _ in range(10)))
    assert results.count(True) == 1


async def test_duplicate_edit_id_conflicts(store: Store) -> None:
    await store.schedule_edit(_edit("a", T0))
    with pytest.raises(StoreConflict):
        await store.schedule_edit(_edit("a", T0 + minutes(1)))
    assert [e.due_at for e in await store.due_edits(T0 + minutes(5))] == [T0]


# Times


offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda m: timezone(timedelta(minutes=m))
)
instants = st.datetimes(
    min_value=datetime(1970, 1, 2),  # noqa: DTZ001  (hypothesis bounds are naive by design)
    max_value=datetime(2200, 1, 1),  # noqa: DTZ001
    timezones=offsets,
)


_keys = itertools.count()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    created=instants,
    start=st.none() | instants,
    name=st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"])),
)
async def test_times_and_text_round_trip_as_aware_utc(
    store: Store, created: datetime, start: datetime | None, name: str
) -> None:
    key = f"h{next(_keys)}"
    written = request(key, created_at=created, updated_at=created, start_at=start, target_name=name)
    await store.add_request(written)

    got = await store.get_request(key)

    assert got == written
    assert got is not None
    assert got.created_at.tzinfo is UTC
    assert got.start_at is None or got.start_at.tzinfo is UTC


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(reference=st.dictionaries(st.text(), json_values, max_size=4))
async def test_any_json_reference_round_trips(store: Store, reference: dict[str, object]) -> None:
    await store.save_conversation(ConversationRecord("user:1", "t", reference, T0))
    got = await store.get_conversation("user:1")
    assert got is not None
    assert got.reference == reference


async def test_only_one_request_per_target_may_be_approved_or_issuing(store: Store) -> None:
    await store.add_request(request("r1", state=APPROVED))
    with pytest.raises(StoreConflict):
        await store.add_request(request("r2", state=APPROVED))
    await store.add_request(request("r3"))  # pending is not in flight
    await store.add_request(request("r4", state=APPROVED, target_id="someone-else"))
    with pytest.raises(StoreConflict):
        await store.transition("r3", expected=[PENDING], new_state=APPROVED, at=T0)
    assert (await store.get_request("r3")).state is PENDING  # type: ignore[union-attr]
    assert await store.get_request("r2") is None

    await store.transition("r1", expected=[APPROVED], new_state=RequestState.ISSUING, at=T0)
    with pytest.raises(StoreConflict):
        await store.transition("r3", expected=[PENDING], new_state=APPROVED, at=T0)
    await store.transition(
        "r1", expected=[RequestState.ISSUING], new_state=RequestState.DELIVERED, at=T0
    )
    await store.transition("r3", expected=[PENDING], new_state=APPROVED, at=T0)


async def test_of_two_concurrent_approvals_for_one_target_exactly_one_wins(store: Store) -> None:
    for name in ("r1", "r2", "r3"):
        await store.add_request(request(name))
    results = await asyncio.gather(
        *(
            store.transition(name, expected=[PENDING], new_state=APPROVED, at=T0)
            for name in ("r1", "r2", "r3")
        ),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(isinstance(r, StoreConflict) for r in results if isinstance(r, Exception))
